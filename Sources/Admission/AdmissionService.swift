import AuditLog
import Contracts
import FleetConcurrency
import Foundation
import JobQueue
import Logging
import Policy

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
    private let admissions: GroupCommit<Allowed, JobQueue.EnqueueResult>

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
            do {
                try await audit.append(batch.map(\.event))
            } catch {
                logger.error("audit log unavailable", metadata: ["error": "\(error)"])
                throw FleetError(.auditUnavailable, "the audit log cannot be written right now; nothing was done", retryAfter: 5)
            }
            do {
                return try await queue.enqueue(batch.map(\.job))
            } catch {
                logger.error("enqueue failed", metadata: ["error": "\(error)"])
                throw FleetError(
                    .queueUnavailable,
                    "the job queue cannot be reached right now; the job may not be queued (retry with the same Idempotency-Key)",
                    retryAfter: 5)
            }
        }
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
            let event = decisionEvent(request, decision, detail: detail, key: request.decisionKey ?? "decision:\(envelope.id)")
            let result = try await admissions.submit(Allowed(event: event, job: envelope))
            return .queued(result, decision)
        }
    }

    /// The decision on `request` as the policy stands now; an engine that cannot answer is
    /// audited (unless the request says otherwise) and refused with `policy-unavailable`.
    public func decide(_ request: AdmissionRequest) async throws -> PolicyDecision {
        let answer = await decider.decide(
            request.identity, action: request.job.action, classification: request.job.classification, channel: request.channel)
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
