import AuditLog
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import TaskIntelligence
import TestSupport
import Testing

@testable import Dispatcher

/// `/v1/briefings`: a user reads their own briefings (the newest, one by id, a list) as JSON,
/// HTML with the Eisenhower matrix in SVG, or text; never another user's.
@Suite struct BriefingAPITests {
    static func briefing(_ id: String, user: String, status: Briefing.Status, title: String) -> Briefing {
        var briefing = Briefing(
            id: id, user: user, date: "2026-12-02", timeZone: "Europe/Berlin", generatedAt: "2026-12-02T07:00:00Z", status: status,
            classification: "internal")
        briefing.tasks = [
            .init(
                id: "t1", title: title, score: 61, quadrant: .doFirst, urgency: 56, importance: 66, deadline: "2026-12-02T12:00:00Z",
                sources: [TaskSource(system: "jira", id: "10001", url: nil, title: title)], classification: "internal")
        ]
        briefing.quadrants = ["do_first": 1, "schedule": 0, "delegate": 0, "eliminate": 0]
        briefing.timeBlocks = [
            .init(
                start: "2026-12-02T13:00:00+01:00", end: "2026-12-02T15:45:00+01:00", minutes: 165, label: "Deep work: \(title)",
                taskID: "t1")
        ]
        briefing.connectorStatus = [.init(connector: "jira", status: status == .partial ? .unreachable : .ok, lastSyncAt: nil, detail: nil)]
        if status == .partial { briefing.missing = ["jira unreachable: timed out"] }
        return briefing
    }

    func seed(_ fixture: GatewayFixture) async throws {
        let database = try TestDatabase.app(size: 1)
        defer { database.close() }
        let encoder = JSONEncoder()
        for (briefing, age) in [
            (Self.briefing("b-old", user: "alice", status: .ready, title: "Old <b>news</b>"), 7200),
            (Self.briefing("b-new", user: "alice", status: .partial, title: "Payout <script>alert(1)</script>"), 60),
            (Self.briefing("b-bob", user: "bob", status: .ready, title: "Bob's"), 10),
        ] {
            try await TenantDirectory(database: database).query(
                fixture.tenant,
                """
                INSERT INTO briefings (id, user_id, for_date, content, partial, classification, status, job_id, created_at)
                VALUES ($1, $2, '2026-12-02', $3::jsonb, $4, 'internal', $5, $1, now() - make_interval(secs => $6))
                """,
                [
                    briefing.id, briefing.user, String(decoding: try encoder.encode(briefing), as: UTF8.self), briefing.partial,
                    briefing.status.rawValue, Double(age),
                ])
        }
    }

    func raw(_ client: some TestClientProtocol, _ token: String, _ uri: String, accept: String? = nil) async throws -> (Int, String, String)
    {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if let accept { headers[.accept] = accept }
        return try await client.execute(uri: uri, method: .get, headers: headers, body: nil) { response in
            (Int(response.status.code), String(buffer: response.body), response.headers[.contentType] ?? "")
        }
    }

    @Test func aUserReadsTheirOwnBriefingsAsJSONHTMLAndText() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, _) = try fixture.application()
        try await seed(fixture)
        let aliceToken = try await fixture.issuer.token(tenant: fixture.tenant, user: "alice")
        let alice = APIClient(token: aliceToken)
        let bob = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "bob"))
        let carol = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "carol"))
        try await app.test(.router) { client in
            let list = try await alice.call(client, .get, "/v1/briefings")
            #expect(list.status == 200, "\(list.json)")
            let listed = list.json["briefings"] as? [[String: Any]] ?? []
            #expect(listed.map { $0["id"] as? String } == ["b-new", "b-old"])
            #expect(listed.first?["status"] as? String == "partial" && listed.first?["tasks"] as? Int == 1)

            let latest = try await alice.call(client, .get, "/v1/briefings/latest")
            #expect(latest.status == 200 && latest.json["id"] as? String == "b-new", "\(latest.json)")
            #expect(latest.json["missing"] as? [String] == ["jira unreachable: timed out"])
            #expect((latest.json["time_blocks"] as? [[String: Any]])?.first?["minutes"] as? Int == 165)
            #expect(try await alice.call(client, .get, "/v1/briefings/b-old").json["id"] as? String == "b-old")

            let (status, page, type) = try await raw(client, aliceToken, "/v1/briefings/latest?format=html")
            #expect(status == 200 && type.hasPrefix("text/html"))
            #expect(page.contains("<svg") && page.contains("data-quadrant=\"do_first\"") && page.contains("Do first (1)"))
            #expect(page.contains("Payout &lt;script&gt;alert(1)&lt;/script&gt;") && !page.contains("<script>"), "titles are escaped")
            #expect(page.contains("Partial briefing: jira unreachable"))
            let (_, accepted, acceptedType) = try await raw(client, aliceToken, "/v1/briefings/b-old", accept: "text/html,*/*")
            #expect(acceptedType.hasPrefix("text/html") && accepted.contains("Old &lt;b&gt;news&lt;/b&gt;"))
            let (_, text, textType) = try await raw(client, aliceToken, "/v1/briefings/latest?format=text")
            #expect(textType.hasPrefix("text/plain"))
            #expect(text.contains("PARTIAL: jira unreachable") && text.contains("13:00–15:45  Deep work: Payout"), "\(text)")

            // Bob sees his own only; Carol has none yet and is told how to get one.
            #expect(try await bob.call(client, .get, "/v1/briefings/b-new").status == 404)
            #expect(try await bob.call(client, .get, "/v1/briefings/latest").json["id"] as? String == "b-bob")
            let none = try await carol.call(client, .get, "/v1/briefings/latest")
            #expect(none.status == 404 && (none.json["detail"] as? String ?? "").contains("kind briefing"), "\(none.json)")
            #expect((try await carol.call(client, .get, "/v1/briefings").json["briefings"] as? [Any])?.isEmpty == true)

            #expect(try await alice.call(client, .get, "/v1/briefings/latest?format=pdf").status == 400)
            #expect(try await alice.call(client, .get, "/v1/briefings?limit=0").status == 400)
            #expect(try await alice.call(client, .get, "/v1/briefings/a%00b").status == 404)
        }
    }
}
