import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization

/// Builds the gateway: routes, middleware and its background services (policy sync, scheduler,
/// approval expiry). Tests drive the result without a process.
func buildApplication(
    _ configuration: GatewayConfiguration, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger
) throws -> (application: some ApplicationProtocol, gateway: Gateway) {
    let gateway = try Gateway(configuration: configuration, logger: logger)
    let router = Router(context: GatewayContext.self)
    // Outermost, so that errors turned into problem responses are counted too.
    router.add(middleware: RequestMetricsMiddleware(factory: PrometheusMetricsFactory.gateway(registry: registry)))
    router.add(middleware: ProblemMiddleware())
    OperationalRoutes(gateway: gateway, registry: registry).add(to: router)
    let api = router.group("v1").add(middleware: AuthMiddleware(verifier: gateway.verifier, rateLimiter: gateway.rateLimiter))
    JobRoutes(gateway: gateway).add(to: api)
    ApprovalRoutes(gateway: gateway).add(to: api)
    ScheduleRoutes(gateway: gateway).add(to: api)
    PolicyRoutes(gateway: gateway).add(to: api)
    AuditRoutes(gateway: gateway).add(to: api)
    var application = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "openclaw-dispatcher"),
        logger: logger)
    application.addServices(gateway.policySync, GatewayDuties(gateway: gateway), GatewayShutdown(gateway: gateway))
    return (application, gateway)
}

/// The Dispatcher's periodic duties: fire due schedules, expire approvals, check the policy
/// engine (which also keeps cached decisions usable while traffic is all cache hits).
struct GatewayDuties: Service {
    let gateway: Gateway

    /// How long a schedule occurrence or an approval expiry that failed waits before it is
    /// tried again.
    static let retryDelay: Duration = .seconds(5)

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastExpiry = ContinuousClock.now - .seconds(60)
            var lastReindex = ContinuousClock.now - .seconds(86_400 * 365)
            let probe = Task {
                while !Task.isCancelled {
                    await gateway.policyEngine.isHealthy(marker: gateway.policySync.marker)
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
            defer { probe.cancel() }
            while !Task.isCancelled {
                do {
                    if let every = gateway.configuration.scheduleReindexInterval, ContinuousClock.now - lastReindex >= every {
                        lastReindex = .now
                        do { try await ScheduleRunner(gateway: gateway).reindex() } catch {
                            gateway.logger.warning("schedule index not restored; retrying later", metadata: ["error": "\(error)"])
                        }
                        do { try await ApprovalExpiry(gateway: gateway).reindex() } catch {
                            gateway.logger.warning("approval expiry index not restored; retrying later", metadata: ["error": "\(error)"])
                        }
                    }
                    try await ScheduleRunner(gateway: gateway).fireDue()
                    if ContinuousClock.now - lastExpiry >= .seconds(10) {
                        lastExpiry = .now
                        try await ApprovalExpiry(gateway: gateway).sweepOnce()
                    }
                } catch {
                    gateway.logger.warning("gateway duty failed; retrying", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: gateway.configuration.schedulerInterval)
            }
        }
    }
}

/// Closes the gateway's connections last, after the server stopped taking requests.
struct GatewayShutdown: Service {
    let gateway: Gateway

    func run() async throws {
        try? await gracefulShutdown()
        await gateway.shutdown()
    }
}

/// Counts requests and their latency by route and status. Metric handles are made once per
/// route and status (making one per request costs a registry lookup under a lock).
extension PrometheusMetricsFactory {
    /// The Dispatcher's metrics factory: latency buckets from 250 µs to 5 s.
    static func gateway(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        return factory
    }
}

/// Counts and times every request by route, method and status, into the registry `/metrics`
/// serves.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let handles: RequestMetricHandles

    init(factory: any MetricsFactory) {
        handles = RequestMetricHandles(factory: factory)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let (counter, timer) = handles.handles(
            route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: Int(response.status.code))
        counter.increment()
        let elapsed = ContinuousClock.now - start
        timer.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return response
    }
}

final class RequestMetricHandles: Sendable {
    private let cache = Mutex<[String: (Metrics.Counter, Metrics.Timer)]>([:])
    private let factory: any MetricsFactory

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func handles(route: String, method: String, status: Int) -> (Metrics.Counter, Metrics.Timer) {
        let key = "\(method) \(route) \(status)"
        return cache.withLock { cache in
            if let known = cache[key] { return known }
            let made = (
                Metrics.Counter(
                    label: "oc_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))],
                    factory: factory),
                Metrics.Timer(label: "oc_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            )
            cache[key] = made
            return made
        }
    }
}
