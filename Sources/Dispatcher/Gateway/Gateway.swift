import AsyncHTTPClient
import AuditLog
import Contracts
import FleetConcurrency
import Foundation
import JobQueue
import Logging
import PolicyClient
import PostgresClient
import RedisClient
import Synchronization

/// The gateway's connections and engines, shared by its routes and services.
final class Gateway: Sendable {
    let configuration: GatewayConfiguration
    let redis: RedisClient
    let queue: JobQueue
    let database: PostgresClient
    let auditDatabase: PostgresClient
    let tenants: TenantDirectory
    let audit: AuditWriter
    let auditStore: AuditStore
    let http: HTTPClient
    let policyEngine: PolicyEngineClient
    let policies: PolicyStore
    let policySync: PolicySync
    let verifier: OIDCVerifier
    let rateLimiter: RateLimiter
    /// Allowed jobs on their way in, batched: one audit commit and one Redis round trip serve
    /// every request that arrived meanwhile.
    let admissions: GroupCommit<Admission>
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
        // The audit log has connections of its own: requests append to it from inside their
        // transactions, which must never wait for a connection they hold themselves.
        do {
            auditDatabase = try PostgresClient(url: configuration.databaseURL, size: 4, logger: logger)
        } catch {
            throw FleetError(.invalidConfiguration, "OC_DATABASE_URL: \(error.message)")
        }
        tenants = TenantDirectory(database: database)
        audit = AuditWriter(database: auditDatabase, logger: logger)
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
            redis: redis, tenantPerSecond: configuration.rateLimitTenantPerSecond, userPerSecond: configuration.rateLimitUserPerSecond,
            logger: logger)
        admissions = GroupCommit(concurrentFlushes: 2) { [audit, queue] batch in
            do {
                try await audit.append(batch.map(\.event))
            } catch {
                throw Admission.Failure.audit(error)
            }
            let results: [JobQueue.EnqueueResult]
            do {
                results = try await queue.enqueue(batch.map(\.job))
            } catch {
                throw Admission.Failure.queue(error)
            }
            for (admission, result) in zip(batch, results) { admission.result.withLock { $0 = result } }
        }
    }

    func shutdown() async {
        try? await http.shutdown()
        redis.close()
        database.close()
        auditDatabase.close()
    }

    /// The decision for `identity` doing `action` (fail closed), under the revision of the
    /// tenant's policies loaded in this Dispatcher's engine.
    func decide(
        _ identity: Identity, action: String, classification: Classification, target: String = "", channel: String = "api"
    )
        async -> PolicyDecision
    {
        guard policySync.isLoaded(for: identity.tenant) else {
            return .unavailable("this Dispatcher has not loaded the tenant's policies into the policy engine yet")
        }
        let input = PolicyInput(
            tenant: identity.tenant, requester: identity.requester, action: action, classification: classification, target: target,
            channel: channel)
        return await policyEngine.decide(input, revision: policySync.revision(of: identity.tenant))
    }

    /// Audits the decision that allowed `job` and enqueues it, together with the other
    /// requests that arrive meanwhile; answers 503 when the audit log cannot be written (the job
    /// is then not queued) or the queue does not confirm the job (its decision is audited; an
    /// `Idempotency-Key` makes the retry safe).
    func admit(
        _ job: JobEnvelope, identity: Identity, decision: PolicyDecision, requestID: String
    ) async throws
        -> JobQueue.EnqueueResult
    {
        let event = decisionEvent(
            identity, action: job.action, decision: decision, classification: job.classification, requestID: requestID,
            detail: ["kind": job.kind.rawValue, "job_id": job.id])
        let admission = Admission(event: event, job: job)
        do {
            try await admissions.submit(admission)
        } catch Admission.Failure.audit(let error) {
            throw auditUnavailable(error)
        } catch Admission.Failure.queue(let error) {
            logger.error("enqueue failed", metadata: ["error": "\(error)"])
            throw Problem.unavailable(
                "queue", "the job queue cannot be reached right now; the job may not be queued (retry with the same Idempotency-Key)")
        }
        guard let result = admission.result.withLock({ $0 }) else {
            throw Problem.unavailable(
                "queue", "the job queue did not confirm the job; it may not be queued (retry with the same Idempotency-Key)")
        }
        return result
    }

    /// Writes the audit entry of a decision; throws when the log is unavailable (the action is
    /// then not taken).
    func auditDecision(
        _ identity: Identity, action: String, decision: PolicyDecision, classification: Classification, requestID: String,
        detail: [String: String] = [:]
    ) async throws {
        try await record(
            decisionEvent(
                identity, action: action, decision: decision, classification: classification, requestID: requestID, detail: detail))
    }

    /// The audit entry of a policy decision.
    func decisionEvent(
        _ identity: Identity, action: String, decision: PolicyDecision, classification: Classification, requestID: String,
        detail: [String: String]
    ) -> AuditEvent {
        var details = detail
        details["action"] = action
        let outcome: AuditEvent.Outcome =
            switch decision.decision {
            case .allow: .success
            case .deny: .denied
            case .requireApproval: .pendingApproval
            }
        return AuditEvent(
            tenant: identity.tenant, eventKey: "decision:\(requestID):\(action)", userID: identity.user,
            actionType: AuditEvent.ActionType.policyDecision,
            actionDetail: JSONText.object(details), dataClassification: classification, policyApplied: decision.policyApplied,
            policyResult: decision.decision.rawValue,
            policyReason: decision.reason, outcome: outcome, requestID: requestID)
    }

    /// Appends one audit entry, or answers 503 when the log cannot be written.
    func record(_ event: AuditEvent) async throws {
        do {
            try await audit.append(event)
        } catch {
            throw auditUnavailable(error)
        }
    }

    /// The answer when the audit log cannot be written (the action is then not taken).
    private func auditUnavailable(_ error: any Error) -> Problem {
        logger.error("audit log unavailable", metadata: ["error": "\(error)"])
        return Problem.unavailable("audit", "the audit log cannot be written right now; nothing was done")
    }
}

