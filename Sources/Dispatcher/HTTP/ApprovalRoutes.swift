import Admission
import Contracts
import Foundation
import Hummingbird

/// `/v1/approvals`: what the caller may decide plus their own requests; approve and reject.
struct ApprovalRoutes {
    let approvals: ApprovalService
    let body: BodyLimits

    func add(to group: RouterGroup<GatewayContext>, table: RouteTable) {
        table.add(group, prefix: "v1", .get, "approvals", use: list)
        table.add(group, prefix: "v1", .get, "approvals/:id", use: read)
        table.add(group, prefix: "v1", .post, "approvals/:id/approve") { request, context in
            try await decide(request, context, approve: true)
        }
        table.add(group, prefix: "v1", .post, "approvals/:id/reject") { request, context in
            try await decide(request, context, approve: false)
        }
    }

    struct List: Encodable { var approvals: [ApprovalRecord] }

    struct Decided: Encodable {
        var id: String
        var status: String
        var jobID: String?

        enum CodingKeys: String, CodingKey {
            case id, status
            case jobID = "job_id"
        }
    }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let text = try Parameter.text(request, "status", maxBytes: 16) ?? "pending"
        guard let status = ApprovalRecord.Status(rawValue: text) else {
            throw FleetError.invalidRequest("status must be pending, approved, rejected or expired")
        }
        return try JSONResponse.make(.ok, List(approvals: try await approvals.list(identity, status: status)))
    }

    func read(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        return try JSONResponse.make(.ok, try await approvals.read(identity, id: try Parameter.id(context, "approval")))
    }

    private func decide(_ request: Request, _ context: GatewayContext, approve: Bool) async throws -> Response {
        let identity = try context.caller()
        let id = try Parameter.id(context, "approval")
        let object = try await RequestBody.object(
            request, body, allowed: approve ? ["reason", "edits"] : ["reason"],
            shape: approve ? "with a 'reason' and optional 'edits'" : "with a 'reason'")
        var edits: [String: JSONValue] = [:]
        if let value = object["edits"] {
            guard let changes = value.objectValue else {
                throw FleetError.invalidRequest("'edits' must be an object of payload fields to change (e.g. {\"draft\": \"...\"})")
            }
            edits = changes
        }
        guard let reason = object["reason"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
            throw FleetError.invalidRequest("'reason' is required: say why you \(approve ? "approve" : "reject") this")
        }
        guard reason.utf8.count <= 2000 else { throw FleetError.invalidRequest("'reason' must be at most 2000 bytes") }
        let jobID = try await approvals.decide(
            identity, id: id, approve: approve, reason: reason, edits: edits, requestID: RequestIDs.from(request))
        return try JSONResponse.make(.ok, Decided(id: id, status: approve ? "approved" : "rejected", jobID: jobID))
    }
}
