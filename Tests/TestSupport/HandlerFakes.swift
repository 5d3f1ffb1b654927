import AuditLog
import Contracts
import Foundation
import OutboundHTTP
import Policy
import PostgresClient
import Synchronization
import WorkerRuntime

/// In-memory stand-ins for every port of the handler context, so a handler's logic is tested
/// without servers. Each records what it was asked, and can be told how to answer.
public final class HandlerFakes: Sendable {
    public let policy = FakePolicyGate()
    public let audit = InMemoryAuditSink()
    public let database = FakeTenantDatabase()
    public let followUps = RecordingFollowUps()
    public let http = FakeHTTPTransport()
    public let counters = InMemoryCounters()
    public let budget = InMemoryBudget()

    public init() {}

    public var services: HandlerServices {
        HandlerServices(
            policy: policy, audit: audit, database: database, followUps: followUps, http: http, counters: counters, budget: budget)
    }

    /// A context for `job` on the fakes.
    public func context(for job: JobEnvelope, attempt: Int = 1) -> HandlerContext {
        HandlerContext(
            job: job, attempt: attempt,
            logger: JobLogger(base: TestEnvironment.logger, jobID: job.id, kind: job.kind, tenant: job.tenant, attempt: attempt),
            services: services)
    }
}

/// Answers every question with `answer` (allow by default) and records what was asked.
public final class FakePolicyGate: PolicyGate {
    public struct Question: Sendable, Equatable {
        public var user: String
        public var action: Action
        public var classification: Classification
        public var target: String
    }

    public let answer = Mutex<PolicyAnswer>(.decided(PolicyDecision(decision: .allow, policyApplied: "enterprise/actions", reason: "fake")))
    /// Answers some questions differently from `answer` (nil: `answer`).
    public let rule = Mutex<(@Sendable (Question) -> PolicyAnswer?)?>(nil)
    public let asked = Mutex<[Question]>([])

    public init() {}

    public func decide(
        _ identity: Identity, action: Action, classification: Classification, target: String, model: PolicyInput.Model?
    ) async -> PolicyAnswer {
        let question = Question(user: identity.user, action: action, classification: classification, target: target)
        asked.withLock { $0.append(question) }
        if let special = rule.withLock({ $0 })?(question) { return special }
        return answer.withLock { $0 }
    }
}

/// An audit log in memory that, like the real one, writes an event key once.
public final class InMemoryAuditSink: AuditSink {
    public let events = Mutex<[AuditEvent]>([])
    public let failing = Atomic<Bool>(false)

    public init() {}

    public struct Unavailable: Error {}

    public func append(_ batch: [AuditEvent]) async throws {
        if failing.load(ordering: .relaxed) { throw Unavailable() }
        events.withLock { events in
            for event in batch where !events.contains(where: { $0.tenant == event.tenant && $0.eventKey == event.eventKey }) {
                events.append(event)
            }
        }
    }
}

/// Records every statement a handler runs per tenant and answers from `responder` (no rows by
/// default).
public final class FakeTenantDatabase: TenantDatabase {
    public struct Statement: Sendable {
        public var tenant: TenantID
        public var sql: String
        public var parameters: [String?]
    }

    public let statements = Mutex<[Statement]>([])
    public let responder = Mutex<@Sendable (Statement) throws -> PostgresRows>({ _ in PostgresRows(columns: [], values: [], affected: 0) })

    public init() {}

    public func transaction<T: Sendable>(_ tenant: TenantID, _ body: @Sendable (any TenantSQL) async throws -> T) async throws -> T {
        try await body(Session(tenant: tenant, owner: self))
    }

    struct Session: TenantSQL {
        let tenant: TenantID
        let owner: FakeTenantDatabase

        func query(_ sql: String, _ parameters: [any PostgresBindable]) async throws -> PostgresRows {
            let statement = Statement(tenant: tenant, sql: sql, parameters: parameters.map(\.postgresText))
            owner.statements.withLock { $0.append(statement) }
            return try owner.responder.withLock { $0 }(statement)
        }
    }
}

/// Records follow-ups; a step submitted again returns its first outcome (as admission does).
public final class RecordingFollowUps: FollowUpQueue {
    public let submitted = Mutex<[(FollowUp, parent: String)]>([])
    public let outcome = Mutex<FollowUpOutcome?>(nil)
    /// Submissions still to fail as with an unavailable policy engine (nothing recorded).
    public let failures = Mutex(0)

    public init() {}

    public func submit(_ followUp: FollowUp, after job: JobEnvelope) async throws -> FollowUpOutcome {
        let fails = failures.withLock { count in
            defer { count = max(0, count - 1) }
            return count > 0
        }
        if fails { throw FleetError(.policyUnavailable, "policy engine unavailable: the follow-up was not submitted") }
        submitted.withLock { list in
            if !list.contains(where: { $0.0.step == followUp.step && $0.parent == job.id }) { list.append((followUp, job.id)) }
        }
        return outcome.withLock { $0 } ?? .queued(jobID: "followup-\(job.id)-\(followUp.step)")
    }
}

/// Answers requests from `handler` (404 by default) and records them.
public final class FakeHTTPTransport: HTTPTransport {
    public let requests = Mutex<[OutboundRequest]>([])
    public let handler = Mutex<@Sendable (OutboundRequest) throws -> OutboundResponse>({ _ in OutboundResponse(status: 404) })

    public init() {}

    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        requests.withLock { $0.append(request) }
        return try handler.withLock { $0 }(request)
    }
}

/// Counters per tenant in memory.
public final class InMemoryCounters: TenantCounters {
    /// `"<tenant>/<name>"` or `"<tenant>/<name>/<field>"` → count.
    public let values = Mutex<[String: Int]>([:])

    public init() {}

    public func increment(_ tenant: TenantID, _ counters: [(name: String, field: String?)]) async throws {
        values.withLock { values in
            for counter in counters {
                values[[tenant.rawValue, counter.name, counter.field].compactMap { $0 }.joined(separator: "/"), default: 0] += 1
            }
        }
    }

    public func value(_ tenant: TenantID, _ name: String, field: String? = nil) -> Int {
        values.withLock { $0[[tenant.rawValue, name, field].compactMap { $0 }.joined(separator: "/")] ?? 0 }
    }
}

/// A request budget in memory: counts per tenant and name, with a limit a test can lower.
public final class InMemoryBudget: RequestBudget {
    public let used = Mutex<[String: Int]>([:])

    public init() {}

    public func take(_ tenant: TenantID, _ name: String, limit: Int, per window: Duration) async throws -> Duration? {
        let count = used.withLock { used in
            used["\(tenant.rawValue)/\(name)", default: 0] += 1
            return used["\(tenant.rawValue)/\(name)"]!
        }
        return count <= limit ? nil : window
    }
}
