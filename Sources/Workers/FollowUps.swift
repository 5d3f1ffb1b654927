import Admission
import Contracts
import WorkerRuntime

/// Follow-up jobs through admission: decided by the policy for the parent job's requester,
/// audited, then queued or parked for approval, once per parent job and step (the idempotency
/// key and the decision's event key name both).
struct AdmittedFollowUps: FollowUpQueue {
    let admission: AdmissionService

    func submit(_ followUp: FollowUp, after job: JobEnvelope) async throws -> FollowUpOutcome {
        guard let payload = JSONValue.parse(followUp.job.payload)?.objectValue else {
            throw FleetError(.invalidPayload, "follow-up \(followUp.step) of job \(job.id) has a payload that is not a JSON object")
        }
        let checked: [UInt8]
        do {
            checked = try KindCatalog.admit(kind: followUp.job.kind, action: followUp.job.action, payload: payload).payload
        } catch {
            throw FleetError(
                .invalidPayload, "follow-up \(followUp.step) of job \(job.id) does not fit kind \(followUp.job.kind): \(error)")
        }
        let key = "followup:\(job.id):\(followUp.step)"
        let description = JobDescription(
            kind: followUp.job.kind, action: followUp.job.action, payload: checked,
            classification: max(followUp.job.classification, job.classification))
        let outcome = try await admission.admit(
            AdmissionRequest(
                identity: Identity(job: job), job: description, channel: .worker, requestID: job.requestID, idempotencyKey: key,
                trace: job.trace, detail: ["parent_job": job.id, "step": followUp.step], decisionKey: "decision:\(key)"))
        switch outcome {
        case .queued(let result, _): return .queued(jobID: result.id)
        case .awaitingApproval(let id, _): return .awaitingApproval(approvalID: id)
        case .denied(let decision): return .denied(reason: decision.reason)
        }
    }
}
