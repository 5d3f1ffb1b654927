import AuditLog
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Dispatcher

@Suite struct ApprovalTests {
    /// A user, alice, and an enterprise admin, boss, of the fixture's tenant.
    func requesterAndAdmin(_ fixture: GatewayFixture) async throws -> (alice: APIClient, boss: APIClient) {
        (
            APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice")),
            APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        )
    }

    /// Submits a job the standard policy parks for approval; returns the approval id.
    func park(_ caller: APIClient, _ client: some TestClientProtocol) async throws -> String {
        let answer = try await caller.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"jira.comment"}"#)
        return try #require(answer.json["approval_id"] as? String, "\(answer.json)")
    }

    @Test func whoMayApproveFollowsRoleAndScope() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let issuer = fixture.issuer
        let alice = APIClient(token: try await issuer.token(tenant: fixture.tenant, user: "alice", org: "eng", team: "core"))
        let coworker = APIClient(token: try await issuer.token(tenant: fixture.tenant, user: "carol", org: "eng", team: "core"))
        let otherLead = APIClient(
            token: try await issuer.token(tenant: fixture.tenant, user: "ted", roles: ["team_lead"], org: "eng", team: "web"))
        let otherOrgsLead = APIClient(
            token: try await issuer.token(tenant: fixture.tenant, user: "sam", roles: ["team_lead"], org: "sales", team: "core"))
        let lead = APIClient(
            token: try await issuer.token(tenant: fixture.tenant, user: "lena", roles: ["team_lead"], org: "eng", team: "core"))
        try await app.test(.router) { client in
            let id = try await park(alice, client)
            // Not visible to a coworker or another team's lead; the requester may not approve it.
            #expect(try await coworker.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"sure"}"#).status == 404)
            #expect(try await otherLead.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"sure"}"#).status == 404)
            #expect(try await otherOrgsLead.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"sure"}"#).status == 404)
            #expect((try await otherOrgsLead.call(client, .get, "/v1/approvals").json["approvals"] as? [Any])?.isEmpty == true)
            #expect(try await alice.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"me"}"#).status == 403)
            #expect(try await lead.call(client, .post, "/v1/approvals/\(id)/approve", #"{}"#).status == 400)
            let leadList = try await lead.call(client, .get, "/v1/approvals")
            #expect((leadList.json["approvals"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            let approved = try await lead.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"looks right"}"#)
            #expect(approved.status == 200)
            let jobID = try #require(approved.json["job_id"] as? String)
            let job = try await alice.call(client, .get, "/v1/jobs/\(jobID)")
            #expect(job.status == 200)
            #expect(try await lead.call(client, .post, "/v1/approvals/\(id)/reject", #"{"reason":"too late"}"#).status == 409)

            // Self-approval where the policy allows it.
            let own = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"gcal.create_event"}"#)
            let ownID = try #require(own.json["approval_id"] as? String)
            #expect(try await alice.call(client, .post, "/v1/approvals/\(ownID)/approve", #"{"reason":"my own calendar"}"#).status == 200)

            let rejectedID = try await park(alice, client)
            #expect(try await lead.call(client, .post, "/v1/approvals/\(rejectedID)/reject", #"{"reason":"not now"}"#).status == 200)
            let audit = try await gateway.auditStore.query(tenant: fixture.tenant, filter: .init(userID: "lena"))
            #expect(Set(audit.records.map(\.event.actionType)) == ["approval.approved", "approval.rejected"])
        }
    }

    @Test func approvalsExpire() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application { $0.approvalTTL = .milliseconds(300) }
        try await fixture.provisionPolicies(gateway)
        let (alice, boss) = try await requesterAndAdmin(fixture)
        try await app.test(.router) { client in
            let id = try await park(alice, client)
            try await Task.sleep(for: .milliseconds(400))
            try await gateway.approvalExpiry.sweepOnce()
            let read = try await boss.call(client, .get, "/v1/approvals/\(id)")
            #expect(read.json["status"] as? String == "expired")
            #expect(try await boss.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"late"}"#).status == 409)
            #expect(try await fixture.queued(gateway) == 0)
            // Found expired by a decision before any sweep: expired there, and audited.
            let late = try await park(alice, client)
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await boss.call(client, .post, "/v1/approvals/\(late)/approve", #"{"reason":"late"}"#).status == 409)
            #expect(try await boss.call(client, .get, "/v1/approvals/\(late)").json["status"] as? String == "expired")
            let expiries = try await gateway.auditStore.query(tenant: fixture.tenant, filter: .init(actionType: "approval.expired"))
            #expect(expiries.records.count == 2)
            #expect(try await fixture.queued(gateway) == 0)
        }
    }

    @Test func aRequesterMayApproveTheirOwnOnlyWhileThePolicySaysSo() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let id = try #require(
                try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"gcal.create_event"}"#).json["approval_id"]
                    as? String)
            // Withdrawn at alice's own scope since she parked it.
            let withdrawn = try await alice.call(
                client, .put, "/v1/policies/user/alice/actions",
                #"{"content":{"gcal.create_event":{"autonomy":"approve","self_approval":false}},"change_reason":"ask my lead"}"#)
            #expect(withdrawn.status == 200, "\(withdrawn.json)")
            let own = try await alice.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"mine"}"#)
            #expect(own.status == 403, "\(own.json)")
            #expect(try await alice.call(client, .get, "/v1/approvals/\(id)").json["status"] as? String == "pending")
            #expect(try await fixture.queued(gateway) == 0)
        }
    }

    @Test func approvingChecksThePolicyAsItIsNowAndEnqueuesOnce() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let admin = Identity(tenant: fixture.tenant, user: "boss", org: "", team: "", roles: [.enterpriseAdmin])
        @Sendable func setJiraComment(_ autonomy: String) async throws {
            guard case .object(var actions) = GatewayFixture.enterpriseActions else { return }
            actions["jira.comment"] = .object(["autonomy": .string(autonomy)])
            let saved = try await gateway.policies.save(
                by: admin, scope: .enterprise, scopeID: "*", domain: .actions, content: .object(actions), changeReason: "test: \(autonomy)")
            try await gateway.policySync.push(fixture.tenant, revision: saved.revision)
        }
        let (alice, boss) = try await requesterAndAdmin(fixture)
        try await app.test(.router) { client in
            let id = try await park(alice, client)
            // Blocked since it was parked: approving it is refused, and it stays pending.
            try await setJiraComment("block")
            let refused = try await boss.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"ok"}"#)
            #expect(refused.status == 403, "\(refused.json)")
            #expect(refused.json["type"] as? String == "https://openclaw.dev/problems/policy-denied")
            #expect(try await boss.call(client, .get, "/v1/approvals/\(id)").json["status"] as? String == "pending")
            #expect(try await fixture.queued(gateway) == 0)
            // Allowed again: the job is the approval's, enqueued once.
            try await setJiraComment("approve")
            let approved = try await boss.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"ok now"}"#)
            #expect(approved.status == 200, "\(approved.json)")
            #expect(approved.json["job_id"] as? String == id)
            #expect(try await boss.call(client, .post, "/v1/approvals/\(id)/approve", #"{"reason":"again"}"#).status == 409)
            #expect(try await fixture.queued(gateway) == 1)
            let audit = try await gateway.auditStore.query(tenant: fixture.tenant, filter: .init(userID: "boss"))
            #expect(audit.records.filter { $0.event.actionType == "approval.approved" }.count == 1)
        }
    }

    @Test func aRejectionCancelsAJobALostApproveQueued() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let (alice, boss) = try await requesterAndAdmin(fixture)
        try await app.test(.router) { client in
            let id = try await park(alice, client)
            // As if an approve queued the job and failed before its row was updated.
            _ = try await gateway.queue.enqueue(
                JobEnvelope(
                    id: id, tenant: fixture.tenant, kind: .noop, action: .jiraComment, requester: Requester(user: "alice"),
                    idempotencyKey: "approval/\(id)", runAt: Clock.milliseconds() + 60_000))
            #expect(try await boss.call(client, .post, "/v1/approvals/\(id)/reject", #"{"reason":"no"}"#).status == 200)
            #expect(try await gateway.queue.status(tenant: fixture.tenant, id: id)?.state == .cancelled)
        }
    }
}
