import Contracts
import Foundation
import PostgresClient
import TestSupport
import Testing

@testable import Workers

/// Tasks kept in step with synced items in a real tenant schema: discovered and merged, a
/// completed task stays completed, work gone at its source completes its task, and the ages
/// archive and purge.
@Suite struct TaskRefreshTests {
    @discardableResult
    func sql(_ fixture: ConnectorSyncFixture, _ text: String, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRows {
        try await fixture.directory.query(fixture.tenant, text, parameters)
    }

    func refresh(_ fixture: ConnectorSyncFixture, user: String = "alice") async throws -> TaskRefresh.Outcome {
        let job = JobEnvelope(
            tenant: fixture.tenant, kind: .classifier, action: .gmailRead, payload: Array("{}".utf8), requester: Requester(user: user))
        return try await TaskRefresh.run(fixture.context(job))
    }

    func tasks(
        _ fixture: ConnectorSyncFixture, user: String = "alice"
    ) async throws -> [String: (status: String, sources: String, title: String)] {
        var out: [String: (String, String, String)] = [:]
        for row in try await sql(fixture, "SELECT id, status, source_keys::text AS keys, title FROM tasks WHERE owner_user = $1", [user]) {
            out[row.string("id") ?? ""] = (row.string("status") ?? "", row.string("keys") ?? "", row.string("title") ?? "")
        }
        return out
    }

    @Test func tasksFollowTheItemsAndTheUsersWord() async throws {
        try await withConnectorFixture { fixture in
            for (connector, account) in [("gmail", "alice@acme.test"), ("jira", "alice@acme.test"), ("github", "alice")] {
                try await sql(
                    fixture,
                    "INSERT INTO connector_accounts (user_id, connector, account, key_id, access_token) VALUES ('alice', $1, $2, 'k', '\\x00')",
                    [connector, account])
            }
            try await sql(
                fixture,
                """
                INSERT INTO items (user_id, connector, source_id, item_type, title, people, details, occurred_at, link, status,
                    message_class) VALUES
                ('alice', 'jira', '10001', 'ticket', 'Payout scheduler returns a stale beneficiary',
                    '{"assignee": "alice@acme.test", "reporter": "dana@acme.test"}',
                    '{"key": "PAY-123", "status_category": "indeterminate", "priority": "High"}', now() - interval '1 day',
                    'https://acme.atlassian.net/browse/PAY-123', 'In Progress', NULL),
                ('alice', 'github', 'acme/payments#42', 'pull_request', 'PAY-123: invalidate the beneficiary cache',
                    '{"author": "marcus", "assignees": []}', '{"review_requested": true}', now() - interval '2 hours',
                    'https://github.example/acme/payments/pull/42', 'open', NULL),
                ('alice', 'gmail', 'm1', 'message', 'Budget sign-off', '{"from": "Carol Ng <carol@partner.test>", "to": ["alice@acme.test"]}',
                    '{"thread_id": "t1", "labels": ["INBOX"]}', now() - interval '1 hour', NULL, NULL, 'needs_response'),
                ('bob', 'gmail', 'b1', 'message', 'For Bob', '{"from": "carol@partner.test", "to": ["bob@acme.test"]}',
                    '{"thread_id": "t9", "labels": ["INBOX"]}', now() - interval '1 hour', NULL, NULL, 'needs_response')
                """)
            let first = try await refresh(fixture)
            #expect(first.open == 2 && first.created == 2, "\(first)")
            var found = try await tasks(fixture)
            let merged = try #require(found.first { $0.value.sources.contains("jira:10001") })
            #expect(merged.value.sources.contains("github:acme/payments#42"), "the pull request and its ticket are one task")
            #expect(merged.value.title == "PAY-123 Payout scheduler returns a stale beneficiary")
            let reply = try #require(found.first { $0.value.sources.contains("gmail:m1") })
            #expect(reply.value.status == "discovered")
            #expect(try await tasks(fixture, user: "bob").isEmpty, "discovery for alice touches no one else's")

            // Alice completes the reply; the next refresh finds the same message and leaves it so.
            try await sql(fixture, "UPDATE tasks SET status = 'completed', completed_at = now() WHERE id = $1", [reply.key])
            let second = try await refresh(fixture)
            #expect(second.created == 0 && second.closed == 0, "\(second)")
            found = try await tasks(fixture)
            #expect(found[reply.key]?.status == "completed")
            #expect(found.count == 2)

            // The ticket is done and the pull request merged: the task completes itself.
            try await sql(fixture, #"UPDATE items SET details = details || '{"status_category": "done"}' WHERE source_id = '10001'"#)
            try await sql(fixture, "UPDATE items SET status = 'merged' WHERE source_id = 'acme/payments#42'")
            let third = try await refresh(fixture)
            #expect(third.closed == 1 && third.open == 1, "\(third)")
            #expect(try await tasks(fixture)[merged.key]?.status == "completed")

            // Ages: completed 31 days ago is archived; completed 91 days ago is purged.
            try await sql(fixture, "UPDATE tasks SET completed_at = now() - interval '31 days' WHERE id = $1", [merged.key])
            _ = try await refresh(fixture)
            #expect(try await tasks(fixture)[merged.key]?.status == "archived")
            try await sql(fixture, "UPDATE tasks SET completed_at = now() - interval '91 days' WHERE id = $1", [merged.key])
            _ = try await refresh(fixture)
            let purged = try await tasks(fixture)[merged.key]
            #expect(purged?.status == "purged" && purged?.title == "" && purged?.sources == "{}")
        }
    }
}
