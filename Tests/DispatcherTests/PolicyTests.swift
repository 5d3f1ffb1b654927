import AuditLog
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import Policy
import TestSupport
import Testing

@testable import Dispatcher

@Suite struct PolicyTests {
    @Test func widerLowerScopesAreRefusedAndChangesAreAudited() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let orgAdmin = APIClient(
            token: try await fixture.issuer.token(tenant: fixture.tenant, user: "olga", roles: ["org_admin"], org: "eng"))
        let user = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let widen = try await orgAdmin.call(
                client, .put, "/v1/policies/org/eng/actions",
                #"{"content":{"jira.comment":{"autonomy":"autonomous"}},"change_reason":"speed"}"#)
            #expect(widen.status == 422)
            #expect((widen.json["detail"] as? String)?.contains("more permissive than approve") == true)
            let noReason = try await orgAdmin.call(
                client, .put, "/v1/policies/org/eng/actions", #"{"content":{"noop.run":{"autonomy":"notify"}}}"#)
            #expect(noReason.status == 400)
            let otherOrg = try await orgAdmin.call(
                client, .put, "/v1/policies/org/sales/actions", #"{"content":{"noop.run":{"autonomy":"block"}},"change_reason":"x"}"#)
            #expect(otherOrg.status == 403)
            #expect(
                try await user.call(client, .put, "/v1/policies/enterprise/*/actions", #"{"content":{},"change_reason":"x"}"#).status == 403
            )
            let restrict = try await orgAdmin.call(
                client, .put, "/v1/policies/org/eng/actions",
                #"{"content":{"noop.run":{"autonomy":"notify"}},"change_reason":"tell people"}"#)
            #expect(restrict.status == 200, "\(restrict.json)")
            let job = try await user.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
            #expect(job.json["disclosure_required"] as? Bool == true, "\(job.json)")
            let changes = try await gateway.auditStore.query(
                tenant: fixture.tenant, filter: .init(actionType: AuditEvent.ActionType.policyChange))
            #expect(changes.records.count == 1)
            #expect(changes.records.first?.event.policyReason == "tell people")
        }
    }

    /// Decisions are cached for a role, org and team, but a user with a policy of their own
    /// never gets a peer's cached decision, nor a peer theirs.
    @Test func aUserWithAPolicyOfTheirOwnIsNeverAnsweredFromAPeersDecision() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        func client(_ user: String) async throws -> APIClient {
            APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: user))
        }
        let (alice, bob, carol) = (try await client("alice"), try await client("bob"), try await client("carol"))
        try await app.test(.router) { client in
            let own = try await bob.call(
                client, .put, "/v1/policies/user/bob/actions", #"{"content":{"noop.run":{"autonomy":"block"}},"change_reason":"not me"}"#)
            #expect(own.status == 200, "\(own.json)")
            for (user, status) in [(alice, 202), (bob, 403), (carol, 202), (bob, 403), (alice, 202)] {
                let job = try await user.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
                #expect(job.status == status, "\(job.json)")
            }
        }
    }

    @Test func aTeamIsNamedWithinItsOrg() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let issuer = fixture.issuer
        let engLead = APIClient(
            token: try await issuer.token(tenant: fixture.tenant, user: "lena", roles: ["team_lead"], org: "eng", team: "core"))
        let salesLead = APIClient(
            token: try await issuer.token(tenant: fixture.tenant, user: "sam", roles: ["team_lead"], org: "sales", team: "core"))
        let salesOrgAdmin = APIClient(
            token: try await issuer.token(tenant: fixture.tenant, user: "sue", roles: ["org_admin"], org: "sales"))
        let boss = APIClient(token: try await issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        let engUser = APIClient(token: try await issuer.token(tenant: fixture.tenant, user: "alice", org: "eng", team: "core"))
        let salesUser = APIClient(token: try await issuer.token(tenant: fixture.tenant, user: "bob", org: "sales", team: "core"))
        let block = #"{"content":{"noop.run":{"autonomy":"block"}},"change_reason":"freeze"}"#
        try await app.test(.router) { client in
            #expect(try await salesLead.call(client, .put, "/v1/policies/team/eng:core/actions", block).status == 403)
            #expect(try await salesOrgAdmin.call(client, .put, "/v1/policies/team/eng:core/actions", block).status == 403)
            #expect(try await boss.call(client, .put, "/v1/policies/team/core/actions", block).status == 400)
            let saved = try await engLead.call(client, .put, "/v1/policies/team/eng:core/actions", block)
            #expect(saved.status == 200, "\(saved.json)")
            // Only eng's core team is blocked.
            #expect(try await engUser.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status == 403)
            #expect(try await salesUser.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status == 202)
            #expect(try await salesOrgAdmin.call(client, .put, "/v1/policies/team/sales:core/actions", block).status == 200)
            #expect(try await salesUser.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status == 403)
        }
    }

