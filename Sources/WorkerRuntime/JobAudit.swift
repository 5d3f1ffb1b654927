import AuditLog
import Contracts

/// The audit trail of one job run. Every entry's event key is derived from the job id, its
/// retry generation and the step, so a redelivered job writes each entry once.
public struct JobAudit: Sendable {
    public let job: JobEnvelope
    let sink: any AuditSink

    /// What kind of thing a step did (SPEC "Audit entry" action types).
    public enum Activity: String, Sendable {
        case toolInvocation = "tool_invocation"
        case dataAccess = "data_access"
        case modelCall = "model_call"
        case agentExchange = "agent_exchange"
    }

    /// The event key of `step` of this job run.
    public func eventKey(_ step: String) -> String { "job:\(job.id)/\(job.generation)/step:\(step)" }

    /// Records one step.
    public func record(
        _ activity: Activity, step: String, detail: [String: JSONValue] = [:], dataAccessed: [AuditEvent.DataAccess] = [],
        model: (name: String, tokens: Int)? = nil, classification: Classification? = nil, outcome: AuditEvent.Outcome = .success
    ) async throws {
        try await sink.append([
            entry(
                activity, step: step, detail: detail, dataAccessed: dataAccessed, model: model, classification: classification,
                outcome: outcome)
        ])
    }

    /// The entry `record` writes, for the caller to append with others (`append`).
    public func entry(
        _ activity: Activity, step: String, detail: [String: JSONValue] = [:], dataAccessed: [AuditEvent.DataAccess] = [],
        model: (name: String, tokens: Int)? = nil, classification: Classification? = nil, outcome: AuditEvent.Outcome = .success
    ) -> AuditEvent {
        var details = detail
        details["job_id"] = .string(job.id)
        details["step"] = .string(step)
        return AuditEvent(
            tenant: job.tenant, eventKey: eventKey(step), userID: job.requester.user, actionType: activity.rawValue,
            actionDetail: String(decoding: JSONValue.object(details).canonicalBytes, as: UTF8.self), dataAccessed: dataAccessed,
            modelUsed: model?.name, modelTokens: model?.tokens, dataClassification: classification ?? job.classification,
            policyApplied: job.admission?.policyApplied, policyResult: job.admission?.decision.rawValue, outcome: outcome,
            requestID: job.requestID)
    }

    /// Writes entries made by `entry` and `decisionEntry` in one append (one commit for all).
    public func append(_ entries: [AuditEvent]) async throws {
        if !entries.isEmpty { try await sink.append(entries) }
    }

    /// Records a run-time policy decision on `action`.
    func decision(_ decision: PolicyDecision, action: Action, classification: Classification, target: String, step: String) async throws {
        try await sink.append([decisionEntry(decision, action: action, classification: classification, target: target, step: step)])
    }

    /// The entry of a run-time policy decision on `action`.
    func decisionEntry(
        _ decision: PolicyDecision, action: Action, classification: Classification, target: String, step: String
    )
        -> AuditEvent
    {
        let outcome: AuditEvent.Outcome =
            switch decision.decision {
            case .allow: .success
            case .deny: .denied
            case .requireApproval: .pendingApproval
            }
        var detail: [String: String] = ["job_id": job.id, "action": action.rawValue, "step": step, "channel": "worker"]
        if !target.isEmpty { detail["target"] = target }
        return AuditEvent(
            tenant: job.tenant, eventKey: eventKey("policy:\(step)"), userID: job.requester.user,
            actionType: AuditEvent.ActionType.policyDecision, actionDetail: JSONText.object(detail), dataClassification: classification,
            policyApplied: decision.policyApplied, policyResult: decision.decision.rawValue, policyReason: decision.reason,
            outcome: outcome, requestID: job.requestID)
    }
}
