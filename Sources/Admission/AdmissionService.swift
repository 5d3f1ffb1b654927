import AuditLog
import Contracts
import FleetConcurrency
import Foundation
import JobQueue
import Logging
import Policy
import RedisClient
import Synchronization

/// A job on its way in, from the API, a schedule, an approval or a worker's follow-up.
public struct AdmissionRequest: Sendable {
    public var identity: Identity
    public var job: JobDescription
    public var channel: PolicyChannel
    /// Links every audit entry of the request.
    public var requestID: String
    /// Makes a retry converge on the first job (or approval).
    public var idempotencyKey: String?
    public var trace: TraceContext?
    /// Audit detail beside the kind, the action and the job or approval id (e.g. a schedule's
    /// id and occurrence).
    public var detail: [String: String]
    /// The decision's audit event key. Nil: a fresh one, so every decision is audited; a
    /// follow-up of a job names one per job and step, so a redelivered job audits it once.
    public var decisionKey: String?
    /// Whether an engine that cannot answer is audited (as a denial) before the refusal. A
    /// schedule's occurrence, tried again until the engine answers, is not.
    public var auditsUnavailableEngine: Bool

    public init(
        identity: Identity, job: JobDescription, channel: PolicyChannel, requestID: String, idempotencyKey: String? = nil,
        trace: TraceContext? = nil, detail: [String: String] = [:], decisionKey: String? = nil, auditsUnavailableEngine: Bool = true
    ) {
        self.identity = identity
        self.job = job
        self.channel = channel
        self.requestID = requestID
        self.idempotencyKey = idempotencyKey
        self.trace = trace
        self.detail = detail
        self.decisionKey = decisionKey
        self.auditsUnavailableEngine = auditsUnavailableEngine
    }
}

/// What became of a job: queued, parked for approval, or denied (audited in every case).
public enum AdmissionOutcome: Sendable {
    case queued(JobQueue.EnqueueResult, PolicyDecision)
    case awaitingApproval(approvalID: String, PolicyDecision)
    case denied(PolicyDecision)
}

/// Decide → deny, park or allow → audit → enqueue: the one way a job gets in.
///
/// Allowed jobs are batched: one audit commit and one Redis round trip serve every job that
/// arrived meanwhile. Nothing is queued whose decision is not audited; a decision whose job the
/// queue did not confirm is answered 503 (its `Idempotency-Key` makes the retry safe).
public final class AdmissionService: Sendable {
    public let decider: PolicyDecider
    public let audit: AuditWriter
    public let queue: JobQueue
    public let approvals: ApprovalStore
    let logger: Logger
    private let admissions: GroupCommit<Allowed, Result<JobQueue.EnqueueResult, FleetError>>

    private struct Allowed: Sendable {
        let event: AuditEvent
        let job: JobEnvelope
    }

    public init(decider: PolicyDecider, audit: AuditWriter, queue: JobQueue, approvals: ApprovalStore, logger: Logger) {
        self.decider = decider
        self.audit = audit
        self.queue = queue
        self.approvals = approvals
        self.logger = logger
        admissions = GroupCommit(concurrentFlushes: 2) { [audit, queue, logger] batch in
            try await Self.admit(batch, audit: audit, queue: queue, logger: logger)
        }
    }

