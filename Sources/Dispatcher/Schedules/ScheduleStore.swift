import AuditLog
import Contracts
import Foundation
import PostgresClient

/// Schedules in the tenant's `schedules` table: a cron expression, an IANA time zone and the
/// job to submit (with its creator, on whose behalf it fires).
struct ScheduleStore: Sendable {
    let tenants: TenantDirectory

    /// Inserts a schedule and runs `audit` in the same transaction.
    func insert(
        tenant: TenantID, id: String, cron: String, timeZone: String, template: JSONValue, createdBy: String, next: Date,
        audit: @Sendable () async throws -> Void
    ) async throws {
        try await tenants.session(tenant) { connection in
            try await connection.query(
                "INSERT INTO schedules (id, cron, time_zone, template, created_by, next_fire_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
                [id, cron, timeZone, String(decoding: template.canonicalData, as: UTF8.self), createdBy, PostgresTimestamp(next)])
            try await audit()
        }
    }

    /// Active schedules, all of the tenant's or `user`'s own.
    func list(tenant: TenantID, all: Bool, user: String) async throws -> [ScheduleRecord] {
        try await tenants.session(tenant) { connection in
            try await connection.query(
                "SELECT \(Self.columns) FROM schedules WHERE active AND ($1::boolean OR created_by = $2) ORDER BY created_at", [all, user])
        }.map(ScheduleRecord.init(row:))
    }

    func read(tenant: TenantID, id: String) async throws -> ScheduleRecord? {
        try await tenants.session(tenant) { connection in
            try await connection.query("SELECT \(Self.columns) FROM schedules WHERE id = $1", [id]).first.map(ScheduleRecord.init(row:))
        }
    }

    /// Deactivates a schedule (all of the tenant's may be, or only `user`'s own) and runs `audit`
    /// in the same transaction; false when there was none to deactivate.
    func deactivate(tenant: TenantID, id: String, all: Bool, user: String, audit: @Sendable () async throws -> Void) async throws -> Bool {
        try await tenants.session(tenant) { connection in
            let removed = try await connection.query(
                "UPDATE schedules SET active = false WHERE id = $1 AND active AND ($2::boolean OR created_by = $3) RETURNING id",
                [id, all, user]
            ).first
            if removed != nil { try await audit() }
            return removed != nil
        }
    }

    /// The schedule due to fire, locked in `connection`'s transaction.
    struct Due {
        let cron: String
        let timeZone: String
        let template: [String: JSONValue]
        /// The occurrence due (ms).
        let occurrence: Int64
    }

    func lockDue(_ connection: PostgresConnection, id: String) async throws -> Due? {
        guard
            let row = try await connection.query(
                """
                SELECT cron, time_zone, template::text AS template, (extract(epoch FROM next_fire_at) * 1000)::bigint AS next_ms
                FROM schedules WHERE id = $1 AND active FOR UPDATE
                """, [id]
            ).first,
            let occurrence = row.int64("next_ms"),
            let template = row.string("template").flatMap({ JSONValue.parse(Data($0.utf8))?.objectValue })
        else { return nil }
        return Due(cron: row.string("cron") ?? "", timeZone: row.string("time_zone") ?? "", template: template, occurrence: occurrence)
    }

    func markFired(_ connection: PostgresConnection, id: String, occurrence: Int64, next: Date?) async throws {
        try await connection.query(
            "UPDATE schedules SET next_fire_at = $2, last_fired_at = $3 WHERE id = $1",
            [id, next.map { PostgresTimestamp($0) }, PostgresTimestamp(microseconds: occurrence * 1000)])
    }

    /// Active schedules with their next firing time (ms), for restoring the index.
    static let activeIndexQuery = """
        SELECT id, (extract(epoch FROM next_fire_at) * 1000)::bigint AS at_ms FROM schedules
        WHERE active AND next_fire_at IS NOT NULL
        """

    static let columns = """
        id, cron, time_zone, template::text AS template, created_by, active,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
        to_char(next_fire_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS next_fire_at,
        to_char(last_fired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_fired_at
        """
}

/// A schedule as the API shows it.
struct ScheduleRecord: Encodable, Sendable {
    var id: String
    var cron: String
    var timeZone: String
    var createdBy: String
    var createdAt: String
    var active: Bool
    var nextFireAt: String?
    var lastFiredAt: String?
    /// The job it submits (kind, action, classification, payload).
    var job: [String: JSONValue]?

    enum CodingKeys: String, CodingKey {
        case id, cron, active, job
        case timeZone = "time_zone"
        case createdBy = "created_by"
        case createdAt = "created_at"
        case nextFireAt = "next_fire_at"
        case lastFiredAt = "last_fired_at"
    }

    init(row: PostgresRow) {
        id = row.string("id") ?? ""
        cron = row.string("cron") ?? ""
        timeZone = row.string("time_zone") ?? ""
        createdBy = row.string("created_by") ?? ""
        createdAt = row.string("created_at") ?? ""
        active = row.bool("active") ?? false
        nextFireAt = row.string("next_fire_at")
        lastFiredAt = row.string("last_fired_at")
        job = row.string("template").flatMap { JSONValue.parse(Data($0.utf8))?.objectValue }?.filter {
            ["kind", "action", "classification", "payload"].contains($0.key)
        }
    }
}
