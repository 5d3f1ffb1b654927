import Admission
import Contracts
import Foundation
import Hummingbird

/// `/v1/jobs`: submit (policy-checked), read, cancel.
struct JobRoutes {
    let jobs: JobService
    let body: BodyLimits

    func add(to group: RouterGroup<GatewayContext>, table: RouteTable) {
        table.add(group, prefix: "v1", .post, "jobs", use: submit)
        table.add(group, prefix: "v1", .get, "jobs/:id", use: read)
        table.add(group, prefix: "v1", .delete, "jobs/:id", use: cancel)
    }

    func submit(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let bytes = try await RequestBody.collect(request, body)
        let job = try JobDescription(json: bytes.readableBytesView)
        let requestID = RequestIDs.from(request)
        let submission = try await jobs.submit(
            job, identity: identity, requestID: requestID, idempotencyKey: try RequestIDs.idempotencyKey(request, user: identity.user),
            trace: RequestIDs.trace(request))
        return try Self.response(submission, requestID: requestID)
    }

    func read(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        return try JSONResponse.make(.ok, try await jobs.view(identity, id: try Parameter.id(context, "job")))
    }

    func cancel(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let id = try Parameter.id(context, "job")
        try await jobs.cancel(identity, id: id, requestID: RequestIDs.from(request))
        return try JSONResponse.make(.ok, Cancelled(id: id))
    }

    /// The answer to a submission (here or from a route that submits a job for the caller).
    static func response(_ submission: JobService.Submission, requestID: String) throws -> Response {
        switch submission {
        case .queued(let result, let decision):
            // The hot path: written by hand rather than through an encoder.
            let body =
                #"{"disclosure_required":\#(decision.constraints.disclosureRequired),"duplicate":\#(!result.isNew),"id":"\#(result.id)","#
                + #""request_id":\#(JSONText.quoted(requestID)),"status":"queued"}"#
            return Response(
                status: .accepted, headers: [.contentType: "application/json", .location: "/v1/jobs/\(result.id)"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        case .awaitingApproval(let id, let decision):
            return try JSONResponse.make(
                .accepted,
                AwaitingApproval(approvalID: id, requestID: requestID, policy: decision.policyApplied, reason: decision.reason),
                location: "/v1/approvals/\(id)")
        case .earlierJob(let id, let state):
            return try JSONResponse.make(.accepted, Earlier(id: id, status: state.rawValue), location: "/v1/jobs/\(id)")
        case .earlierApproval(let id):
            return try JSONResponse.make(
                .accepted, AwaitingApproval(approvalID: id, duplicate: true), location: "/v1/approvals/\(id)")
        }
    }

    struct AwaitingApproval: Encodable {
        var status = "awaiting_approval"
        var approvalID: String
        var requestID: String?
        var policy: String?
        var reason: String?
        var duplicate: Bool?

        enum CodingKeys: String, CodingKey {
            case status, policy, reason, duplicate
            case approvalID = "approval_id"
            case requestID = "request_id"
        }
    }

    struct Earlier: Encodable {
        var id: String
        var status: String
        var duplicate = true
    }

    struct Cancelled: Encodable {
        var id: String
        var status = "cancelled"
    }
}