    /// Audits a batch of allowed jobs, then enqueues them, with an outcome per job. The batch is
    /// registered as being admitted first (`RedisKeys.admissions`, one member naming every job,
    /// space-separated) and leaves that set with its enqueue: a process that dies in between
    /// leaves it there for `reconcile`. The audit starts once the registration is written to
    /// Redis' socket (Redis receives it even if this process dies then), not once Redis
    /// answered: the two run side by side. A job the queue refused (its chunk failed; the other
    /// tenants' jobs of the batch are queued) and that the queue does not hold is audited as
    /// `job.not_queued` at once; when the round trip itself failed, whether a job is queued is not
    /// known yet, and `reconcile` settles it after the grace.
    private static func admit(
        _ batch: [Allowed], audit: AuditWriter, queue: JobQueue, logger: Logger
    ) async throws -> [Result<JobQueue.EnqueueResult, FleetError>] {
        let members = batch.map { "\($0.job.tenant.rawValue)/\($0.job.id)" }
        let registered = members.joined(separator: " ")
        let admittedAt = String(Clock.milliseconds())
        let written = WrittenSignal()
        let registration = Task {
            // Failing before the write: the signal says so (a no-op once it said written).
            defer { written.set(false) }
            try await queue.redis.send(
                [RedisCommand("ZADD", [RedisKeys.admissions, "NX", admittedAt, registered])], whenWritten: { written.set(true) }
            )[0].orThrow("ZADD")
        }
        guard await written.wait() else {
            let error = await registration.result.failure
            logger.error("job queue unavailable", metadata: ["error": "\(error.map { "\($0)" } ?? "")"])
            throw FleetError(.queueUnavailable, "the job queue (Redis) cannot be reached right now; nothing was done", retryAfter: 5)
        }
        do {
            try await audit.append(batch.map(\.event))
        } catch {
            logger.error("audit log unavailable", metadata: ["error": "\(error)"])
            _ = await registration.result
            _ = try? await queue.redis.send(RedisCommand("ZREM", [RedisKeys.admissions, registered]))
            throw FleetError(.auditUnavailable, "the audit log cannot be written right now; nothing was done", retryAfter: 5)
        }
        if let error = await registration.result.failure {
            // Written, but not confirmed (the connection failed, or an error reply): the enqueue
            // below finds out whether Redis is there, and when it fails the batch is registered
            // again for reconciliation.
            logger.warning("registering an admission not confirmed", metadata: ["error": "\(error)"])
        }
        let unknown = FleetError(
            .queueUnavailable, "the job queue cannot be reached right now; the job may not be queued (retry with the same Idempotency-Key)",
            retryAfter: 5)
        var outcomes: [Result<JobQueue.EnqueueResult, FleetError>]
        do {
            outcomes = try await queue.enqueueEach(batch.map(\.job), then: [RedisCommand("ZREM", [RedisKeys.admissions, registered])])
        } catch {
            // Whether the round trip ran is not known: the jobs stay registered (again, should
            // their removal have run) for reconciliation to settle after the grace.
            logger.error("enqueue failed; reconciliation settles the batch", metadata: ["error": "\(error)"])
            _ = try? await queue.redis.send(RedisCommand("ZADD", [RedisKeys.admissions, "NX", admittedAt, registered]))
            return batch.map { _ in .failure(unknown) }
        }
        var refused: [JobEnvelope] = []
        for (index, outcome) in outcomes.enumerated() {
            guard case .failure(let error) = outcome else { continue }
            let job = batch[index].job
            // A refused script may have appended the job before it failed.
            let held: Bool
            do {
                held = try await queue.status(tenant: job.tenant, id: job.id) != nil
            } catch {
                _ = try? await queue.redis.send(RedisCommand("ZADD", [RedisKeys.admissions, "NX", admittedAt, members[index]]))
                outcomes[index] = .failure(unknown)
                continue
            }
            if held {
                outcomes[index] = .success(JobQueue.EnqueueResult(id: job.id, isNew: true))
            } else {
                logger.error("enqueue refused", metadata: ["tenant": "\(job.tenant)", "job": "\(job.id)", "error": "\(error)"])
                refused.append(job)
                outcomes[index] = .failure(unknown)
            }
        }
        if !refused.isEmpty {
            do {
                try await audit.append(refused.map { notQueued($0, reason: "the job queue refused the job") })
            } catch {
                logger.error("job.not_queued not audited yet; reconciliation will", metadata: ["error": "\(error)"])
                _ = try? await queue.redis.send(
                    RedisCommand(
                        "ZADD", [RedisKeys.admissions, "NX"] + refused.flatMap { [admittedAt, "\($0.tenant.rawValue)/\($0.id)"] }))
            }
        }
        return outcomes
    }

    /// The audit entry saying an allowed job never reached the queue. It carries the
    /// idempotency key, which the decision of a retry carries too.
    static func notQueued(_ job: JobEnvelope, reason: String) -> AuditEvent {
        var event = AuditEvent(lifecycle: JobLifecycleEvent(name: .notQueued, job: job, attempt: job.attempt, error: reason))
        if let key = job.idempotencyKey {
            var detail = JSONValue.parse(Array(event.actionDetail.utf8))?.objectValue ?? [:]
            detail["idempotency_key"] = .string(key)
            event.actionDetail = String(decoding: JSONValue.object(detail).canonicalBytes, as: UTF8.self)
        }
        return event
    }

