import Contracts
import Foundation
import PostgresClient
import TaskIntelligence
import WorkerRuntime

/// Keeps a user's tasks in step with their synced items: discovers them (`TaskDiscovery`),
/// finds each again by its sources, and stores score, quadrant and sources. A task the user
/// completed or dismissed stays so; an open task whose work is gone at its source (the ticket
/// closed, the mail answered) is completed. Completed tasks are archived after 30 days; archived
/// ones, and open ones nothing has touched for 90 days, are purged (their content removed).
enum TaskRefresh {
    struct Outcome {
        var open = 0
        var created = 0
        var closed = 0
    }

    static func run(_ context: HandlerContext, now: Date = Date()) async throws -> Outcome {
        let user = context.job.requester.user
        let owner = try await owner(context)
        let records = try await records(context)
        let tasks = TaskDiscovery.discover(records, for: owner, now: now)
        return try await context.database { sql in
            try await store(tasks, user: user, sql: sql)
        }
    }

    /// The user as their accounts name them, and the tenant's directory.
    static func owner(_ context: HandlerContext) async throws -> TaskOwner {
        let rows = try await context.statements.query(
            """
            SELECT 'account' AS kind, lower(account) AS value FROM connector_accounts WHERE user_id = $1 AND account <> ''
            UNION ALL SELECT entry_type, lower(value) FROM directory_entries
            """, [context.job.requester.user])
        var identities: Set<String> = [context.job.requester.user.lowercased()]
        var vips: Set<String> = []
        var domains: Set<String> = []
        for row in rows {
            guard let value = row.string("value") else { continue }
            switch row.string("kind") {
            case "account":
                identities.insert(value)
                if value.contains("@"), let domain = value.split(separator: "@").last { domains.insert(String(domain)) }
            case "vip": vips.insert(value)
            case "internal_domain": domains.insert(value)
            default: break
            }
        }
        return TaskOwner(identities: identities, vips: vips, internalDomains: domains)
    }

    /// The items that may be tasks: recent mail classed as needing an answer, open tickets,
    /// open pull requests and issues, meetings in the next days.
    static func records(_ context: HandlerContext) async throws -> [SyncedRecord] {
        let rows = try await context.statements.query(
            """
            SELECT i.connector, i.source_id, i.item_type, i.title, i.link, i.status, i.people::text AS people,
                i.details::text AS details, extract(epoch FROM i.occurred_at)::float8 AS occurred, i.message_class,
                i.classification,
                CASE WHEN i.connector = 'gmail' THEN (
                    SELECT count(*) FROM items t WHERE t.user_id = i.user_id AND t.connector = 'gmail'
                        AND t.details->>'thread_id' = i.details->>'thread_id' AND NOT coalesce(t.details->'labels' ? 'SENT', false))
                ELSE 0 END AS inbound,
                CASE WHEN i.connector = 'gmail' THEN EXISTS (
                    SELECT 1 FROM items t WHERE t.user_id = i.user_id AND t.connector = 'gmail'
                        AND t.details->>'thread_id' = i.details->>'thread_id' AND coalesce(t.details->'labels' ? 'SENT', false)
                        AND t.occurred_at > i.occurred_at)
                ELSE false END AS replied
            FROM items i
            WHERE i.user_id = $1 AND (
                (i.connector = 'gmail' AND i.message_class IN ('needs_response', 'critical')
                    AND i.occurred_at > now() - make_interval(secs => $2))
                OR (i.connector = 'jira' AND coalesce(i.details->>'status_category', '') <> 'done')
                OR (i.connector = 'github' AND i.status = 'open')
                OR (i.connector = 'gcal' AND i.occurred_at > now() AND i.occurred_at < now() + make_interval(secs => $3)))
            ORDER BY i.occurred_at DESC NULLS LAST LIMIT 2000
            """, [context.job.requester.user, TaskDiscovery.mailHorizon, TaskDiscovery.meetingHorizon])
        return rows.compactMap { row in
            guard let connector = row.string("connector"), let id = row.string("source_id") else { return nil }
            let people = row.string("people").flatMap { JSONValue.parse(Array($0.utf8))?.objectValue } ?? [:]
            let details = row.string("details").flatMap { JSONValue.parse(Array($0.utf8))?.objectValue } ?? [:]
            return SyncedRecord(
                connector: connector, sourceID: id, type: row.string("item_type") ?? "", title: row.string("title") ?? "",
                link: row.string("link"), status: row.string("status"), people: people.mapValues(addresses),
                details: details.compactMapValues(flat), occurredAt: row.double("occurred").map(Date.init(timeIntervalSince1970:)),
                messageClass: row.string("message_class"), classification: row.string("classification") ?? "restricted",
                threadInbound: row.int("inbound") ?? 0, replied: row.bool("replied") ?? false)
        }
    }

