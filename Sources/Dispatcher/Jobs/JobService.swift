import Admission
import AuditLog
import Contracts
import Foundation
import JobQueue

/// Jobs as callers see them: submitted through admission, read and cancelled by their requester
/// and the tenant's enterprise admins.
struct JobService: Sendable {
    let admission: AdmissionService
    let queue: JobQueue
    let approvals: ApprovalStore

    /// What a submission became.
    enum Submission {
        case queued(JobQueue.EnqueueResult, PolicyDecision)
        case awaitingApproval(id: String, PolicyDecision)
        /// The first submission with the same `Idempotency-Key`.
        case earlierJob(id: String, state: JobState)
        case earlierApproval(id: String)
    }

    /// Submits `job` for `identity`: a repeated `Idempotency-Key` answers with the first
    /// submission; a denial is refused with `policy-denied`.
    func submit(
        _ job: JobDescription, identity: Identity, requestID: String, idempotencyKey: String?, trace: TraceContext?
    ) async throws -> Submission {
        if let idempotencyKey, let earlier = try await earlier(identity, key: idempotencyKey) { return earlier }
        let outcome = try await admission.admit(
            AdmissionRequest(
                identity: identity, job: job, channel: .api, requestID: requestID, idempotencyKey: idempotencyKey, trace: trace))
        switch outcome {
        case .queued(let result, let decision): return .queued(result, decision)
        case .awaitingApproval(let id, let decision): return .awaitingApproval(id: id, decision)
        case .denied(let decision): throw AdmissionService.denial(decision)
        }
    }

    private func earlier(_ identity: Identity, key: String) async throws -> Submission? {
        if let id = try await queue.idempotentJob(tenant: identity.tenant, key: key),
            let status = try await queue.status(tenant: identity.tenant, id: id)
        {
            return .earlierJob(id: id, state: status.state)
        }
        if let approval = try await approvals.earlier(tenant: identity.tenant, idempotencyKey: key) {
            return .earlierApproval(id: approval)
        }
        return nil
    }

    /// The job's status, for its requester and the tenant's enterprise admins; anyone else's or
    /// another tenant's job is not found.
    func status(_ identity: Identity, id: String) async throws -> JobStatus {
        guard let status = try await queue.status(tenant: identity.tenant, id: id), Self.mayAccess(identity, status) else {
            throw FleetError.notFound("no job \(id.prefix(40))")
        }
        return status
    }

    /// The job as the API shows it: its result once it succeeded, and, while it waits, whether
    /// any worker serves its kind at all.
    func view(_ identity: Identity, id: String) async throws -> JobView {
        let status = try await status(identity, id: id)
        var view = JobView(status)
        if status.state == .queued || status.state == .retrying, (try? await queue.liveConsumers(kind: status.kind)) == 0 {
            view.notice =
                "no worker serves '\(status.kind.rawValue)' jobs right now: the job waits until one starts (the operator runs `Workers --kinds \(status.kind.rawValue)`)"
        }
        return view
    }

    /// Cancels a job that has not started (audited).
    func cancel(_ identity: Identity, id: String, requestID: String) async throws {
        _ = try await status(identity, id: id)
        switch try await queue.cancel(tenant: identity.tenant, id: id) {
        case .cancelled:
            try await admission.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "cancel:\(id)", userID: identity.user, actionType: "job.cancel",
                    actionDetail: JSONText.object(["job_id": id]), outcome: .success, requestID: requestID))
        case .notFound:
            throw FleetError.notFound("no job \(id.prefix(40))")
        case .notCancellable(let state):
            throw FleetError.conflict("job \(id) is \(state.rawValue): only queued or delayed jobs can be cancelled")
        }
    }

    /// The requester and the tenant's enterprise admins see and cancel a job; a job with no
    /// requester on record (fired by the fleet itself) is the tenant's.
    static func mayAccess(_ identity: Identity, _ status: JobStatus) -> Bool {
        status.requester == nil || status.requester == identity.user || identity.has(.enterpriseAdmin)
    }
}

/// A job as the API shows it.
struct JobView: Encodable {
    var id: String
    var kind: String
    var status: String
    var attempts: Int
    var enqueuedAt: String
    var updatedAt: String
    var lastError: String?
    var runAt: String?
    var startedAt: String?
    var finishedAt: String?
    /// What the job produced (a sync's counts, a link to what it made), once it succeeded.
    var result: JSONValue?
    /// Why a waiting job is not moving, when the fleet knows.
    var notice: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, status, attempts, result, notice
        case enqueuedAt = "enqueued_at"
        case updatedAt = "updated_at"
        case lastError = "last_error"
        case runAt = "run_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    init(_ status: JobStatus) {
        id = status.id
        kind = status.kind.rawValue
        self.status = status.state.rawValue
        attempts = status.attempts
        enqueuedAt = ISOTime.format(milliseconds: status.enqueuedAt)
        updatedAt = ISOTime.format(milliseconds: status.updatedAt)
        lastError = status.lastError
        runAt = status.runAt.map(ISOTime.format(milliseconds:))
        startedAt = status.startedAt.map(ISOTime.format(milliseconds:))
        finishedAt = status.finishedAt.map(ISOTime.format(milliseconds:))
        result = status.result.flatMap { JSONValue.parse(Array($0.utf8)) }
    }
}
