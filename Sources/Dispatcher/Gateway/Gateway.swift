import AsyncHTTPClient
import AuditLog
import Contracts
import Foundation
import JobQueue
import Logging
import PolicyClient
import PostgresClient
import RedisClient

/// The gateway's connections and engines, shared by its routes and services.
final class Gateway: Sendable {
    let configuration: GatewayConfiguration
    let redis: RedisClient
    let queue: JobQueue
    let database: PostgresClient
    let tenants: TenantDirectory
    let audit: AuditWriter
    let auditStore: AuditStore
    let http: HTTPClient
    let policyEngine: PolicyEngineClient
    let policies: PolicyStore
    let policySync: PolicySync
    let verifier: OIDCVerifier
    let rateLimiter: RateLimiter
    let routes = RouteTable()
    let logger: Logger

    init(configuration: GatewayConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let redisConfiguration: RedisConfiguration
        do {
            redisConfiguration = try RedisConfiguration(url: configuration.redisURL)
        } catch {
            throw FleetError(.invalidConfiguration, "OC_REDIS_URL: \(error.message)")
        }
        redis = RedisClient(configuration: redisConfiguration, logger: logger)
        queue = JobQueue(redis: redis, logger: logger)
        do {
            database = try PostgresClient(url: configuration.databaseURL, size: 8, logger: logger)
        } catch {
            throw FleetError(.invalidConfiguration, "OC_DATABASE_URL: \(error.message)")
        }
        tenants = TenantDirectory(database: database)
        audit = AuditWriter(database: database, logger: logger)
        auditStore = AuditStore(database: database)
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        policyEngine = PolicyEngineClient(
            baseURL: configuration.opaURL, timeout: configuration.opaTimeout, cacheSize: configuration.decisionCacheSize,
            cacheTTL: configuration.decisionCacheTTL, httpClient: http, logger: logger)
        policies = PolicyStore(tenants: tenants, redis: redis)
        policySync = PolicySync(
            store: policies, engine: policyEngine, policyDirectory: configuration.policyDirectory,
            interval: configuration.policySyncInterval,
            logger: logger)
        verifier = OIDCVerifier(configuration: configuration.oidc, http: http, logger: logger)
        rateLimiter = RateLimiter(
            redis: redis, tenantPerSecond: configuration.rateLimitTenantPerSecond, userPerSecond: configuration.rateLimitUserPerSecond)
    }

    func shutdown() async {
        try? await http.shutdown()
        redis.close()
        database.close()
    }

    /// The decision for `identity` doing `action` (fail closed), under the revision of the
    /// tenant's policies loaded in this Dispatcher's engine.
    func decide(
        _ identity: Identity, action: String, classification: Classification, target: String = "", channel: String = "api"
    )
        async -> PolicyDecision
    {
        let input = PolicyInput(
            tenant: identity.tenant, requester: identity.requester, action: action, classification: classification, target: target,
            channel: channel)
        return await policyEngine.decide(input, revision: policySync.revision(of: identity.tenant))
    }

    /// Writes the audit entry of a decision; throws when the log is unavailable (the action is
    /// then not taken).
    func auditDecision(
        _ identity: Identity, action: String, decision: PolicyDecision, classification: Classification, requestID: String,
        detail: [String: String] = [:]
    ) async throws {
        var details = detail
        details["action"] = action
        let outcome: AuditEvent.Outcome =
            switch decision.decision {
            case .allow: .success
            case .deny: .denied
            case .requireApproval: .pendingApproval
            }
        try await record(
            AuditEvent(
                tenant: identity.tenant, eventKey: "decision:\(requestID):\(action)", userID: identity.user,
                actionType: AuditEvent.ActionType.policyDecision,
                actionDetail: JSONText.object(details), dataClassification: classification, policyApplied: decision.policyApplied,
                policyResult: decision.decision.rawValue,
                policyReason: decision.reason, outcome: outcome, requestID: requestID))
    }

    /// Appends one audit entry, or answers 503 when the log cannot be written.
    func record(_ event: AuditEvent) async throws {
        do {
            try await audit.append(event)
        } catch {
            logger.error("audit log unavailable", metadata: ["error": "\(error)"])
            throw Problem.unavailable("audit", "the audit log cannot be written right now; nothing was done")
        }
    }
}