    /// The bare addresses or logins of a `people` entry (a header value, a list, attendee objects).
    static func addresses(_ value: JSONValue) -> [String] {
        switch value {
        case .string(let text): text.isEmpty ? [] : [bare(text)]
        case .array(let values): values.flatMap(addresses)
        case .object(let fields): fields["email"]?.stringValue.map { [$0.lowercased()] } ?? []
        default: []
        }
    }

    static func bare(_ text: String) -> String {
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            return String(text[text.index(after: open)..<close]).lowercased()
        }
        return text.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// A detail as text: strings as they are, booleans and numbers spelled, lists joined by commas.
    static func flat(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .integer(let number): String(number)
        case .number(let number): String(number)
        case .array(let values): values.compactMap(flat).joined(separator: ",")
        default: nil
        }
    }

    static func store(_ tasks: [DiscoveredTask], user: String, sql: any TenantSQL) async throws -> Outcome {
        var outcome = Outcome()
        let existing = try await sql.query(
            "SELECT id, source_keys::text AS keys FROM tasks WHERE owner_user = $1 AND status IN ('discovered', 'active', 'completed', 'archived')",
            [user])
        var byKey: [String: String] = [:]
        for row in existing {
            guard let id = row.string("id") else { continue }
            for key in parseArray(row.string("keys") ?? "") { byKey[key] = id }
        }
        var seen: Set<String> = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        for task in tasks {
            let id = task.keys.lazy.compactMap { byKey[$0] }.first { !seen.contains($0) } ?? JobID.make()
            seen.insert(id)
            let signals = String(decoding: try encoder.encode(task.signals), as: UTF8.self)
            let parts = String(decoding: try encoder.encode(task.score), as: UTF8.self)
            let sources = String(decoding: try encoder.encode(task.sources), as: UTF8.self)
            let related = String(decoding: try encoder.encode(task.related), as: UTF8.self)
            let deadline = task.signals.deadline.map { PostgresTimestamp($0) }
            let written = try await sql.query(
                """
                INSERT INTO tasks (id, owner_user, title, sources, source_keys, deadline, priority, signals, score_parts, quadrant,
                    related, classification, correlation_id)
                VALUES ($1, $2, $3, $4::jsonb, $5::text[], $6, $7, $8::jsonb, $9::jsonb, $10, $11::jsonb, $12, $1)
                ON CONFLICT (id) DO UPDATE SET title = excluded.title, sources = excluded.sources, source_keys = excluded.source_keys,
                    deadline = excluded.deadline, priority = excluded.priority, signals = excluded.signals,
                    score_parts = excluded.score_parts, quadrant = excluded.quadrant, related = excluded.related,
                    classification = excluded.classification, updated_at = now()
                RETURNING (xmax = 0) AS created
                """,
                [
                    id, user, String(task.title.prefix(500)), sources, PostgresArray(task.keys), deadline, task.score.total, signals, parts,
                    task.score.quadrant.rawValue, related, task.classification,
                ])
            if written.first?.bool("created") == true { outcome.created += 1 }
            outcome.open += 1
        }
        // Open tasks whose work is gone at the source are done; then the ages.
        let closed = try await sql.query(
            """
            UPDATE tasks SET status = 'completed', completed_at = now(), updated_at = now()
            WHERE owner_user = $1 AND status IN ('discovered', 'active') AND NOT (id = ANY($2::text[])) RETURNING id
            """, [user, PostgresArray(Array(seen))])
        outcome.closed = closed.count
        try await sql.query(
            """
            UPDATE tasks SET status = 'archived', archived_at = now() WHERE owner_user = $1 AND status = 'completed'
                AND completed_at < now() - interval '30 days'
            """, [user])
        try await sql.query(
            """
            UPDATE tasks SET status = 'purged', title = '', sources = '[]', source_keys = '{}', related = '[]', signals = '{}'
            WHERE owner_user = $1 AND ((status = 'archived' AND coalesce(completed_at, archived_at) < now() - interval '90 days')
                OR (status IN ('discovered', 'active') AND updated_at < now() - interval '90 days'))
            """, [user])
        return outcome
    }

    /// The elements of a PostgreSQL text array literal (`{a,"b c"}`).
    static func parseArray(_ literal: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in literal.dropFirst().dropLast() {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ",", !quoted {
                out.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty || literal.count > 2 { out.append(current) }
        return out.filter { !$0.isEmpty }
    }
}
