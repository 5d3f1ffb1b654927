import Foundation
import Hummingbird
import Logging
import Prometheus

/// The worker's HTTP side: `/metrics` (Prometheus text) and `/healthz`.
public enum MetricsEndpoint {
    /// An application serving `registry` and `worker`'s health on `host:port`.
    public static func application(
        registry: PrometheusCollectorRegistry, worker: WorkerService, host: String, port: Int, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("healthz") { _, _ in
            let (healthy, detail) = worker.health()
            var body = detail
            body["status"] = healthy ? "ok" : "unhealthy"
            let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
            return Response(
                status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "openclaw-worker"),
            logger: logger)
    }
}