    @Test func aPolicyChangeIsEnforcedOnTwoRunningDispatchersWithinAMinute() async throws {
        let fixture = try await GatewayFixture.make()
        let engineA = try await PrivatePolicyEngine()
        let engineB = try await PrivatePolicyEngine()
        let (appA, gatewayA) = try fixture.application(opaURL: engineA.url)
        let (appB, gatewayB) = try fixture.application(opaURL: engineB.url)
        try await fixture.provisionPolicies(gatewayA)
        let boss = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await appA.test(.live) { (clientA: any TestClientProtocol) async throws -> Void in
            try await appB.test(.live) { (clientB: any TestClientProtocol) async throws -> Void in
                // B (its own engine, its own cache) allows until the change reaches it.
                let allowed = await eventually {
                    (try? await alice.call(clientB, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status) == 202
                }
                #expect(allowed)
                let changed = ContinuousClock.now
                var blocked = GatewayFixture.enterpriseActions.objectValue!
                blocked["noop.run"] = .object(["autonomy": .string("block")])
                let body = String(
                    decoding: JSONValue.object(["content": .object(blocked), "change_reason": .string("incident 42")]).canonicalData,
                    as: UTF8.self)
                #expect(try await boss.call(clientA, .put, "/v1/policies/enterprise/*/actions", body).status == 200)
                #expect(try await alice.call(clientA, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status == 403)
                let enforced = await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
                    (try? await alice.call(clientB, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status) == 403
                }
                #expect(enforced)
                #expect(ContinuousClock.now - changed < .seconds(60))
            }
        }
        _ = gatewayB
    }

    @Test func aStoppedPolicyEngineMeansNothingIsEnqueued() async throws {
        let fixture = try await GatewayFixture.make()
        let engine = try await PrivatePolicyEngine()
        let (app, gateway) = try fixture.application(opaURL: engine.url)
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.live) { client in
            #expect(try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status == 202)
            let before = try await fixture.queued(gateway)
            engine.stop()
            // Cached decisions are served only within a second of the engine's last answer.
            try await Task.sleep(for: .milliseconds(1500))
            let identity = Identity(tenant: fixture.tenant, user: "alice", org: "eng", team: "core", roles: [.user])
            let direct = await gateway.decider.decide(identity, action: .noopRun, classification: .internal)
            #expect(gateway.policyEngine.location == engine.url)
            #expect(await HTTPProbe.answers(engine.url + "/health", timeout: .seconds(2)) == false, "the stopped engine still answers")
            #expect(direct.decision == nil, "\(direct)")
            let healthy = await gateway.policyEngine.isHealthy()
            #expect(!healthy)
            for _ in 0..<5 {
                let answer = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
                #expect(answer.status == 503)
                #expect(answer.json["type"] as? String == "https://openclaw.dev/problems/policy-unavailable")
            }
            #expect(try await fixture.queued(gateway) == before)
            let ready = try await client.execute(uri: "/readyz", method: .get) { Int($0.status.code) }
            #expect(ready == 503)
        }
        let denied = try await AuditStore(database: try TestDatabase.app()).query(tenant: fixture.tenant, filter: .init(outcome: .denied))
        #expect(denied.records.count == 5)
        #expect(denied.records.allSatisfy { $0.event.policyApplied == "engine-unavailable" })
    }

    /// The engine in process (`opa_url: embedded`): loaded by the same sync, deciding the same;
    /// without its library the gateway is not ready and takes nothing.
    @Test func theEngineInProcessDecidesForTheGatewayAndWithoutItsLibraryNothingIsEnqueued() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application(opaURL: PolicyEngineClient.embeddedEngine) {
            $0.fleet.policy.library = TestEnvironment.opaLibrary
        }
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.live) { client in
            #expect(gateway.policyEngine.location.hasPrefix("embedded"))
            #expect(try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status == 202)
            let approval = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"jira.comment"}"#)
            #expect(approval.status == 202 && approval.json["approval_id"] != nil, "\(approval.json)")
            #expect(try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"gmail.send"}"#).status == 403)
            let ready = await eventually {
                (try? await client.execute(uri: "/readyz", method: .get) { Int($0.status.code) }) == 200
            }
            #expect(ready)
            #expect(try await fixture.queued(gateway) == 1)
        }

        let other = try await GatewayFixture.make()
        let (broken, brokenGateway) = try other.application(opaURL: PolicyEngineClient.embeddedEngine) {
            $0.fleet.policy.library = "/nonexistent/libopabridge.so"
        }
        let bob = APIClient(token: try await other.issuer.token(tenant: other.tenant, user: "bob"))
        try await broken.test(.live) { client in
            let refused = try await bob.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
            #expect(refused.status == 503)
            #expect(refused.json["type"] as? String == "https://openclaw.dev/problems/policy-unavailable")
            let ready = try await client.execute(uri: "/readyz", method: .get) { Int($0.status.code) }
            #expect(ready == 503)
            #expect(try await other.queued(brokenGateway) == 0)
        }
    }

    @Test func aRestartedPolicyEngineIsLoadedAgain() async throws {
        let fixture = try await GatewayFixture.make()
        let engine = try await PrivatePolicyEngine()
        let (app, gateway) = try fixture.application(opaURL: engine.url, cache: false)
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.live) { client in
            #expect(try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status == 202)
            // A restarted engine answers its health check but holds no policies.
            engine.stop()
            try await engine.start()
            #expect(await HTTPProbe.answers(engine.url + "/health"))
            let reloaded = await eventually(every: .milliseconds(100)) {
                (try? await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status) == 202
            }
            #expect(reloaded, "the Dispatcher never loaded the policies into the restarted engine")
            let ready = try await client.execute(uri: "/readyz", method: .get) { Int($0.status.code) }
            #expect(ready == 200)
        }
        engine.stop()
    }
}
