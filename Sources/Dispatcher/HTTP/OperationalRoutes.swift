import Contracts
import Foundation
import Hummingbird
import Prometheus

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
struct OperationalRoutes {
    let readiness: @Sendable () async -> [String: Bool]
    let registry: PrometheusCollectorRegistry
    /// Figures kept outside the registry, in Prometheus' text format.
    let more: @Sendable () -> String

    func add(to router: Router<GatewayContext>, table: RouteTable) {
        table.add(router, .get, "healthz") { _, _ in try JSONResponse.make(.ok, ["status": "ok"]) }
        table.add(router, .get, "readyz") { _, _ in
            let checks = await readiness()
            let ready = checks.values.allSatisfy { $0 }
            var body = ["status": ready ? "ready" : "not ready"]
            for (name, ok) in checks { body[name] = ok ? "ok" : "unavailable" }
            return try JSONResponse.make(ready ? .ok : .serviceUnavailable, body)
        }
        table.add(router, .get, "metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer() + Array(more().utf8))))
        }
        table.add(router, .get, "openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.data)))
        }
    }
}
