import Contracts
import Foundation
import Hummingbird
import Prometheus
import RedisClient

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
struct OperationalRoutes {
    let gateway: Gateway
    let registry: PrometheusCollectorRegistry

    func add(to router: Router<GatewayContext>) {
        let table = gateway.routes
        table.add(router, .get, "healthz") { _, _ in try json(.ok, ["status": "ok"]) }
        table.add(router, .get, "readyz") { _, _ in try await ready() }
        table.add(router, .get, "metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        table.add(router, .get, "openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
    }

    func ready() async throws -> Response {
        let checks = await gateway.readiness()
        let ready = checks.values.allSatisfy { $0 }
        var body: [String: Any] = ["status": ready ? "ready" : "not ready"]
        for (name, ok) in checks { body[name] = ok ? "ok" : "unavailable" }
        return try json(ready ? .ok : .serviceUnavailable, body)
    }
}

extension Gateway {
    /// What readiness needs, by name: Redis and PostgreSQL answer, and the policy engine holds
    /// this Dispatcher's policies.
    func readiness() async -> [String: Bool] {
        async let redis: Bool = (try? await self.redis.send("PING")) != nil
        async let database: Bool = (try? await self.database.query("SELECT 1")) != nil
        async let engine: Bool = policyEngine.isHealthy(marker: policySync.marker)
        return ["redis": await redis, "postgresql": await database, "policy_engine": await engine]
    }
}