/// An allowed job waiting for its decision's audit entry and its place in the queue.
final class Admission: Sendable {
    let event: AuditEvent
    let job: JobEnvelope
    /// Set by the batch that enqueued the job.
    let result = Mutex<JobQueue.EnqueueResult?>(nil)

    init(event: AuditEvent, job: JobEnvelope) {
        self.event = event
        self.job = job
    }

    /// Which half of a batch failed.
    enum Failure: Error {
        case audit(any Error)
        case queue(any Error)
    }
}

extension Gateway {
    /// Adds to the sorted set `key` the members `query` finds in each of `tenants` (none given:
    /// every tenant), as `<tenant>/<id>` scored by `at_ms`, where they are missing: an index in
    /// Redis restored from the rows in PostgreSQL it indexes. A tenant that fails is logged and
    /// skipped.
    func restoreIndex(_ key: String, tenants: [TenantID], from query: String) async throws {
        let all = tenants.isEmpty ? try await self.tenants.all() : tenants
        for tenant in all {
            let members: [String]
            do {
                members = try await self.tenants.session(tenant) { connection -> [String] in
                    try await connection.query(query).flatMap { row -> [String] in
                        guard let id = row.string("id"), let at = row.int64("at_ms") else { return [] }
                        return [String(at), "\(tenant.rawValue)/\(id)"]
                    }
                }
            } catch {
                logger.error(
                    "cannot restore an index from a tenant's rows",
                    metadata: ["index": "\(key)", "tenant": "\(tenant)", "error": "\(error)"])
                continue
            }
            guard !members.isEmpty else { continue }
            try await redis.send(RedisCommand("ZADD", [key, "NX"] + members))
        }
    }
}