    /// Settles allowed jobs a process left between their audited decision and their enqueue (it
    /// died): each that is queued after all leaves the set; each that is not gets its
    /// `job.not_queued` entry, found through its decision in the audit log. Called with the
    /// members older than any enqueue can take.
    public func reconcile(tenant: TenantID, jobID: String, admittedAt: Int64, store: AuditStore) async throws {
        if try await queue.status(tenant: tenant, id: jobID) != nil { return }
        // The decision was audited right after the admission began.
        let filter = AuditStore.Filter(
            actionType: AuditEvent.ActionType.policyDecision, from: (admittedAt - 60_000) * 1000, to: (admittedAt + 600_000) * 1000)
        var cursor: String?
        var decision: AuditRecord?
        repeat {
            let page = try await store.query(tenant: tenant, filter: filter, limit: 1000, cursor: cursor)
            decision = page.records.first {
                JSONValue.parse(Array($0.event.actionDetail.utf8))?.objectValue?["job_id"]?.stringValue == jobID
            }
            cursor = page.nextCursor
        } while decision == nil && cursor != nil
        guard let decision else {
            logger.warning(
                "no audited decision for an unconfirmed admission; dropping it", metadata: ["tenant": "\(tenant)", "job": "\(jobID)"])
            return
        }
        let detail = JSONValue.parse(Array(decision.event.actionDetail.utf8))?.objectValue ?? [:]
        guard let kind = detail["kind"]?.stringValue.flatMap({ try? JobKind($0) }),
            let action = detail["action"]?.stringValue.flatMap({ try? Action($0) })
        else { return }
        let job = JobEnvelope(
            id: jobID, tenant: tenant, kind: kind, action: action, classification: decision.event.dataClassification,
            requester: Requester(user: decision.event.userID), requestID: decision.event.requestID,
            idempotencyKey: detail["idempotency_key"]?.stringValue)
        try await audit.append(Self.notQueued(job, reason: "the process admitting it stopped before the queue confirmed it"))
        logger.warning(
            "an admitted job never reached the queue; audited as job.not_queued", metadata: ["tenant": "\(tenant)", "job": "\(jobID)"])
    }

    /// Admits `request`: the decision, its audit entry, and the job queued or parked.
    /// Throws `policy-unavailable` when the engine cannot answer (nothing is done), and
    /// `audit-unavailable`, `queue-unavailable` or `database-unavailable` when a backing
    /// service fails.
    public func admit(_ request: AdmissionRequest) async throws -> AdmissionOutcome {
        let job = request.job
        let decision = try await decide(request)
        var detail = request.detail
        detail["kind"] = job.kind.rawValue
        if job.actions.count > 1 { detail["actions"] = job.actions.map(\.rawValue).joined(separator: ",") }
        switch decision.decision {
        case .deny:
            try await record(decisionEvent(request, decision, detail: detail))
            return .denied(decision)
        case .requireApproval:
            let approval = try await approvals.park(
                job, identity: request.identity, decision: decision, requestID: request.requestID, idempotencyKey: request.idempotencyKey)
            detail["approval_id"] = approval
            try await record(decisionEvent(request, decision, detail: detail))
            return .awaitingApproval(approvalID: approval, decision)
        case .allow:
            let envelope = JobEnvelope(
                tenant: request.identity.tenant, kind: job.kind, action: job.action, payload: job.payload,
                classification: job.classification, requester: request.identity.requester, requestID: request.requestID,
                idempotencyKey: request.idempotencyKey, runAt: job.runAt, trace: request.trace, admission: decision)
            detail["job_id"] = envelope.id
            if let key = request.idempotencyKey { detail["idempotency_key"] = key }
            let event = decisionEvent(request, decision, detail: detail, key: request.decisionKey ?? "decision:\(envelope.id)")
            let result = try await admissions.submit(Allowed(event: event, job: envelope)).get()
            return .queued(result, decision)
        }
    }

    /// The decision on `request` as the policy stands now; an engine that cannot answer is
    /// audited (unless the request says otherwise) and refused with `policy-unavailable`.
    public func decide(_ request: AdmissionRequest) async throws -> PolicyDecision {
        var answers: [(Action, PolicyAnswer)] = []
        for action in request.job.actions {
            answers.append(
                (
                    action,
                    await decider.decide(
                        request.identity, action: action, classification: request.job.classification, channel: request.channel)
                ))
        }
        let answer = Self.combine(answers)
        switch answer {
        case .decided(let decision):
            return decision
        case .unavailable(let reason):
            if request.auditsUnavailableEngine {
                var detail = request.detail
                detail["kind"] = request.job.kind.rawValue
                try await record(decisionEvent(request, answer.audited, detail: detail))
            }
            throw FleetError(
                .policyUnavailable, "policy engine unavailable: \(reason); the action was not taken",
                details: ["policy": answer.audited.policyApplied], retryAfter: 5)
        }
    }

