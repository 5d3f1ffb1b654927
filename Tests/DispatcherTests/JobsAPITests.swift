import Admission
import AuditLog
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import JobQueue
import TestSupport
import Testing

@testable import Dispatcher

struct APIClient {
    let token: String

    func call(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
        headers extra: HTTPFields = [:]
    )
        async throws -> (status: Int, json: [String: Any], headers: HTTPFields)
    {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        headers.append(contentsOf: extra)
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
            return (Int(response.status.code), object, response.headers)
        }
    }
}

@Suite struct JobsAPITests {
    @Test func allowRequireApprovalAndDenyAreAnsweredAndAudited() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let allowed = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run","payload":{"record":true}}"#)
            #expect(allowed.status == 202)
            #expect(allowed.json["status"] as? String == "queued")
            let id = try #require(allowed.json["id"] as? String)
            #expect(allowed.headers[.location] == "/v1/jobs/\(id)")
            let read = try await alice.call(client, .get, "/v1/jobs/\(id)")
            #expect(read.status == 200)
            #expect(read.json["status"] as? String == "queued")

            let parked = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"jira.comment"}"#)
            #expect(parked.status == 202)
            #expect(parked.json["status"] as? String == "awaiting_approval")

            let denied = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"gmail.send"}"#)
            #expect(denied.status == 403)
            #expect(denied.json["type"] as? String == "https://openclaw.dev/problems/policy-denied")
            #expect(denied.json["policy"] as? String == "enterprise/integrations")
            #expect(denied.headers[.contentType] == "application/problem+json")

            let cancelled = try await alice.call(client, .delete, "/v1/jobs/\(id)")
            #expect(cancelled.status == 200)
            let again = try await alice.call(client, .delete, "/v1/jobs/\(id)")
            #expect(again.status == 409, "\(again.json)")
            #expect(try await fixture.queued(gateway) == 1)
            let decisions = try await gateway.auditStore.query(
                tenant: fixture.tenant, filter: .init(actionType: AuditEvent.ActionType.policyDecision))
            #expect(decisions.records.map(\.event.outcome).sorted { $0.rawValue < $1.rawValue } == [.denied, .pendingApproval, .success])
        }
    }

    @Test func idempotencyKeyReturnsTheFirstJob() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let first = try await alice.call(
                client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#, headers: [.init("Idempotency-Key")!: "order-7"])
            let second = try await alice.call(
                client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#, headers: [.init("Idempotency-Key")!: "order-7"])
            #expect(first.status == 202 && second.status == 202, "\(first.json) \(second.json)")
            #expect(first.json["id"] as? String == second.json["id"] as? String)
            #expect(second.json["duplicate"] as? Bool == true)
            #expect(try await fixture.queued(gateway) == 1)
            // The same key from another user is another key: bob's job is his own.
            let bob = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "bob"))
            let bobs = try await bob.call(
                client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#, headers: [.init("Idempotency-Key")!: "order-7"])
            #expect(bobs.status == 202 && bobs.json["duplicate"] as? Bool == false, "\(bobs.json)")
            #expect(bobs.json["id"] as? String != first.json["id"] as? String)
            #expect(try await fixture.queued(gateway) == 2)
        }
    }

    /// A waiting job's status says when no worker serves its kind: not while one heartbeats,
    /// again as soon as it stops (in a Redis database no other test uses).
    @Test func aWaitingJobSaysWhetherAnyWorkerServesItsKind() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let consumer = JobConsumer(queue: gateway.queue, kind: .noop, name: "notice-test", tenants: [TestEnvironment.tenant("other")])
        try await app.test(.router) { client in
            let id = try #require(
                try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).json["id"] as? String)
            let waiting = try await alice.call(client, .get, "/v1/jobs/\(id)")
            #expect((waiting.json["notice"] as? String)?.contains("no worker serves 'noop' jobs") == true, "\(waiting.json)")
            try await consumer.heartbeat()
            #expect(try await alice.call(client, .get, "/v1/jobs/\(id)").json["notice"] == nil)
            try await consumer.resign()
            #expect((try await alice.call(client, .get, "/v1/jobs/\(id)").json["notice"] as? String)?.contains("no worker serves") == true)
        }
    }

    @Test func aJobIsSeenAndCancelledByItsRequesterAndTheTenantsAdmins() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let bob = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "bob", roles: ["team_lead"]))
        let boss = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        try await app.test(.router) { client in
            let later =
                #"{"kind":"noop","action":"noop.run","run_at":"\#(ISOTime.format(milliseconds: Clock.milliseconds() + 86_400_000))"}"#
            let id = try #require(try await alice.call(client, .post, "/v1/jobs", later).json["id"] as? String)
            #expect(try await bob.call(client, .get, "/v1/jobs/\(id)").status == 404)
            #expect(try await bob.call(client, .delete, "/v1/jobs/\(id)").status == 404)
            #expect(try await alice.call(client, .get, "/v1/jobs/\(id)").status == 200)
            #expect(try await boss.call(client, .get, "/v1/jobs/\(id)").json["status"] as? String == "queued")
            #expect(try await boss.call(client, .delete, "/v1/jobs/\(id)").status == 200)
            #expect(try await alice.call(client, .get, "/v1/jobs/\(id)").json["status"] as? String == "cancelled")
        }
    }

    @Test(arguments: [
        ("{not json", 400), ("[1,2]", 400), (#"{"kind":"noop"}"#, 400), (#"{"kind":"teleport","action":"noop.run"}"#, 400),
        (#"{"kind":"noop","action":"noop.run","surprise":1}"#, 400),
        (#"{"kind":"noop","action":"noop.run","payload":{"sleep_ms":"soon"}}"#, 400),
        (#"{"kind":"noop","action":"noop.run","payload":{"sleep_ms":true}}"#, 400),
        (#"{"kind":"noop","action":"noop.run","payload":[1]}"#, 400),
        (#"{"kind":"noop","action":"Not An Action"}"#, 400), (#"{"kind":"noop","action":"noop.run","classification":"secret"}"#, 400),
        (#"{"kind":"noop","action":"noop.run","run_at":"tomorrow"}"#, 400),
        (#"{"kind":"connector-sync","action":"gmail.read","payload":{}}"#, 400),
        (#"{"kind":"connector-sync","action":"gmail.read","payload":{"connector":"myspace"}}"#, 400),
        (#"{"kind":"connector-sync","action":"gmail.read","payload":{"connector":"jira"}}"#, 400),
        (#"{"kind":"connector-sync","action":"gmail.send","payload":{"connector":"gmail"}}"#, 400),
        (#"{"kind":"auto-responder","action":"gmail.read","payload":{"channel":"gmail","message_id":"m1","draft":"Thanks"}}"#, 400),
        (#"{"kind":"auto-responder","action":"autorespond.send","payload":{"channel":"gmail","message_id":"m1"}}"#, 400),
        ("{\"kind\":\"noop\",\"action\":\"noop.run\",\"payload\":{\"x\":\"" + String(repeating: "a", count: 70_000) + "\"}}", 413),
    ])
    func badInputGetsA4xxAndChangesNothing(body: String, expected: Int) async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let answer = try await alice.call(client, .post, "/v1/jobs", body)
            #expect(answer.status == expected, "\(answer.json)")
            #expect((answer.json["type"] as? String)?.hasPrefix("https://openclaw.dev/problems/") == true)
            #expect(answer.headers[.contentType] == "application/problem+json")
            #expect(try await fixture.queued(gateway) == 0)
        }
    }

    @Test func anotherTenantsObjectsAnswer404AndStayUntouched() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let intruderTenant = TestEnvironment.tenant("intruder")
        try await TenantDirectory(database: fixture.admin).create(intruderTenant)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let mallory = APIClient(token: try await fixture.issuer.token(tenant: intruderTenant, user: "mallory", roles: ["enterprise_admin"]))
        try await app.test(.router) { client in
            let job = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
            let id = try #require(job.json["id"] as? String)
            let approval = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"jira.comment"}"#)
            let approvalID = try #require(approval.json["approval_id"] as? String)
            #expect(try await mallory.call(client, .get, "/v1/jobs/\(id)").status == 404)
            #expect(try await mallory.call(client, .delete, "/v1/jobs/\(id)").status == 404)
            #expect(try await mallory.call(client, .get, "/v1/approvals/\(approvalID)").status == 404)
            #expect(try await mallory.call(client, .post, "/v1/approvals/\(approvalID)/approve", #"{"reason":"mine now"}"#).status == 404)
            let list = try await mallory.call(client, .get, "/v1/approvals")
            #expect((list.json["approvals"] as? [Any])?.isEmpty == true)
            let audit = try await mallory.call(client, .get, "/v1/audit?request_id=\(job.json["request_id"] as? String ?? "")")
            #expect((audit.json["entries"] as? [Any])?.isEmpty == true)
            #expect(try await alice.call(client, .get, "/v1/jobs/\(id)").json["status"] as? String == "queued")
        }
    }

    @Test func rateLimitsAnswer429WithRetryAfter() async throws {
        let fixture = try await GatewayFixture.make()
        let limit = 3
        let (app, gateway) = try fixture.application { $0.rateLimitUserPerSecond = limit }
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            // Windows are whole seconds, so a burst may straddle a boundary: each window admits
            // three, and a burst of twenty spread over fewer than seven windows must meet a refusal.
            let firstSecond = Date().timeIntervalSince1970.rounded(.down)
            let answers = try await withThrowingTaskGroup(of: (status: Int, headers: HTTPFields).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let answer = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
                        return (answer.status, answer.headers)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let windows = Int(Date().timeIntervalSince1970.rounded(.down) - firstSecond) + 1
            let statuses = answers.map(\.status)
            #expect(statuses.allSatisfy { $0 == 202 || $0 == 429 }, "\(statuses)")
            #expect(statuses.filter { $0 == 202 }.count <= limit * windows, "\(statuses) over \(windows) windows")
            if statuses.count > limit * windows {
                #expect(statuses.contains(429), "\(statuses) over \(windows) windows")
            }
            for limited in answers where limited.status == 429 {
                #expect(limited.headers[.retryAfter] == "1")
            }
        }
    }
}

@Suite struct JobDescriptionTests {
    @Test func unclassifiedDataIsRestrictedExceptConnectorData() throws {
        func classification(_ body: String) throws -> Classification {
            try JobDescription(json: Array(body.utf8)).classification
        }
        #expect(try classification(#"{"kind":"briefing","action":"model.call"}"#) == .restricted)
        #expect(try classification(#"{"kind":"noop","action":"noop.run"}"#) == .restricted)
        #expect(try classification(#"{"kind":"connector-sync","action":"gmail.read","payload":{"connector":"gmail"}}"#) == .internal)
        #expect(try classification(#"{"kind":"briefing","action":"gcal.read","classification":"confidential"}"#) == .confidential)
        // Raised, never lowered below the default.
        #expect(throws: FleetError.self) { try classification(#"{"kind":"briefing","action":"model.call","classification":"public"}"#) }
    }
}
