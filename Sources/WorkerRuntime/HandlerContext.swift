import AuditLog
import Contracts
import Foundation
import OutboundHTTP
import Policy
import Synchronization

/// What a handler produced (one per job run).
final class ResultBox: Sendable {
    let value = Mutex<String?>(nil)
}

/// What a worker process gives its handlers: one of each port, shared by every job. Tests build
/// it from the in-memory fakes in TestSupport.
public struct HandlerServices: Sendable {
    public var policy: any PolicyGate
    public var audit: any AuditSink
    public var database: any TenantDatabase
    public var followUps: any FollowUpQueue
    public var http: any HTTPTransport
    public var counters: any TenantCounters
    public var budget: any RequestBudget

    public init(
        policy: any PolicyGate, audit: any AuditSink, database: any TenantDatabase, followUps: any FollowUpQueue, http: any HTTPTransport,
        counters: any TenantCounters, budget: any RequestBudget
    ) {
        self.policy = policy
        self.audit = audit
        self.database = database
        self.followUps = followUps
        self.http = http
        self.counters = counters
        self.budget = budget
    }
}

/// What a handler gets besides its payload, scoped to its job: the policy gate, the audit
/// sink, the tenant's database, follow-up jobs, outbound HTTP and counters.
public struct HandlerContext: Sendable {
    public let job: JobEnvelope
    /// This delivery's attempt number.
    public let attempt: Int
    /// Logs with the job id, kind, tenant and attempt as metadata.
    public let logger: JobLogger
    let services: HandlerServices
    private let produced = ResultBox()

    public init(job: JobEnvelope, attempt: Int, logger: JobLogger, services: HandlerServices) {
        self.job = job
        self.attempt = attempt
        self.logger = logger
        self.services = services
    }

    /// Records what the job produced, shown with its status (`GET /v1/jobs/{id}`) once it
    /// succeeded: counts, or a link to the resource it made.
    public func setResult(_ result: [String: JSONValue]) {
        produced.value.withLock { $0 = String(decoding: JSONValue.object(result).canonicalBytes, as: UTF8.self) }
    }

    /// What `setResult` recorded.
    public var result: String? { produced.value.withLock { $0 } }

    /// The transport for requests outside the fleet (for clients that take one).
    public var http: any HTTPTransport { services.http }

    /// Takes one request from `name`'s budget for the job's tenant (`limit` per `window`, over
    /// the whole fleet); the wait until the next window when it is spent.
    public func budget(_ name: String, limit: Int, per window: Duration) async throws -> Duration? {
        try await services.budget.take(job.tenant, name, limit: limit, per: window)
    }

    /// Who the job runs for: its requester.
    public var identity: Identity { Identity(job: job) }

    // MARK: Policy at run time

    /// The policy's decision on `action` now (the policy may have changed since submission),
    /// audited under `step`. An engine that cannot answer postpones the job (it is never run
    /// unchecked): this throws `JobFailure(.postpone)`.
    public func decide(
        _ action: Action, classification: Classification? = nil, target: String = "", model: PolicyInput.Model? = nil, step: String
    ) async throws -> PolicyDecision {
        let answer = try await ask(action, classification: classification, target: target, model: model, step: step)
        guard case .decided(let decision) = answer else {
            throw JobFailure(.postpone(Self.policyRetry), "policy engine unavailable; the job waits: \(answer.audited.reason)")
        }
        return decision
    }

    /// Like `decide`, but an engine that cannot answer is returned (`.unavailable`) for the
    /// handler to act on, not turned into a postponement. Decisions are audited under `step`.
    public func ask(
        _ action: Action, classification: Classification? = nil, target: String = "", model: PolicyInput.Model? = nil, step: String
    ) async throws -> PolicyAnswer {
        let (answer, entry) = await askUnrecorded(action, classification: classification, target: target, model: model, step: step)
        if let entry { try await audit.append([entry]) }
        return answer
    }

    /// Like `ask`, returning the decision's audit entry instead of writing it, for the handler
    /// to append with its other entries in one write (`audit.append`) before it acts on it.
    public func askUnrecorded(
        _ action: Action, classification: Classification? = nil, target: String = "", model: PolicyInput.Model? = nil, step: String
    ) async -> (answer: PolicyAnswer, entry: AuditEvent?) {
        let level = classification.map { max($0, job.classification) } ?? job.classification
        let answer = await services.policy.decide(identity, action: action, classification: level, target: target, model: model)
        guard case .decided(let decision) = answer else { return (answer, nil) }
        return (answer, audit.decisionEntry(decision, action: action, classification: level, target: target, step: step))
    }

    /// Like `decide`, but only an allow passes: a denial or a needed approval fails the job
    /// (`JobFailure(.fail)`, after its audited decision).
    @discardableResult
    public func authorize(
        _ action: Action, classification: Classification? = nil, target: String = "", model: PolicyInput.Model? = nil, step: String
    ) async throws -> PolicyDecision {
        let decision = try await decide(action, classification: classification, target: target, model: model, step: step)
        switch decision.decision {
        case .allow: return decision
        case .deny: throw JobFailure(.fail, "\(action) denied by policy: \(decision.reason)")
        case .requireApproval: throw JobFailure(.fail, "\(action) needs a human approval: \(decision.reason)")
        }
    }

    /// How long a job waits when the policy engine cannot answer.
    public static let policyRetry: Duration = .seconds(5)

    // MARK: The rest

    /// The job's audit trail: tool invocations, data access, model calls, agent exchanges.
    public var audit: JobAudit { JobAudit(job: job, sink: services.audit) }

    /// Runs `body` in a transaction on the job's tenant's tables.
    public func database<T: Sendable>(_ body: @Sendable (any TenantSQL) async throws -> T) async throws -> T {
        try await services.database.transaction(job.tenant, body)
    }

    /// The job's tenant's tables for work of one statement: each statement is a transaction of
    /// its own, sent with its `BEGIN` and `COMMIT` in one round trip.
    public var statements: any TenantSQL { TenantStatements(tenant: job.tenant, database: services.database) }

    /// Submits a follow-up job of kind `C` for the job's requester, once per `step`.
    public func followUp<C: KindContract>(
        _ contract: C.Type, action: Action, payload: C.Payload, classification: Classification? = nil, step: String
    ) async throws -> FollowUpOutcome {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = Array(try encoder.encode(payload))
        let level = classification.map { max($0, job.classification) } ?? job.classification
        return try await services.followUps.submit(
            FollowUp(job: FollowUpJob(kind: C.kind, action: action, payload: bytes, classification: level), step: step), after: job)
    }

    /// Sends a request outside the fleet.
    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        try await services.http.send(request)
    }

    /// Adds one to counters under the job's tenant prefix.
    public func increment(_ counters: [(name: String, field: String?)]) async throws {
        try await services.counters.increment(job.tenant, counters)
    }
}