    /// The decision on `request` unless it is a denial, which is audited and refused
    /// (`policy-denied`), as is an engine that cannot answer: before an approved job is queued
    /// (denied since it was parked?) and before a schedule is created.
    public func recheck(_ request: AdmissionRequest) async throws -> PolicyDecision {
        let decision = try await decide(request)
        guard decision.decision == .deny else { return decision }
        var detail = request.detail
        detail["kind"] = request.job.kind.rawValue
        try await record(decisionEvent(request, decision, detail: detail))
        throw Self.denial(decision)
    }

    /// One answer for a job that takes several actions: no decision if any has none; else the
    /// first denial, else the first that needs an approval, else the allow of the job's own
    /// action with every action's constraints (a disclosure if any needs one, the lowest
    /// classification ceiling, self-approval only where all allow it).
    static func combine(_ answers: [(action: Action, answer: PolicyAnswer)]) -> PolicyAnswer {
        guard answers.count > 1 else { return answers.first?.answer ?? .unavailable(reason: "nothing to decide") }
        var decisions: [(Action, PolicyDecision)] = []
        for (action, answer) in answers {
            guard case .decided(let decision) = answer else { return answer }
            decisions.append((action, decision))
        }
        for outcome in [PolicyDecision.Outcome.deny, .requireApproval] {
            if let (action, decision) = decisions.first(where: { $0.1.decision == outcome }) {
                var stated = decision
                if action != decisions[0].0 { stated.reason = "a job of this kind also takes \(action): \(decision.reason)" }
                return .decided(stated)
            }
        }
        var combined = decisions[0].1
        combined.constraints.disclosureRequired = decisions.contains { $0.1.constraints.disclosureRequired }
        combined.constraints.maxClassification = decisions.compactMap(\.1.constraints.maxClassification).min()
        combined.constraints.selfApproval = decisions.allSatisfy { $0.1.constraints.selfApproval }
        return .decided(combined)
    }

    /// The refusal of a denied action.
    public static func denial(_ decision: PolicyDecision) -> FleetError {
        FleetError(.policyDenied, decision.reason, details: ["policy": decision.policyApplied])
    }

    /// Appends one audit entry, or refuses with `audit-unavailable` (the action is then not taken).
    public func record(_ event: AuditEvent) async throws {
        do {
            try await audit.append(event)
        } catch {
            logger.error("audit log unavailable", metadata: ["error": "\(error)"])
            throw FleetError(.auditUnavailable, "the audit log cannot be written right now; nothing was done", retryAfter: 5)
        }
    }

    /// The audit entry of a policy decision on `request`.
    private func decisionEvent(
        _ request: AdmissionRequest, _ decision: PolicyDecision, detail: [String: String], key: String? = nil
    ) -> AuditEvent {
        var details = detail
        details["action"] = request.job.action.rawValue
        let outcome: AuditEvent.Outcome =
            switch decision.decision {
            case .allow: .success
            case .deny: .denied
            case .requireApproval: .pendingApproval
            }
        return AuditEvent(
            tenant: request.identity.tenant, eventKey: key ?? request.decisionKey ?? "decision:\(JobID.make())",
            userID: request.identity.user, actionType: AuditEvent.ActionType.policyDecision, actionDetail: JSONText.object(details),
            dataClassification: request.job.classification, policyApplied: decision.policyApplied,
            policyResult: decision.decision.rawValue, policyReason: decision.reason, outcome: outcome, requestID: request.requestID)
    }
}

/// Whether a registration reached Redis' socket: set once (true: written; false: failed before
/// that), awaited by the one batch that sent it.
private final class WrittenSignal: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Bool, Never>)
        case set(Bool)
    }

    private let state = Mutex(State.empty)

    func set(_ value: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            switch state {
            case .empty:
                state = .set(value)
                return nil
            case .waiting(let continuation):
                state = .set(value)
                return continuation
            case .set:
                return nil
            }
        }
        waiter?.resume(returning: value)
    }

    func wait() async -> Bool {
        await withCheckedContinuation { continuation in
            let value = state.withLock { state -> Bool? in
                if case .set(let value) = state { return value }
                state = .waiting(continuation)
                return nil
            }
            if let value { continuation.resume(returning: value) }
        }
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
