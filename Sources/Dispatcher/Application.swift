import AsyncHTTPClient
import Contracts
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
) throws(FleetError) -> (application: some ApplicationProtocol, gateway: Gateway) {
    let gateway = try Gateway(configuration: configuration, logger: logger)
    let router = Router(context: GatewayContext.self)
    let table = gateway.routes
    let limit = BodyLimits(maxBytes: configuration.maxBodyBytes)
    let bodyTimeout = configuration.bodyTimeout
    // Outermost, so that errors turned into problem responses are counted too.
    router.add(middleware: RequestMetricsMiddleware(factory: PrometheusMetricsFactory.gateway(registry: registry)))
    router.add(middleware: ProblemMiddleware())
    OperationalRoutes(readiness: { await gateway.readiness() }, registry: registry, more: { gateway.policyEngine.metricsText })
        .add(to: router, table: table)
    let api = router.group("v1").add(middleware: AuthMiddleware(verifier: gateway.verifier, rateLimiter: gateway.rateLimiter))
    JobRoutes(jobs: gateway.jobs, body: limit).add(to: api, table: table)
    ApprovalRoutes(approvals: gateway.approvals, body: limit).add(to: api, table: table)
    ScheduleRoutes(schedules: gateway.schedules, body: limit).add(to: api, table: table)
    PolicyRoutes(policies: gateway.policyService, body: limit).add(to: api, table: table)
    AuditRoutes(store: gateway.auditStore).add(to: api, table: table)
    let connectors = ConnectorRoutes(connectors: gateway.connectors, verifier: gateway.verifier, body: limit)
    connectors.add(to: api, table: table)
    connectors.addCallback(to: router, table: table)
    ItemRoutes(items: gateway.items, responses: ResponseService(tenants: gateway.tenants), body: limit).add(to: api, table: table)
    TaskRoutes(tasks: TaskService(tenants: gateway.tenants, admission: gateway.admission)).add(to: api, table: table)
    BriefingRoutes(briefings: BriefingService(tenants: gateway.tenants)).add(to: api, table: table)
    var application = Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [BodyDeadlineHandler(timeout: bodyTimeout)])),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "openclaw-dispatcher"),
        logger: logger)
    // Started in this order and stopped in reverse, after the server: the clients close last.
    application.addServices(
        gateway.redis, gateway.database, gateway.auditDatabase, gateway.policySync, GatewayDuties(gateway: gateway),
        HTTPClientShutdown(http: gateway.http))
    return (application, gateway)
}

/// Shuts the gateway's HTTP client (issuer keys, policy engine) down after the server stopped.
struct HTTPClientShutdown: Service {
    let http: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try? await http.shutdown()
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
