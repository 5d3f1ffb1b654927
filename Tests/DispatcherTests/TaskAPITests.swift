import AuditLog
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Dispatcher

/// `/v1/tasks`: a user's own tasks by score, completed and dismissed through the API (audited),
/// never another user's.
@Suite struct TaskAPITests {
    func seed(_ fixture: GatewayFixture) async throws {
        let database = try TestDatabase.app(size: 1)
        defer { database.close() }
        try await TenantDirectory(database: database).query(
            fixture.tenant,
            """
            INSERT INTO tasks (id, owner_user, title, sources, source_keys, deadline, priority, score_parts, quadrant, status)
            VALUES
                ('t1', 'alice', 'Reply: Budget sign-off', '[{"system":"gmail","id":"m1","url":null,"title":"Budget sign-off"}]',
                    '{gmail:m1}', NULL, 38, '{"deadline":5,"seniority":15,"follow_ups":10,"sla":8,"blocking":0}', 'schedule', 'discovered'),
                ('t2', 'alice', 'PAY-123 Payout scheduler', '[]', '{jira:10001}', '2027-01-16T23:59:59Z', 72,
                    '{"deadline":30,"seniority":10,"follow_ups":0,"sla":20,"blocking":12}', 'do_first', 'active'),
                ('t3', 'alice', 'acme/payments#50: Flaky test', '[]', '{github:acme/payments#50}', NULL, 5, '{}', 'eliminate', 'discovered'),
                ('t4', 'bob', 'Bob''s task', '[]', '{gmail:b1}', NULL, 90, '{}', 'do_first', 'discovered')
            """, [])
    }

    @Test func aUserReadsCompletesAndDismissesTheirOwnTasks() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, _) = try fixture.application()
        try await seed(fixture)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let bob = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "bob"))
        try await app.test(.router) { client in
            let open = try await alice.call(client, .get, "/v1/tasks")
            #expect(open.status == 200, "\(open.json)")
            let listed = open.json["tasks"] as? [[String: Any]] ?? []
            #expect(listed.map { $0["id"] as? String } == ["t2", "t1", "t3"], "\(open.json)")
            #expect(listed.first?["quadrant"] as? String == "do_first")
            #expect(listed.first?["deadline"] as? String == "2027-01-16T23:59:59Z")
            #expect((listed.dropFirst().first?["score_parts"] as? [String: Any])?["follow_ups"] as? Int == 10)
            let doFirst = try await alice.call(client, .get, "/v1/tasks?quadrant=do_first")
            #expect((doFirst.json["tasks"] as? [[String: Any]])?.map { $0["id"] as? String } == ["t2"])

            // Bob cannot touch Alice's task, nor see it.
            #expect(try await bob.call(client, .post, "/v1/tasks/t1/complete", "{}").status == 404)
            #expect(
                (try await bob.call(client, .get, "/v1/tasks").json["tasks"] as? [[String: Any]])?.map { $0["id"] as? String } == ["t4"])

            let completed = try await alice.call(client, .post, "/v1/tasks/t1/complete", "{}")
            #expect(completed.status == 200, "\(completed.json)")
            #expect(completed.json["status"] as? String == "completed")
            #expect(completed.json["completed_at"] != nil)
            // Again: as it is.
            #expect(try await alice.call(client, .post, "/v1/tasks/t1/complete", "{}").json["status"] as? String == "completed")
            let dismissed = try await alice.call(client, .post, "/v1/tasks/t3/dismiss", "{}")
            #expect(dismissed.json["status"] as? String == "archived" && dismissed.json["dismissed"] as? Bool == true, "\(dismissed.json)")

            let left = try await alice.call(client, .get, "/v1/tasks")
            #expect((left.json["tasks"] as? [[String: Any]])?.map { $0["id"] as? String } == ["t2"])
            let done = try await alice.call(client, .get, "/v1/tasks?status=completed")
            #expect((done.json["tasks"] as? [[String: Any]])?.map { $0["id"] as? String } == ["t1"])

            #expect(try await alice.call(client, .get, "/v1/tasks?status=lost").status == 400)
            #expect(try await alice.call(client, .get, "/v1/tasks?quadrant=urgent").status == 400)
            #expect(try await alice.call(client, .get, "/v1/tasks?limit=999").status == 400)
            #expect(try await alice.call(client, .post, "/v1/tasks/nope/complete", "{}").status == 404)
            #expect(try await alice.call(client, .post, "/v1/tasks/a%00b/dismiss", "{}").status == 404)
        }
        let audited = try await AuditStore(database: try TestDatabase.app()).query(tenant: fixture.tenant, filter: .init(userID: "alice"))
        let actions = audited.records.map(\.event.actionType)
        #expect(actions.contains("task.complete") && actions.contains("task.dismiss"), "\(actions)")
        #expect(actions.filter { $0 == "task.complete" }.count == 1)
    }
}
