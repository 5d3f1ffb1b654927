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
        let repository = try Data(
            contentsOf: URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("openapi.json"))
        #expect(
            try JSONSerialization.jsonObject(with: repository) as? NSDictionary == document as NSDictionary,
            "openapi.json is stale: run `Dispatcher openapi > openapi.json`")
    }
}
