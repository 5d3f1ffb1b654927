import Admission
import AuditLog
import Contracts
import Foundation
import Hummingbird

/// `GET /v1/audit`: the tenant's audit entries for enterprise admins (and a user's own
/// entries), newest first, with keyset pagination.
struct AuditRoutes {
    let store: AuditStore

    func add(to group: RouterGroup<GatewayContext>, table: RouteTable) {
        table.add(group, prefix: "v1", .get, "audit", use: query)
    }

    func query(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        var filter = AuditStore.Filter(
            userID: try Parameter.text(request, "user"), actionType: try Parameter.text(request, "action_type", maxBytes: 64),
            requestID: try Parameter.text(request, "request_id", maxBytes: 128))
        if !identity.has(.enterpriseAdmin) {
            guard filter.userID == nil || filter.userID == identity.user else {
                throw FleetError.forbidden("only an enterprise admin may read other users' audit entries")
            }
            filter.userID = identity.user
        }
        if let outcome = try Parameter.text(request, "outcome", maxBytes: 32) {
            guard let parsed = AuditEvent.Outcome(rawValue: outcome) else {
                throw FleetError.invalidRequest("outcome must be success, denied, error or pending_approval")
            }
            filter.outcome = parsed
        }
        if let classification = try Parameter.text(request, "classification", maxBytes: 32) {
            guard let parsed = Classification(rawValue: classification) else {
                throw FleetError.invalidRequest("classification must be public, internal, confidential or restricted")
            }
            filter.classification = parsed
        }
        for (name, keyPath) in [("from", \AuditStore.Filter.from), ("to", \AuditStore.Filter.to)]
            as [(String, WritableKeyPath<AuditStore.Filter, Int64?>)]
        {
            if let text = try Parameter.text(request, name, maxBytes: 64) {
                guard let date = ISOTime.parse(text), AuditStore.timeRange.contains(date.timeIntervalSince1970) else {
                    throw FleetError.invalidRequest("\(name) must be an ISO 8601 time between 1970 and 9999, such as 2026-11-25T08:00:00Z")
                }
                filter[keyPath: keyPath] = Int64(date.timeIntervalSince1970 * 1_000_000)
            }
        }
        let limit = try Parameter.integer(request, "limit", in: 1...1000) ?? 100
        let page = try await store.query(
            tenant: identity.tenant, filter: filter, limit: limit, cursor: try Parameter.text(request, "cursor", maxBytes: 64))
        // Entries as the export writes them (one JSON object each).
        var body = #"{"entries":["#
        for (index, record) in page.records.enumerated() {
            if index > 0 { body += "," }
            body += AuditExport.jsonLine(record)
        }
        body += "]"
        if let next = page.nextCursor { body += #","next_cursor":"# + JSONText.quoted(next) }
        body += "}"
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
