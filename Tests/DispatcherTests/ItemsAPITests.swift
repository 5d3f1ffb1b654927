import AuditLog
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Dispatcher

/// `/v1/items` and `/v1/directory`: a user's items with their levels and classes, pages, an
/// admin's audited override, and the directory the classifier reads.
@Suite struct ItemsAPITests {
    /// Stores items for `user` as a sync and the classifier would have.
    func seed(_ fixture: GatewayFixture) async throws {
        let database = try TestDatabase.app(size: 1)
        defer { database.close() }
        let tenants = TenantDirectory(database: database)
        _ = try await tenants.session(fixture.tenant) { sql in
            try await sql.query(
                """
                INSERT INTO items (user_id, connector, source_id, item_type, title, occurred_at, classification, default_level, classified_at,
                    findings, message_class, class_confidence, class_reasons)
                VALUES
                    ('alice', 'gmail', 'm1', 'message', 'keys', '2026-11-30T10:00:00Z', 'restricted', 'internal', now(),
                        '[{"detector":"aws_access_key","field":"body","offset":12,"raises":"restricted"}]', 'needs_response', 0.8, '["direct question"]'),
                    ('alice', 'gmail', 'm2', 'message', 'deals', '2026-11-30T09:00:00Z', 'internal', 'internal', now(), '[]', 'noise', 0.95, '[]'),
                    ('alice', 'github', 'acme/api#7', 'issue', 'flaky test', '2026-11-29T09:00:00Z', 'internal', 'internal', NULL, '[]', NULL, NULL, '[]'),
                    ('bob', 'gmail', 'b1', 'message', 'bob''s', '2026-11-30T11:00:00Z', 'internal', 'internal', now(), '[]', 'informational', 0.7, '[]')
                """)
        }
    }

