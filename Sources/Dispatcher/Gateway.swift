import Admission
import AsyncHTTPClient
import AuditLog
import Connectors
import Contracts
import Foundation
import JobQueue
import Logging
import OutboundHTTP
import Policy
import PostgresClient
import RedisClient

/// The Dispatcher's composition root: its clients and services, built once from the
/// configuration. Routes are given only the services they use.
final class Gateway: Sendable {
    let configuration: GatewayConfiguration
    let logger: Logger
    // Clients.
    let redis: RedisClient
    let database: PostgresClient
    /// The audit log's own connections: requests append to it from inside their transactions,
    /// which must never wait for a connection they hold themselves.
    let auditDatabase: PostgresClient
    let http: HTTPClient
    /// Calls to the connectors' providers (code exchange, revocation), through libcurl.
    let outbound: any HTTPTransport
    // Engines.
    let queue: JobQueue
    let tenants: TenantDirectory
    let audit: AuditWriter
    let auditStore: AuditStore
    let policyEngine: PolicyEngineClient
    let policies: PolicyStore
    let policySync: PolicySync
    let decider: PolicyDecider
    let admission: AdmissionService
    // Services.
    let verifier: OIDCVerifier
    let rateLimiter: RateLimiter
    let jobs: JobService
    let approvals: ApprovalService
    let approvalExpiry: ApprovalExpiry
    let schedules: ScheduleService
    let scheduleRunner: ScheduleRunner
    let policyService: PolicyService
    let connectors: ConnectorService
    let items: ItemService
    let index: TenantIndex
    let routes = RouteTable()

    init(configuration: GatewayConfiguration, logger: Logger, outbound: any HTTPTransport = CurlTransport()) throws(FleetError) {
        self.configuration = configuration
        self.logger = logger
        let fleet = configuration.fleet
        do {
            redis = RedisClient(configuration: try RedisConfiguration(url: fleet.redisURL), logger: logger)
        } catch {
            throw FleetError(.invalidConfiguration, "redis_url: \(error.message)")
        }
        do {
            database = try PostgresClient(url: fleet.databaseURL, size: 8, logger: logger)
            auditDatabase = try PostgresClient(url: fleet.databaseURL, size: 4, logger: logger)
        } catch {
            throw FleetError(.invalidConfiguration, "database_url: \(error.message)")
        }
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        queue = JobQueue(redis: redis, logger: logger)
        tenants = TenantDirectory(database: database)
        audit = AuditWriter(database: auditDatabase, logger: logger)
        auditStore = AuditStore(database: database)
        policyEngine = PolicyEngineClient(
            transport: PolicyEngineClient.transport(
                engine: fleet.policy.engineURL, library: fleet.policy.library, timeout: fleet.policy.timeout, httpClient: http),
            cacheSize: fleet.policy.decisionCacheSize, cacheTTL: fleet.policy.decisionCacheTTL, logger: logger)
        policies = PolicyStore(tenants: tenants, redis: redis)
        policySync = PolicySync(
            store: policies, engine: policyEngine, policyDirectory: fleet.policy.directory, interval: fleet.policy.syncInterval,
            logger: logger)
        decider = PolicyDecider(engine: policyEngine, sync: policySync)
        let approvalStore = ApprovalStore(tenants: tenants, redis: redis, ttl: configuration.approvalTTL)
        admission = AdmissionService(decider: decider, audit: audit, queue: queue, approvals: approvalStore, logger: logger)
        verifier = OIDCVerifier(configuration: configuration.oidc, http: http, logger: logger)
        rateLimiter = RateLimiter(
            redis: redis, tenantPerSecond: configuration.rateLimitTenantPerSecond, userPerSecond: configuration.rateLimitUserPerSecond,
            logger: logger)
        index = TenantIndex(redis: redis, tenants: tenants, logger: logger)
        jobs = JobService(admission: admission, queue: queue, approvals: approvalStore)
        approvalExpiry = ApprovalExpiry(store: approvalStore, admission: admission, index: index)
        approvals = ApprovalService(store: approvalStore, admission: admission, expiry: approvalExpiry)
        let scheduleStore = ScheduleStore(tenants: tenants)
        schedules = ScheduleService(
            store: scheduleStore, admission: admission, redis: redis, reindexes: configuration.scheduleReindexInterval != nil,
            logger: logger)
        scheduleRunner = ScheduleRunner(store: scheduleStore, admission: admission, index: index, logger: logger)
        policyService = PolicyService(store: policies, sync: policySync, admission: admission)
        self.outbound = outbound
        connectors = ConnectorService(
            tenants: tenants, admission: admission, jobs: jobs, settings: fleet.providers, secrets: configuration.secrets, http: outbound)
        items = ItemService(tenants: tenants, admission: admission)
    }

    /// What readiness needs, by name: Redis and PostgreSQL answer, and the policy engine holds
    /// this Dispatcher's policies.
    func readiness() async -> [String: Bool] {
        async let redis: Bool = (try? await self.redis.send("PING")) != nil
        async let database: Bool = (try? await self.database.query("SELECT 1")) != nil
        async let engine: Bool = decider.isHealthy()
        return ["redis": await redis, "postgresql": await database, "policy_engine": await engine]
    }

    func shutdown() async {
        try? await http.shutdown()
        redis.close()
        database.close()
        auditDatabase.close()
    }
}
