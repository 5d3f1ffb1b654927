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
        var details = detail
        details["job_id"] = .string(job.id)
        details["step"] = .string(step)
        try await sink.append([
            AuditEvent(
                tenant: job.tenant, eventKey: eventKey(step), userID: job.requester.user, actionType: activity.rawValue,
                actionDetail: String(decoding: JSONValue.object(details).canonicalBytes, as: UTF8.self), dataAccessed: dataAccessed,
                modelUsed: model?.name, modelTokens: model?.tokens, dataClassification: classification ?? job.classification,
                policyApplied: job.admission?.policyApplied, policyResult: job.admission?.decision.rawValue, outcome: outcome,
                requestID: job.requestID)
        ])
    }

    /// Records a run-time policy decision on `action`.
    func decision(_ decision: PolicyDecision, action: Action, classification: Classification, target: String, step: String) async throws {
        let outcome: AuditEvent.Outcome =
            switch decision.decision {
            case .allow: .success
            case .deny: .denied
            case .requireApproval: .pendingApproval
            }
        var detail: [String: String] = ["job_id": job.id, "action": action.rawValue, "step": step, "channel": "worker"]
        if !target.isEmpty { detail["target"] = target }
        try await sink.append([
            AuditEvent(
                tenant: job.tenant, eventKey: eventKey("policy:\(step)"), userID: job.requester.user,
                actionType: AuditEvent.ActionType.policyDecision, actionDetail: JSONText.object(detail), dataClassification: classification,
                policyApplied: decision.policyApplied, policyResult: decision.decision.rawValue, policyReason: decision.reason,
                outcome: outcome, requestID: job.requestID)
        ])
    }
}
