import AuditLog
import Contracts
import OutboundHTTP
import Policy
import PostgresClient

/// The policy as it stands now, for a job's actions at run time.
public protocol PolicyGate: Sendable {
    func decide(
        _ identity: Identity, action: Action, classification: Classification, target: String, model: PolicyInput.Model?
    ) async -> PolicyAnswer
}

extension PolicyDecider: PolicyGate {
    public func decide(
        _ identity: Identity, action: Action, classification: Classification, target: String, model: PolicyInput.Model?
    ) async -> PolicyAnswer {
        await decide(identity, action: action, classification: classification, target: target, channel: .worker, model: model)
    }
}

/// Statements on one tenant's tables, inside a transaction as that tenant's role.
public typealias TenantSQL = PostgresQuerying

/// A tenant's PostgreSQL schema: `transaction` runs its body as the tenant's role, so nothing
/// of another tenant can be reached.
public protocol TenantDatabase: Sendable {
    func transaction<T: Sendable>(_ tenant: TenantID, _ body: @Sendable (any TenantSQL) async throws -> T) async throws -> T
    /// Runs one statement as a transaction of its own (by default through `transaction`).
    func query(_ tenant: TenantID, _ sql: String, _ parameters: [any PostgresBindable]) async throws -> PostgresRows
}

extension TenantDatabase {
    public func query(_ tenant: TenantID, _ sql: String, _ parameters: [any PostgresBindable]) async throws -> PostgresRows {
        try await transaction(tenant) { try await $0.query(sql, parameters) }
    }
}

extension TenantDirectory: TenantDatabase {
    public func transaction<T: Sendable>(_ tenant: TenantID, _ body: @Sendable (any TenantSQL) async throws -> T) async throws -> T {
        try await session(tenant) { connection in try await body(connection) }
    }
}

/// A tenant's database where every statement is a transaction of its own.
struct TenantStatements: TenantSQL {
    let tenant: TenantID
    let database: any TenantDatabase

    func query(_ sql: String, _ parameters: [any PostgresBindable]) async throws -> PostgresRows {
        try await database.query(tenant, sql, parameters)
    }
}

/// A job a handler asks for next (classify what was just synced), submitted for the job's
/// requester with the job's classification at least, through the same policy check and audit
/// as any job.
public struct FollowUp: Sendable, Equatable {
    public var job: FollowUpJob
    /// Names the follow-up within its job: a redelivered job submits it once.
    public var step: String

    public init(job: FollowUpJob, step: String) {
        self.job = job
        self.step = step
    }
}

/// The job of a follow-up (kind, action, payload as canonical JSON, classification).
public struct FollowUpJob: Sendable, Equatable {
    public var kind: JobKind
    public var action: Action
    public var payload: [UInt8]
    public var classification: Classification

    public init(kind: JobKind, action: Action, payload: [UInt8], classification: Classification) {
        self.kind = kind
        self.action = action
        self.payload = payload
        self.classification = classification
    }
}

/// What became of a follow-up.
public enum FollowUpOutcome: Sendable, Equatable {
    case queued(jobID: String)
    case awaitingApproval(approvalID: String)
    case denied(reason: String)
}

/// Submits follow-up jobs (admission in the worker process; a recorder in tests).
public protocol FollowUpQueue: Sendable {
    func submit(_ followUp: FollowUp, after job: JobEnvelope) async throws -> FollowUpOutcome
}

/// Counters under the job's tenant prefix in Redis (`oc:{t:<tenant>}:<name>`).
public protocol TenantCounters: Sendable {
    /// Adds one to each counter (a plain counter, or `field` of a hash), in one round trip.
    func increment(_ tenant: TenantID, _ counters: [(name: String, field: String?)]) async throws
}

/// Requests to an outside system, counted per tenant across the whole fleet, so together the
/// workers stay under a provider's quota.
public protocol RequestBudget: Sendable {
    /// Takes one request from `name`'s budget of `limit` per `window` for `tenant`: nil to go
    /// ahead, or how long until the next window when this one is spent.
    func take(_ tenant: TenantID, _ name: String, limit: Int, per window: Duration) async throws -> Duration?
}
