import AuditLog
import Contracts
import Foundation
import PostgresClient
import TaskIntelligence

/// A user's briefings as the `briefing` worker stored them: the newest, one by id, a list.
/// Each user reads only their own.
struct BriefingService: Sendable {
    let tenants: TenantDirectory

    struct Summary: Encodable {
        var id: String
        var date: String
        var status: String
        var partial: Bool
        var classification: String
        var tasks: Int
        var createdAt: String
        var link: String

        enum CodingKeys: String, CodingKey {
            case id, date, status, partial, classification, tasks, link
            case createdAt = "created_at"
        }
    }

    struct List: Encodable { var briefings: [Summary] }

    static let time = #"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#

    /// The caller's briefings, newest first.
    func list(_ identity: Identity, limit: Int) async throws -> List {
        let rows = try await tenants.query(
            identity.tenant,
            """
            SELECT id, to_char(for_date, 'YYYY-MM-DD') AS day, status, partial, classification,
                coalesce(jsonb_array_length(content->'tasks'), 0) AS tasks,
                to_char(created_at AT TIME ZONE 'UTC', \(Self.time)) AS created
            FROM briefings WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2
            """, [identity.user, limit])
        return List(
            briefings: rows.compactMap { row in
                guard let id = row.string("id") else { return nil }
                return Summary(
                    id: id, date: row.string("day") ?? "", status: row.string("status") ?? "ready", partial: row.bool("partial") ?? false,
                    classification: row.string("classification") ?? "restricted", tasks: row.int("tasks") ?? 0,
                    createdAt: row.string("created") ?? "", link: "/v1/briefings/\(id)")
            })
    }

    /// One of the caller's briefings (`id` nil: the newest).
    func read(_ identity: Identity, id: String?) async throws -> Briefing {
        if let id, id.utf8.contains(0) || id.utf8.count > 64 { throw FleetError.notFound("no briefing \(id.prefix(40))") }
        let rows = try await tenants.query(
            identity.tenant,
            """
            SELECT content::text AS content FROM briefings WHERE user_id = $1 AND ($2::text IS NULL OR id = $2)
            ORDER BY created_at DESC, id DESC LIMIT 1
            """, [identity.user, id])
        guard let text = rows.first?.string("content") else {
            throw FleetError.notFound(
                id.map { "no briefing \($0.prefix(40))" }
                    ?? "no briefing yet: submit a briefing job (POST /v1/jobs, kind briefing) or schedule one (POST /v1/schedules)")
        }
        do {
            return try JSONDecoder().decode(Briefing.self, from: Data(text.utf8))
        } catch {
            throw FleetError(.internal, "briefing \(id ?? "latest") is stored in a shape this Dispatcher does not read: \(error)")
        }
    }
}
