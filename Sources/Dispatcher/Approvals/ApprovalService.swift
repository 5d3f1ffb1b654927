import Admission
import AuditLog
import Contracts
import Foundation
import JobQueue

/// Lists, shows and decides approvals.
struct ApprovalService: Sendable {
    let store: ApprovalStore
    let admission: AdmissionService
    let expiry: ApprovalExpiry

    func list(_ identity: Identity, status: ApprovalRecord.Status) async throws -> [ApprovalRecord] {
        try await store.list(tenant: identity.tenant, status: status, scope: ApprovalRules.scope(identity))
    }

    func read(_ identity: Identity, id: String) async throws -> ApprovalRecord {
        guard let approval = try await store.read(tenant: identity.tenant, id: id), ApprovalRules.mayView(identity, approval) else {
            throw FleetError.notFound("no approval \(id.prefix(40))")
        }
        return approval
    }

    /// Approves or rejects approval `id` with `reason`; returns the job an approval queued.
    ///
    /// One transaction holds the approval row: an approval is checked against the policy as it
    /// is now, audited, and only then is the job enqueued and the row updated. The job's id is
    /// the approval's and its enqueue idempotent (for the queue's idempotency retention), so a
    /// retry after a failure in between converges on one job and one audit entry (event keys are
    /// written once).
    func decide(
        _ identity: Identity, id: String, approve: Bool, reason: String, edits: [String: JSONValue] = [:], requestID: String
    ) async throws -> String? {
        let tenant = identity.tenant
        let outcome: (jobID: String?, expired: Bool) = try await store.deciding(tenant: tenant, id: id) { approval, connection in
            guard let approval, ApprovalRules.mayView(identity, approval) else { throw FleetError.notFound("no approval \(id.prefix(40))") }
            guard approval.status == .pending else { throw FleetError.conflict("approval \(id) is already \(approval.status.rawValue)") }
            if approval.expiresAtMs < Clock.milliseconds() {
                // Expired here and now, audited as the sweep would; answered once this commits.
                try await expiry.markExpired(connection, tenant: tenant, id: id)
                return (nil, true)
            }
            guard ApprovalRules.mayDecide(identity, approval) else {
                throw FleetError.forbidden("\(identity.user) may not \(approve ? "approve" : "reject") approval \(id)")
            }
            var envelope: JobEnvelope?
            if approve {
                envelope = try await approved(approval, by: identity, edits: edits, requestID: requestID)
            }
            var detail: [String: JSONValue] = [
                "approval_id": .string(id), "action": .string(approval.action), "reason": .string(reason),
                "requester": .string(approval.requesterUser),
            ]
            if let envelope { detail["job_id"] = .string(envelope.id) }
            if !edits.isEmpty { detail["edited"] = .array(edits.keys.sorted().map { .string($0) }) }
            try await admission.record(
                AuditEvent(
                    tenant: tenant, eventKey: "approval:\(id):\(approve ? "approved" : "rejected")", userID: identity.user,
                    actionType: approve ? "approval.approved" : "approval.rejected",
                    actionDetail: String(decoding: JSONValue.object(detail).canonicalData, as: UTF8.self),
                    policyApplied: approval.policyApplied, policyResult: approve ? "approved" : "rejected", policyReason: reason,
                    outcome: .success, requestID: requestID))
            var jobID: String?
            if let envelope {
                do {
                    jobID = try await admission.queue.enqueue(envelope).id
                } catch {
                    throw FleetError(
                        .queueUnavailable,
                        "the job queue cannot be reached right now; approval \(id) is still pending (the approval may be audited): approve it again, which queues job \(id) once",
                        retryAfter: 5)
                }
            } else {
                // A job an approve queued before failing (its answer lost) does not outlive a
                // rejection; one that already started cannot be rejected.
                let cancelled: JobQueue.CancelOutcome
                do {
                    cancelled = try await admission.queue.cancel(tenant: tenant, id: id)
                } catch {
                    throw FleetError(
                        .queueUnavailable, "the job queue cannot be reached right now; approval \(id) is still pending", retryAfter: 5)
                }
                if case .notCancellable(let state) = cancelled {
                    throw FleetError.conflict("approval \(id) was approved already: its job is \(state.rawValue)")
                }
            }
            try await store.markDecided(
                connection, id: id, status: approve ? .approved : .rejected, by: identity.user, reason: reason, jobID: jobID)
            return (jobID, false)
        }
        try? await store.unindex(tenant: tenant, id: id)
        if outcome.expired { throw FleetError.conflict("approval \(id) expired") }
        return outcome.jobID
    }

    /// The job an approval releases, carrying the decision as it is now: the policy is asked
    /// again for the requester (an action blocked since, or an engine that cannot answer, stops
    /// it), and a requester approving their own request must still be allowed to.
    private func approved(
        _ approval: ApprovalRecord, by approver: Identity, edits: [String: JSONValue], requestID: String
    ) async throws -> JobEnvelope {
        var parked = try approval.envelope(
            tenant: approver.tenant, admission: PolicyDecision(decision: .allow, policyApplied: approval.policyApplied, reason: ""))
        if !edits.isEmpty { parked.payload = try Self.edited(parked, edits) }
        let job = JobDescription(
            kind: parked.kind, action: parked.action, payload: parked.payload, classification: parked.classification, runAt: parked.runAt)
        let now = try await admission.recheck(
            AdmissionRequest(
                identity: Identity(job: parked), job: job, channel: .approval, requestID: requestID,
                detail: ["approval_id": approval.id]))
        if approval.requesterUser == approver.user && !now.constraints.selfApproval {
            throw FleetError.forbidden("the policy no longer lets \(approver.user) approve their own request \(approval.id)")
        }
        var envelope = parked
        envelope.admission = PolicyDecision(
            decision: .allow, policyApplied: now.policyApplied, reason: "approved by \(approver.user)", constraints: now.constraints)
        return envelope
    }

    /// The parked job's payload with an approver's `edits`, in the fields its kind lets
    /// approvers change, checked against the kind's contract as a submission is.
    static func edited(_ job: JobEnvelope, _ edits: [String: JSONValue]) throws(FleetError) -> [UInt8] {
        let editable = KindCatalog.contract(for: job.kind)?.editableOnApproval ?? []
        let refused = Set(edits.keys).subtracting(editable)
        guard refused.isEmpty else {
            throw FleetError.invalidRequest(
                editable.isEmpty
                    ? "a \(job.kind) job cannot be edited on approval"
                    : "'edits' may change only \(editable.sorted().joined(separator: ", ")) of a \(job.kind) job, not \(refused.sorted().joined(separator: ", "))"
            )
        }
        var payload = JSONValue.parse(job.payload)?.objectValue ?? [:]
        for (key, value) in edits { payload[key] = value }
        do throws(KindRejection) {
            return try KindCatalog.admit(kind: job.kind, action: job.action, payload: payload).payload
        } catch {
            switch error {
            case .payload(let problem): throw FleetError.invalidRequest("the edited payload \(problem.message)")
            case .action(let problem): throw FleetError.invalidRequest("the edited job: \(problem)")
            case .unknownKind: throw FleetError.invalidRequest("the edited job is of no kind this gateway knows")
            }
        }
    }
}
