import AuditLog
import Contracts
import Foundation
import Hummingbird

/// `GET /v1/audit`: the tenant's audit entries for administrators (and a user's own entries),
/// newest first, with keyset pagination.
struct AuditRoutes {
    let gateway: Gateway

    func add(to group: RouterGroup<GatewayContext>) {
        gateway.routes.add(group, prefix: "v1", .get, "audit", use: query)
    }

    func query(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let parameters = request.uri.queryParameters
        var filter = AuditStore.Filter(
            userID: parameters.get("user"), actionType: parameters.get("action_type"), requestID: parameters.get("request_id"))
        if !identity.has(.enterpriseAdmin) {
            guard filter.userID == nil || filter.userID == identity.user else {
                throw Problem.forbidden("only an enterprise admin may read other users' audit entries")
            }
            filter.userID = identity.user
        }
        if let outcome = parameters.get("outcome") {
            guard let parsed = AuditEvent.Outcome(rawValue: outcome) else {
                throw Problem.badRequest("outcome must be success, denied, error or pending_approval")
            }
            filter.outcome = parsed
        }
        if let classification = parameters.get("classification") {
            guard let parsed = Classification(rawValue: classification) else {
                throw Problem.badRequest("classification must be public, internal, confidential or restricted")
            }
            filter.classification = parsed
        }
        for (name, keyPath) in [("from", \AuditStore.Filter.from), ("to", \AuditStore.Filter.to)]
            as [(String, WritableKeyPath<AuditStore.Filter, Int64?>)]
        {
            if let text = parameters.get(name) {
                guard let date = JobRequest.parseTime(text) else { throw Problem.badRequest("\(name) must be an ISO 8601 time") }
                filter[keyPath: keyPath] = Int64(date.timeIntervalSince1970 * 1_000_000)
            }
        }
        let limit = parameters.get("limit").flatMap(Int.init) ?? 100
        guard (1...1000).contains(limit) else { throw Problem.badRequest("limit must be 1-1000") }
        let page: AuditStore.Page
        do {
            page = try await gateway.auditStore.query(
                tenant: identity.tenant, filter: filter, limit: limit, cursor: parameters.get("cursor"))
        } catch let error as FleetError {
            throw Problem.badRequest(error.message)
        }
        let entries = page.records.compactMap { record in
            try? JSONSerialization.jsonObject(with: Data(AuditExport.jsonLine(record).utf8))
        }
        var body: [String: Any] = ["entries": entries]
        if let next = page.nextCursor { body["next_cursor"] = next }
        return try json(.ok, body)
    }
}