    /// Every id of the caller's items, one per page.
    func pagedIDs(_ caller: APIClient, _ client: some TestClientProtocol) async throws -> [String] {
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await caller.call(client, .get, "/v1/items?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""))
            guard page.status == 200 else { return seen + ["status \(page.status)"] }
            seen += (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = page.json["next_cursor"] as? String
        } while cursor != nil && seen.count < 10
        return seen
    }

    @Test func aUserReadsTheirItemsAndAnAdminOverridesALevelWithAReason() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, _) = try fixture.application()
        try await seed(fixture)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let admin = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        try await app.test(.router) { client in
            let all = try await alice.call(client, .get, "/v1/items")
            #expect(all.status == 200, "\(all.json)")
            let items = all.json["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["id"] as? String } == ["m1", "m2", "acme/api#7"], "\(all.json)")
            let first = items.first ?? [:]
            #expect(first["classification"] as? String == "restricted")
            #expect(first["default_level"] as? String == "internal")
            #expect(first["message_class"] as? String == "needs_response")
            #expect((first["findings"] as? [[String: Any]])?.first?["detector"] as? String == "aws_access_key")
            #expect(items.last?["classified_at"] == nil)

            // Filters and pages.
            let restricted = try await alice.call(client, .get, "/v1/items?classification=restricted")
            #expect((restricted.json["items"] as? [[String: Any]])?.count == 1)
            let waiting = try await alice.call(client, .get, "/v1/items?classified=false")
            #expect((waiting.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == ["acme/api#7"])
            let noise = try await alice.call(client, .get, "/v1/items?class=noise&connector=gmail")
            #expect((noise.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == ["m2"])
            #expect(try await pagedIDs(alice, client) == ["m1", "m2", "acme/api#7"])
            #expect(try await alice.call(client, .get, "/v1/items?cursor=nonsense").status == 400)
            // A forged cursor or item id holding NUL (PostgreSQL cannot store it) names nothing.
            let forged = Data("0\ngmail\nm\u{0}1".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            #expect(try await alice.call(client, .get, "/v1/items?cursor=\(forged)").status == 400)
            #expect(try await alice.call(client, .get, "/v1/items?limit=0").status == 400)
            #expect(try await alice.call(client, .get, "/v1/responses?status=lost").status == 400)
            #expect(try await alice.call(client, .get, "/v1/responses?limit=999").status == 400)
            #expect(try await alice.call(client, .get, "/v1/items?classification=secret").status == 400)
            #expect(try await alice.call(client, .get, "/v1/items?user=bob").status == 403)
            let bobs = try await admin.call(client, .get, "/v1/items?user=bob")
            #expect((bobs.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == ["b1"])

            // Overrides: admins only, with a reason; the id is URL-encoded.
            let path = "/v1/items/gmail/m1/classification"
            #expect(try await alice.call(client, .put, path, #"{"level":"internal","reason":"mine"}"#).status == 403)
            #expect(try await admin.call(client, .put, path, #"{"level":"internal","user":"alice"}"#).status == 400)
            #expect(try await admin.call(client, .put, path, #"{"level":"lowest","reason":"x","user":"alice"}"#).status == 400)
            #expect(
                try await admin.call(
                    client, .put, "/v1/items/gmail/nope/classification", #"{"level":"internal","reason":"x","user":"alice"}"#
                )
                .status == 404)
            #expect(
                try await admin.call(
                    client, .put, "/v1/items/gmail/m%001/classification", #"{"level":"internal","reason":"x","user":"alice"}"#
                )
                .status == 404)
            let lowered = try await admin.call(client, .put, path, #"{"level":"internal","reason":"the key was rotated","user":"alice"}"#)
            #expect(lowered.status == 200, "\(lowered.json)")
            #expect(lowered.json["classification"] as? String == "internal")
            #expect((lowered.json["override"] as? [String: Any])?["reason"] as? String == "the key was rotated")
            #expect((lowered.json["override"] as? [String: Any])?["by"] as? String == "boss")
            let raised = try await admin.call(
                client, .put, "/v1/items/github/acme%2Fapi%237/classification",
                #"{"level":"confidential","reason":"customer data","user":"alice"}"#)
            #expect(raised.status == 200, "\(raised.json)")
            #expect(raised.json["id"] as? String == "acme/api#7")
        }
        let database = try TestDatabase.app(size: 1)
        defer { database.close() }
        let store = AuditStore(database: database)
        var details = ""
        _ = try await eventually {
            let page = try await store.query(tenant: fixture.tenant, filter: .init(actionType: "item.classification_overridden"), limit: 10)
            details = page.records.map(\.event.actionDetail).joined(separator: " ")
            return page.records.count == 2
        }
        #expect(details.contains("\"from\":\"restricted\""), "\(details)")
        #expect(details.contains("\"reason\":\"the key was rotated\""))
    }

    @Test func anAdminKeepsTheDirectory() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, _) = try fixture.application()
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let admin = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        try await app.test(.router) { client in
            let body =
                #"{"internal_domains":["Acme.test","acme.test","acme-corp.test"],"vips":[{"email":"CEO@acme.test","name":"Dana"}],"external_recipients_level":"confidential"}"#
            #expect(try await alice.call(client, .put, "/v1/directory", body).status == 403)
            #expect(try await alice.call(client, .get, "/v1/directory").status == 403)
            let saved = try await admin.call(client, .put, "/v1/directory", body)
            #expect(saved.status == 200, "\(saved.json)")
            #expect(saved.json["internal_domains"] as? [String] == ["acme-corp.test", "acme.test"])
            let read = try await admin.call(client, .get, "/v1/directory")
            #expect((read.json["vips"] as? [[String: Any]])?.first?["email"] as? String == "ceo@acme.test")
            #expect(read.json["external_recipients_level"] as? String == "confidential")
            for bad in [
                #"{"internal_domains":["not a domain"]}"#, #"{"vips":[{"email":"nobody"}]}"#, #"{"vips":[{"email":"a@b.test","rank":1}]}"#,
                #"{"internal_domains":"acme.test"}"#, #"{"external_recipients_level":"secret"}"#,
            ] {
                #expect(try await admin.call(client, .put, "/v1/directory", bad).status == 400, "\(bad)")
            }
            let cleared = try await admin.call(client, .put, "/v1/directory", "{}")
            #expect(cleared.json["internal_domains"] as? [String] == [])
            #expect(cleared.json["external_recipients_level"] == nil)
        }
    }
}
