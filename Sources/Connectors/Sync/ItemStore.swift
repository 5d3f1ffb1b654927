import Contracts
import Foundation
import PostgresClient

/// A tenant's synced items and sync cursors (`items`, `sync_cursors`).
public enum ItemStore {
    /// What applying a page changed (an item seen again unchanged by an incremental pass is not
    /// rewritten nor counted).
    public struct Applied: Sendable, Equatable {
        public var upserted = 0
        public var deleted = 0
        /// Upserted items now waiting for the classifier (new, or their content changed).
        public var unclassified = 0

        public init() {}
    }

    /// The levels in order, as an SQL array (a level's rank is its position).
    public static let levels = "ARRAY['public', 'internal', 'confidential', 'restricted']"

    /// Applies a page's changes and stores the cursor after it (call inside one transaction:
    /// a page is in the records exactly when its cursor is). At the end of a full pass, items
    /// the pass did not see are deleted (they no longer exist for the user).
    public static func apply(
        _ page: SyncPage, _ sql: any PostgresQuerying, user: String, connector: Connector, fullPassEnded: Bool
    ) async throws
        -> Applied
    {
        var applied = Applied()
        let upserts = page.changes.compactMap { change -> SyncedItem? in if case .upsert(let item) = change { item } else { nil } }
        let deletes = page.changes.compactMap { change -> String? in if case .delete(let id) = change { id } else { nil } }
        if !upserts.isEmpty {
            // Within a page the last change of an item wins.
            var latest: [String: SyncedItem] = [:]
            var order: [String] = []
            for item in upserts {
                if latest[item.sourceID] == nil { order.append(item.sourceID) }
                latest[item.sourceID] = item
            }
            let items = order.map { latest[$0]! }
            func json(_ value: [String: JSONValue]) -> String? { String(decoding: JSONValue.object(value).canonicalBytes, as: UTF8.self) }
            // A changed item keeps its level until the classifier looks at it again (only a
            // higher connector default raises it at once); an admin's override stays. Its content
            // changed when its title, people, details (but labels) or last update did.
            let rows = try await sql.query(
                """
                INSERT INTO items (user_id, connector, source_id, item_type, title, people, occurred_at, updated_at, link, status, details,
                    classification, default_level, generation, synced_at)
                SELECT $1, $2, s, t, ti, p::jsonb, o, u, l, st, d::jsonb, c, c, $13, now()
                FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[],
                    $11::text[], $12::text[]) AS x(s, t, ti, p, o, u, l, st, d, c)
                ON CONFLICT (user_id, connector, source_id) DO UPDATE SET item_type = excluded.item_type, title = excluded.title,
                    people = excluded.people, occurred_at = excluded.occurred_at, updated_at = excluded.updated_at, link = excluded.link,
                    status = excluded.status, details = excluded.details, default_level = excluded.default_level,
                    classification = CASE
                        WHEN items.override_level IS NOT NULL THEN items.override_level
                        WHEN array_position(\(levels), excluded.classification) > array_position(\(levels), items.classification)
                            THEN excluded.classification
                        ELSE items.classification END,
                    classified_at = CASE
                        WHEN (items.title, items.people, items.details - 'labels', items.default_level, items.updated_at)
                            IS DISTINCT FROM (excluded.title, excluded.people, excluded.details - 'labels', excluded.default_level,
                                excluded.updated_at)
                            THEN NULL
                        ELSE items.classified_at END,
                    generation = excluded.generation, synced_at = now()
                WHERE items.generation <> excluded.generation
                    OR (items.item_type, items.title, items.people, items.occurred_at, items.updated_at, items.link, items.status,
                        items.details, items.default_level)
                    IS DISTINCT FROM (excluded.item_type, excluded.title, excluded.people, excluded.occurred_at, excluded.updated_at,
                        excluded.link, excluded.status, excluded.details, excluded.default_level)
                RETURNING classified_at IS NULL AS unclassified
                """,
                [
                    user, connector.rawValue, PostgresArray(items.map(\.sourceID)), PostgresArray(items.map(\.type)),
                    PostgresArray(items.map(\.title)), PostgresArray(items.map { json($0.people) }),
                    PostgresArray(items.map { $0.occurredAt.map { PostgresTimestamp($0).postgresText } ?? nil }),
                    PostgresArray(items.map { $0.updatedAt.map { PostgresTimestamp($0).postgresText } ?? nil }),
                    PostgresArray(items.map(\.link)), PostgresArray(items.map(\.status)), PostgresArray(items.map { json($0.details) }),
                    PostgresArray(items.map(\.classification.rawValue)), page.cursor.generation,
                ]
            )
            applied.upserted = rows.count
            applied.unclassified = rows.filter { $0.bool("unclassified") == true }.count
        }
        if !deletes.isEmpty {
            applied.deleted = try await sql.query(
                "DELETE FROM items WHERE user_id = $1 AND connector = $2 AND source_id = ANY($3::text[])",
                [user, connector.rawValue, PostgresArray(deletes)]
            ).affected
        }
        if fullPassEnded {
            applied.deleted += try await sql.query(
                "DELETE FROM items WHERE user_id = $1 AND connector = $2 AND generation < $3",
                [user, connector.rawValue, page.cursor.generation]
            ).affected
        }
        let cursor = String(decoding: try JSONEncoder().encode(page.cursor), as: UTF8.self)
        try await sql.query(
            """
            INSERT INTO sync_cursors (user_id, connector, cursor, generation, updated_at) VALUES ($1, $2, $3::jsonb, $4, now())
            ON CONFLICT (user_id, connector) DO UPDATE SET cursor = $3::jsonb, generation = $4, updated_at = now()
            """, [user, connector.rawValue, cursor, page.cursor.generation])
        return applied
    }
}
