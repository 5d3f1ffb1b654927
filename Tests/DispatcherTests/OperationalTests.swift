import Admission
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Dispatcher

@Suite struct OperationalTests {
    @Test func healthReadinessAndMetrics() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        // Before the application runs (no background sync): not ready until this Dispatcher's
        // policies are in the engine, and not again once the engine has lost them (as after a
        // restart) until the next sync has loaded them again.
        #expect(await gateway.readiness() == ["redis": true, "postgresql": true, "policy_engine": false])
        try await gateway.policySync.syncOnce()
        #expect(await gateway.readiness()["policy_engine"] == true)
        try await gateway.policyEngine.putData(path: gateway.policySync.marker, json: Data("false".utf8))
        #expect(await gateway.readiness()["policy_engine"] == false)
        try await gateway.policySync.syncOnce()
        #expect(await gateway.readiness()["policy_engine"] == true)
        try await app.test(.router) { client in
            #expect(try await client.execute(uri: "/healthz", method: .get) { $0.status } == .ok)
            let ready = try await client.execute(uri: "/readyz", method: .get) { String(buffer: $0.body) }
            #expect(ready.contains("\"status\":\"ready\""), "\(ready)")
            #expect(try await client.execute(uri: "/metrics", method: .get) { $0.status } == .ok)
            let missing = try await client.execute(uri: "/nowhere", method: .get) { ($0.status, $0.headers[.contentType]) }
            #expect(missing.0 == .notFound)
            #expect(missing.1 == "application/problem+json")
            // Refusals are counted like everything else.
            #expect(try await client.execute(uri: "/v1/jobs", method: .post) { $0.status } == .unauthorized)
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            let requests = metrics.split(separator: "\n").filter { $0.hasPrefix("oc_http_requests_total{") }
            #expect(requests.contains { $0.contains(#"status="401""#) && $0.contains(#"method="POST""#) }, "\(metrics)")
            #expect(requests.contains { $0.contains(#"status="404""#) }, "\(metrics)")
            #expect(requests.contains { $0.contains(#"status="200""#) && $0.contains("readyz") }, "\(metrics)")
        }
    }

    /// Every route the gateway serves is in the OpenAPI document and the other way round; the
    /// document in the repository is the one served.
    @Test func theOpenAPIDocumentMatchesTheRoutes() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        let served = try await app.test(.router) { client in
            try await client.execute(uri: "/openapi.json", method: .get) { Data(buffer: $0.body) }
        }
        let document = try #require(try JSONSerialization.jsonObject(with: served) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let routes = Set(
            gateway.routes.all.map { route in
                "\(route.method) /"
                    + route.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            })
        #expect(
            documented == routes,
            "missing from the document: \(routes.subtracting(documented).sorted()); not served: \(documented.subtracting(routes).sorted())")
        // The document served is the one in the repository (embedded as a resource).
        let repository = try Data(
            contentsOf: URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(
                "Sources/Dispatcher/HTTP/openapi.json"))
        #expect(try JSONSerialization.jsonObject(with: repository) as? NSDictionary == document as NSDictionary)
    }

    /// Every status a route answered across a spread of good and bad requests is one its
    /// operation documents.
    @Test func everyAnswerIsDocumented() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
        let templates = gateway.routes.all.map { route in
            (method: route.method, segments: route.path.split(separator: "/").map(String.init))
        }
        func operation(_ method: String, _ uri: String) -> [String: Any]? {
            let segments = uri.split(separator: "?")[0].split(separator: "/").map(String.init)
            guard
                let route = templates.first(where: { route in
                    route.method == method && route.segments.count == segments.count
                        && zip(route.segments, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
                })
            else { return nil }
            let path = "/" + route.segments.map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : $0 }.joined(separator: "/")
            return paths[path]?[method.lowercased()]
        }
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let boss = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        let nobody = APIClient(token: "not-a-token")
        let seen = try await app.test(.router) { client in
            var seen: [(method: String, uri: String, status: Int)] = []
            @discardableResult
            func call(_ caller: APIClient, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> [String: Any]
            {
                let answer = try await caller.call(client, method, uri, body)
                seen.append((method.rawValue, uri, answer.status))
                return answer.json
            }
            let oversized = "{\"x\":\"" + String(repeating: "a", count: 70_000) + "\"}"
            for route in gateway.routes.all where route.path.hasPrefix("v1") || route.path.hasPrefix("/v1") {
                let uri =
                    "/"
                    + route.path.split(separator: "/").map { $0.hasPrefix(":") ? "01NOSUCHTHING0000000000000" : String($0) }
                    .joined(separator: "/")
                let method = HTTPRequest.Method(route.method)!
                try await call(nobody, method, uri)
                for body in [nil, "{broken", "[]", oversized] { try await call(alice, method, uri, body) }
                try await call(boss, method, uri, "{}")
            }
            let tomorrow = ISOTime.format(milliseconds: Contracts.Clock.milliseconds() + 86_400_000)
            let job = try await call(alice, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run","run_at":"\#(tomorrow)"}"#)
            let id = job["id"] as? String ?? ""
            try await call(alice, .get, "/v1/jobs/\(id)")
            try await call(alice, .delete, "/v1/jobs/\(id)")
            try await call(alice, .delete, "/v1/jobs/\(id)")
            try await call(alice, .post, "/v1/jobs", #"{"kind":"noop","action":"gmail.send"}"#)
            let parked = try await call(alice, .post, "/v1/jobs", #"{"kind":"noop","action":"jira.comment"}"#)
            let approval = parked["approval_id"] as? String ?? ""
            try await call(alice, .get, "/v1/approvals")
            try await call(alice, .get, "/v1/approvals/\(approval)")
            try await call(alice, .post, "/v1/approvals/\(approval)/approve", #"{"reason":"mine"}"#)
            try await call(boss, .post, "/v1/approvals/\(approval)/approve", #"{"reason":"fine"}"#)
            try await call(boss, .post, "/v1/approvals/\(approval)/reject", #"{"reason":"late"}"#)
            let schedule = try await call(
                alice, .post, "/v1/schedules",
                #"{"cron":"0 8 * * *","time_zone":"Europe/Berlin","job":{"kind":"noop","action":"noop.run"}}"#)
            let scheduleID = schedule["id"] as? String ?? ""
            try await call(alice, .get, "/v1/schedules")
            try await call(alice, .get, "/v1/schedules/\(scheduleID)")
            try await call(alice, .delete, "/v1/schedules/\(scheduleID)")
            try await call(alice, .get, "/v1/policies")
            try await call(alice, .put, "/v1/policies/enterprise/*/actions", #"{"content":{},"change_reason":"mine"}"#)
            try await call(
                alice, .put, "/v1/policies/user/alice/actions",
                #"{"content":{"noop.run":{"autonomy":"autonomous"},"x.y":{"autonomy":"autonomous"}},"change_reason":"wider"}"#)
            try await call(
                alice, .put, "/v1/policies/user/alice/actions",
                #"{"content":{"noop.run":{"autonomy":"notify"}},"change_reason":"narrower"}"#)
            try await call(alice, .get, "/v1/audit")
            try await call(alice, .get, "/v1/audit?user_id=boss")
            try await call(boss, .get, "/v1/audit?limit=5")
            return seen
        }
        for answer in seen {
            let documented = operation(answer.method, answer.uri)
            #expect(documented != nil, "\(answer.method) \(answer.uri) is not documented")
            let responses = documented?["responses"] as? [String: Any] ?? [:]
            #expect(responses[String(answer.status)] != nil, "\(answer.method) \(answer.uri) answered \(answer.status), not documented")
        }
        let statuses = Set(seen.map(\.status))
        #expect(statuses.isSuperset(of: [200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 422]), "\(statuses.sorted())")
    }
}
