import Admission
import AuditLog
import Contracts
import Foundation
import PostgresClient

/// A user's tasks as discovery keeps them (`TaskRefresh` in the workers): read, completed or
/// dismissed by the user. A completed or dismissed task stays so when its sources sync again.
struct TaskService: Sendable {
    let tenants: TenantDirectory
    let admission: AdmissionService

    /// What `status` may ask for: `open` (discovered or active), one status, or `all` (not purged).
    static let statuses = ["open", "discovered", "active", "completed", "archived", "all"]
    static let quadrants = ["do_first", "schedule", "delegate", "eliminate"]

    struct Task: Encodable {
        var id: String
        var title: String
        var status: String
        var dismissed: Bool
        var score: Int
        var scoreParts: JSONValue
        var quadrant: String
        var deadline: String?
        var sources: JSONValue
        var related: JSONValue
        var classification: String
        var createdAt: String
        var updatedAt: String
        var completedAt: String?

        enum CodingKeys: String, CodingKey {
            case id, title, status, dismissed, score, quadrant, deadline, sources, related, classification
            case scoreParts = "score_parts"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
            case completedAt = "completed_at"
        }
    }

    struct List: Encodable { var tasks: [Task] }

    static let time = #"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#
    static let columns = """
        id, title, status, dismissed, priority, score_parts::text AS score_parts, quadrant,
        to_char(deadline AT TIME ZONE 'UTC', \(time)) AS deadline, sources::text AS sources, related::text AS related,
        classification, to_char(created_at AT TIME ZONE 'UTC', \(time)) AS created,
        to_char(updated_at AT TIME ZONE 'UTC', \(time)) AS updated, to_char(completed_at AT TIME ZONE 'UTC', \(time)) AS completed
        """

    static func task(_ row: PostgresRow) -> Task? {
        guard let id = row.string("id") else { return nil }
        func json(_ column: String, _ fallback: JSONValue) -> JSONValue {
            row.string(column).flatMap { JSONValue.parse(Array($0.utf8)) } ?? fallback
        }
        return Task(
            id: id, title: row.string("title") ?? "", status: row.string("status") ?? "", dismissed: row.bool("dismissed") ?? false,
            score: row.int("priority") ?? 0, scoreParts: json("score_parts", .object([:])), quadrant: row.string("quadrant") ?? "",
            deadline: row.string("deadline"), sources: json("sources", .array([])), related: json("related", .array([])),
            classification: row.string("classification") ?? "restricted", createdAt: row.string("created") ?? "",
            updatedAt: row.string("updated") ?? "", completedAt: row.string("completed"))
    }

    /// The caller's tasks, highest score first.
    func list(_ identity: Identity, status: String, quadrant: String?, limit: Int) async throws -> List {
        let statuses =
            switch status {
            case "open": ["discovered", "active"]
            case "all": ["discovered", "active", "completed", "archived"]
            default: [status]
            }
        let rows = try await tenants.query(
            identity.tenant,
            """
            SELECT \(Self.columns) FROM tasks
            WHERE owner_user = $1 AND status = ANY($2::text[]) AND ($3::text IS NULL OR quadrant = $3)
            ORDER BY priority DESC, deadline ASC NULLS LAST, id LIMIT $4
            """, [identity.user, PostgresArray(statuses), quadrant, limit])
        return List(tasks: rows.compactMap(Self.task))
    }

    /// Completes (`dismiss` false) or dismisses one of the caller's open tasks; a task already
    /// so is returned as it is. Audited.
    func close(_ identity: Identity, id: String, dismiss: Bool, requestID: String) async throws -> Task {
        guard !id.utf8.contains(0), id.utf8.count <= 64 else { throw FleetError.notFound("no task \(id.prefix(40))") }
        let rows = try await tenants.query(
            identity.tenant,
            """
            UPDATE tasks SET status = CASE WHEN $3 THEN 'archived' ELSE 'completed' END, dismissed = $3,
                completed_at = coalesce(completed_at, now()), archived_at = CASE WHEN $3 THEN now() ELSE archived_at END,
                updated_at = now()
            WHERE id = $1 AND owner_user = $2 AND status IN ('discovered', 'active')
            RETURNING \(Self.columns)
            """, [id, identity.user, dismiss])
        if let changed = rows.first.flatMap(Self.task) {
            try await admission.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "task:\(dismiss ? "dismiss" : "complete"):\(id)", userID: identity.user,
                    actionType: dismiss ? "task.dismiss" : "task.complete",
                    actionDetail: JSONText.object(["task_id": id, "title": String(changed.title.prefix(200))]), outcome: .success,
                    requestID: requestID))
            return changed
        }
        let current = try await tenants.query(
            identity.tenant, "SELECT \(Self.columns) FROM tasks WHERE id = $1 AND owner_user = $2 AND status <> 'purged'",
            [id, identity.user])
        guard let task = current.first.flatMap(Self.task) else { throw FleetError.notFound("no task \(id.prefix(40))") }
        return task
    }
}
