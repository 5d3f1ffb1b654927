import AuditLog
import Contracts
import Foundation
import PostgresClient

/// The auto-responder's replies for review: what was answered, what was (or would be) sent,
/// under which policy, and what became of it (an approval's decision included).
struct ResponseService: Sendable {
    let tenants: TenantDirectory

    /// What a reply's status can be asked as.
    static let statuses = ["queued", "pending", "sent", "rejected", "expired", "blocked"]

    struct Reply: Encodable {
        var user: String
        var channel: String
        var messageID: String
        var threadID: String
        var status: String
        var original: JSONValue
        var response: String
        var classification: String
        var messageClass: String?
        var policyApplied: String
        var reason: String?
        var disclosure: Bool
        var approvalID: String?
        var decidedBy: String?
        var sentMessageID: String?
        var createdAt: String
        var updatedAt: String
        var sentAt: String?

        enum CodingKeys: String, CodingKey {
            case user, channel, status, original, response, classification, reason, disclosure
            case messageID = "message_id"
            case threadID = "thread_id"
            case messageClass = "message_class"
            case policyApplied = "policy_applied"
            case approvalID = "approval_id"
            case decidedBy = "decided_by"
            case sentMessageID = "sent_message_id"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
            case sentAt = "sent_at"
        }
    }

    struct List: Encodable { var responses: [Reply] }

    /// The status a reply shows: its own, or its approval's decision while it waits on one.
    static let status = """
        CASE WHEN r.status = 'pending' AND a.status IN ('rejected', 'expired') THEN a.status
            WHEN r.status = 'pending' AND a.status = 'approved' THEN 'queued'
            WHEN r.status IN ('drafted', 'queued') THEN 'queued' ELSE r.status END
        """

    /// The caller's replies (an enterprise admin: the tenant's, or one user's), newest first.
    func list(_ identity: Identity, user: String?, status: String?, limit: Int) async throws -> List {
        var conditions: [String] = []
        var parameters: [any PostgresBindable] = []
        if let user {
            guard user == identity.user || identity.has(.enterpriseAdmin) else {
                throw FleetError.forbidden("only an enterprise admin may read another user's replies")
            }
            parameters.append(user)
            conditions.append("r.user_id = $\(parameters.count)")
        } else if !identity.has(.enterpriseAdmin) {
            parameters.append(identity.user)
            conditions.append("r.user_id = $\(parameters.count)")
        }
        if let status {
            parameters.append(status)
            conditions.append("(\(Self.status)) = $\(parameters.count)")
        }
        parameters.append(limit)
        let time = #"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#
        let rows = try await tenants.query(
            identity.tenant,
            """
            SELECT r.user_id, r.channel, r.message_id, r.thread_id, \(Self.status) AS shown, r.original::text AS original, r.response,
                r.classification, r.message_class, r.policy_applied, coalesce(nullif(r.reason, ''), a.decision_reason) AS reason,
                r.disclosure, r.approval_id, a.decided_by, r.sent_message_id,
                to_char(r.created_at AT TIME ZONE 'UTC', \(time)) AS created, to_char(r.updated_at AT TIME ZONE 'UTC', \(time)) AS updated,
                to_char(r.sent_at AT TIME ZONE 'UTC', \(time)) AS sent
            FROM responses r LEFT JOIN approvals a ON a.id = r.approval_id
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY r.created_at DESC, r.message_id LIMIT $\(parameters.count)
            """, parameters)
        return List(
            responses: rows.map { row in
                Reply(
                    user: row.string("user_id") ?? "", channel: row.string("channel") ?? "", messageID: row.string("message_id") ?? "",
                    threadID: row.string("thread_id") ?? "", status: row.string("shown") ?? "",
                    original: row.string("original").flatMap { JSONValue.parse(Array($0.utf8)) } ?? .object([:]),
                    response: row.string("response") ?? "", classification: row.string("classification") ?? "",
                    messageClass: row.string("message_class"), policyApplied: row.string("policy_applied") ?? "",
                    reason: row.string("reason").flatMap { $0.isEmpty ? nil : $0 }, disclosure: row.bool("disclosure") ?? false,
                    approvalID: row.string("approval_id"), decidedBy: row.string("decided_by"),
                    sentMessageID: row.string("sent_message_id"),
                    createdAt: row.string("created") ?? "", updatedAt: row.string("updated") ?? "", sentAt: row.string("sent"))
            })
    }
}
