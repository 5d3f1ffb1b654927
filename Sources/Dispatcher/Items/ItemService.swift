import Admission
import AuditLog
import Connectors
import Contracts
import Foundation
import PostgresClient

/// The synced items as the classifier left them (level, findings, message class), an admin's
/// override of an item's level, and the tenant's directory the classifier reads.
struct ItemService: Sendable {
    let tenants: TenantDirectory
    let admission: AdmissionService

    struct Filter {
        var user: String
        var connector: Connector?
        var type: String?
        var level: Classification?
        var messageClass: MessageClass?
        var classified: Bool?
        var limit: Int
        var cursor: ItemCursor?
    }

    /// Where a listing goes on: after this item in the order (newest first).
    struct ItemCursor: Equatable {
        let micros: Int64
        let connector: String
        let sourceID: String

        var text: String {
            Data("\(micros)\n\(connector)\n\(sourceID)".utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }

        init(micros: Int64, connector: String, sourceID: String) {
            self.micros = micros
            self.connector = connector
            self.sourceID = sourceID
        }

        init?(_ text: String) {
            guard let bytes = Base64URL.decode(text) else { return nil }
            let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let micros = Int64(parts[0]), Connector(rawValue: String(parts[1])) != nil,
                parts[2].utf8.count <= 512, !parts[2].unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 })
            else { return nil }
            self.init(micros: micros, connector: String(parts[1]), sourceID: String(parts[2]))
        }
    }

    struct Override: Encodable {
        var level: String
        var reason: String
        var by: String
        var at: String
    }

    struct Item: Encodable {
        var connector: String
        var id: String
        var type: String
        var title: String
        var occurredAt: String?
        var link: String?
        var status: String?
        var classification: String
        var defaultLevel: String
        var classifiedAt: String?
        var findings: JSONValue
        var messageClass: String?
        var classConfidence: Double?
        var classReasons: JSONValue
        var override: Override?

        enum CodingKeys: String, CodingKey {
            case connector, id, type, title, link, status, classification, findings, override
            case occurredAt = "occurred_at"
            case defaultLevel = "default_level"
            case classifiedAt = "classified_at"
            case messageClass = "message_class"
            case classConfidence = "class_confidence"
            case classReasons = "class_reasons"
        }
    }

    struct Page: Encodable {
        var items: [Item]
        var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case items
            case nextCursor = "next_cursor"
        }
    }

    static let columns = """
        connector, source_id, item_type, title, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS occurred,
        (extract(epoch FROM coalesce(occurred_at, 'epoch'::timestamptz)) * 1000000)::bigint AS micros, link, status, classification,
        coalesce(default_level, classification) AS default_level,
        to_char(classified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS classified, findings::text AS findings, message_class,
        class_confidence, class_reasons::text AS reasons, override_level, override_reason, override_by,
        to_char(override_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS overridden
        """

    /// A user's items, newest first, filtered.
    func list(_ identity: Identity, _ filter: Filter) async throws -> Page {
        var conditions = ["user_id = $1"]
        var parameters: [any PostgresBindable] = [filter.user]
        func add(_ condition: String, _ value: any PostgresBindable) {
            parameters.append(value)
            conditions.append(condition.replacingOccurrences(of: "$?", with: "$\(parameters.count)"))
        }
        if let connector = filter.connector { add("connector = $?", connector.rawValue) }
        if let type = filter.type { add("item_type = $?", type) }
        if let level = filter.level { add("classification = $?", level.rawValue) }
        if let messageClass = filter.messageClass { add("message_class = $?", messageClass.rawValue) }
        if let classified = filter.classified { conditions.append(classified ? "classified_at IS NOT NULL" : "classified_at IS NULL") }
        if let cursor = filter.cursor {
            parameters += [cursor.micros, cursor.connector, cursor.sourceID]
            let n = parameters.count
            conditions.append(
                "((extract(epoch FROM coalesce(occurred_at, 'epoch'::timestamptz)) * 1000000)::bigint, connector, source_id) < ($\(n - 2)::bigint, $\(n - 1), $\(n))"
            )
        }
        parameters.append(filter.limit + 1)
        let rows = try await tenants.query(
            identity.tenant,
            """
            SELECT \(Self.columns) FROM items WHERE \(conditions.joined(separator: " AND "))
            ORDER BY (extract(epoch FROM coalesce(occurred_at, 'epoch'::timestamptz)) * 1000000)::bigint DESC, connector DESC, source_id DESC
            LIMIT $\(parameters.count)
            """, parameters)
        var items: [Item] = []
        var next: String?
        for (index, row) in rows.enumerated() {
            if index == filter.limit {
                let last = rows[index - 1]
                next =
                    ItemCursor(
                        micros: last.int64("micros") ?? 0, connector: last.string("connector") ?? "",
                        sourceID: last.string("source_id") ?? ""
                    ).text
                break
            }
            items.append(Self.item(row))
        }
        return Page(items: items, nextCursor: next)
    }

    static func item(_ row: PostgresRow) -> Item {
        func json(_ column: String) -> JSONValue { row.string(column).flatMap { JSONValue.parse(Array($0.utf8)) } ?? .array([]) }
        var override: Override?
        if let level = row.string("override_level") {
            override = Override(
                level: level, reason: row.string("override_reason") ?? "", by: row.string("override_by") ?? "",
                at: row.string("overridden") ?? "")
        }
        return Item(
            connector: row.string("connector") ?? "", id: row.string("source_id") ?? "", type: row.string("item_type") ?? "",
            title: row.string("title") ?? "", occurredAt: row.string("occurred"), link: row.string("link"), status: row.string("status"),
            classification: row.string("classification") ?? "", defaultLevel: row.string("default_level") ?? "",
            classifiedAt: row.string("classified"), findings: json("findings"), messageClass: row.string("message_class"),
            classConfidence: row.double("class_confidence").map { ($0 * 1000).rounded() / 1000 }, classReasons: json("reasons"),
            override: override)
    }

    /// An admin sets an item's level (up or down), with a reason; audited with the level it
    /// had. The classifier keeps it from then on.
    func override(
        _ identity: Identity, user: String, connector: Connector, id: String, level: Classification, reason: String, requestID: String
    ) async throws -> Item {
        guard identity.has(.enterpriseAdmin) else {
            throw FleetError.forbidden("only an enterprise admin may override an item's classification")
        }
        return try await tenants.session(identity.tenant) { sql in
            guard
                let before = try await sql.query(
                    "SELECT classification FROM items WHERE user_id = $1 AND connector = $2 AND source_id = $3 FOR UPDATE",
                    [user, connector.rawValue, id]
                ).first?.string("classification")
            else {
                throw FleetError.notFound("\(user) has no \(connector.rawValue) item \(id.prefix(80))")
            }
            let row = try await sql.query(
                """
                UPDATE items SET classification = $4, override_level = $4, override_reason = $5, override_by = $6, override_at = now()
                WHERE user_id = $1 AND connector = $2 AND source_id = $3 RETURNING \(Self.columns)
                """, [user, connector.rawValue, id, level.rawValue, reason, identity.user])
            try await admission.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "item:\(connector.rawValue):\(user):\(id):override:\(JobID.make())",
                    userID: identity.user, actionType: "item.classification_overridden",
                    actionDetail: JSONText.object([
                        "connector": connector.rawValue, "item": id, "owner": user, "from": before, "to": level.rawValue, "reason": reason,
                    ]),
                    dataClassification: max(level, Classification(rawValue: before) ?? .restricted), outcome: .success,
                    requestID: requestID))
            guard let stored = row.first else { throw FleetError.notFound("\(user) has no \(connector.rawValue) item \(id.prefix(80))") }
            return Self.item(stored)
        }
    }

    struct DirectoryDocument: Encodable {
        struct Person: Encodable {
            var email: String
            var name: String
        }

        var internalDomains: [String]
        var vips: [Person]
        /// The level the classifier gives mail to or from outside the internal domains (none:
        /// such mail keeps its level).
        var externalRecipientsLevel: String?

        enum CodingKeys: String, CodingKey {
            case vips
            case internalDomains = "internal_domains"
            case externalRecipientsLevel = "external_recipients_level"
        }
    }

    /// The tenant's directory (enterprise admins).
    func directory(_ identity: Identity) async throws -> DirectoryDocument {
        guard identity.has(.enterpriseAdmin) else { throw FleetError.forbidden("only an enterprise admin may read the directory") }
        let rows = try await tenants.query(
            identity.tenant,
            """
            SELECT entry_type, value, name FROM directory_entries
            UNION ALL SELECT 'setting', value, name FROM directory_settings WHERE name = 'external_recipients_level'
            ORDER BY 2
            """, [])
        var document = DirectoryDocument(internalDomains: [], vips: [])
        for row in rows {
            let value = row.string("value") ?? ""
            switch row.string("entry_type") {
            case "internal_domain": document.internalDomains.append(value)
            case "vip": document.vips.append(.init(email: value, name: row.string("name") ?? ""))
            default: document.externalRecipientsLevel = value
            }
        }
        return document
    }

    /// Replaces the tenant's directory (enterprise admins); audited.
    func replaceDirectory(
        _ identity: Identity, domains: [String], vips: [(email: String, name: String)], externalLevel: Classification?,
        requestID: String
    ) async throws -> DirectoryDocument {
        guard identity.has(.enterpriseAdmin) else { throw FleetError.forbidden("only an enterprise admin may change the directory") }
        try await tenants.session(identity.tenant) { sql in
            try await sql.query("DELETE FROM directory_entries")
            try await sql.query("DELETE FROM directory_settings WHERE name = 'external_recipients_level'")
            if let externalLevel {
                try await sql.query(
                    "INSERT INTO directory_settings (name, value, updated_by) VALUES ('external_recipients_level', $1, $2)",
                    [externalLevel.rawValue, identity.user])
            }
            let entries = domains.map { ("internal_domain", $0, "") } + vips.map { ("vip", $0.email, $0.name) }
            if !entries.isEmpty {
                try await sql.query(
                    """
                    INSERT INTO directory_entries (entry_type, value, name, updated_by)
                    SELECT t, v, n, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS x(t, v, n)
                    """,
                    [
                        PostgresArray(entries.map(\.0)), PostgresArray(entries.map(\.1)), PostgresArray(entries.map(\.2)),
                        identity.user,
                    ])
            }
            try await admission.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "directory:updated:\(JobID.make())", userID: identity.user,
                    actionType: "directory.updated",
                    actionDetail: JSONText.object([
                        "internal_domains": "\(domains.count)", "vips": "\(vips.count)",
                        "external_recipients_level": externalLevel?.rawValue ?? "none",
                    ]), outcome: .success,
                    requestID: requestID))
        }
        return try await directory(identity)
    }
}
