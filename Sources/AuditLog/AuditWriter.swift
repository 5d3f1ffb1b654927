import Contracts
import FleetConcurrency
import Foundation
import Logging
import PostgresClient
import Synchronization

/// Appends audit events, used by every process that audits.
///
/// Concurrent appends are group-committed: one transaction per batch, whatever the number of
/// tenants, in four statements. Each tenant's chain head row is locked (`FOR UPDATE`, in tenant
/// order) while its entries are chained, so writers in several processes never fork a chain.
/// An event whose key was written before (a redelivered job) is skipped. `append` returns only
/// after the commit; while PostgreSQL is slow, at most `maxPending` events wait and further
/// callers wait for room.
public final class AuditWriter: Sendable {
    let database: PostgresClient
    let logger: Logger
    private let commit: GroupCommit<AuditEvent>
    private let knownHeads = Mutex<Set<TenantID>>([])
    private let partitions = Mutex<Set<String>>([])

    public init(database: PostgresClient, maxPending: Int = 20_000, logger: Logger = Logger(label: "audit")) {
        self.database = database
        self.logger = logger
        let box = WriterBox()
        self.commit = GroupCommit(maxPending: maxPending) { events in try await box.writer!.write(events) }
        box.writer = self
    }

    /// Appends `events`; returns once they are committed (or were already there).
    public func append(_ events: [AuditEvent]) async throws {
        try await commit.submit(events)
    }

    /// Appends one event; returns once it is committed.
    public func append(_ event: AuditEvent) async throws {
        try await commit.submit([event])
    }

    // MARK: - One batch

    private func write(_ batch: [AuditEvent]) async throws {
        // Within a batch too, the first event of a key wins.
        var seen = Set<String>()
        var byTenant: [TenantID: [AuditEvent]] = [:]
        for event in batch where seen.insert(event.tenant.rawValue + "\u{0}" + event.eventKey).inserted {
            byTenant[event.tenant, default: []].append(event)
        }
        let tenants = byTenant.keys.sorted()
        try await ensurePartitions(for: batch)
        try await database.transaction { connection in
            let unknown = knownHeads.withLock { known in tenants.filter { !known.contains($0) } }
            if !unknown.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO audit.chain_heads (tenant_id, seq, hash)
                    SELECT t, 0, $2::bytea FROM unnest($1::text[]) AS t ON CONFLICT (tenant_id) DO NOTHING
                    """, [PostgresArray(unknown.map(\.rawValue)), PostgresBytes(AuditChain.genesis)])
            }
            let heads = try await connection.query(
                "SELECT tenant_id, seq, hash FROM audit.chain_heads WHERE tenant_id = ANY($1::text[]) ORDER BY tenant_id FOR UPDATE",
                [PostgresArray(tenants.map(\.rawValue))])
            var head: [String: (seq: Int64, hash: [UInt8])] = [:]
            for row in heads {
                if let tenant = row.string("tenant_id"), let seq = row.int64("seq"), let hash = row.bytes("hash") {
                    head[tenant] = (seq, hash)
                }
            }
            var keyTenants: [String] = []
            var keys: [String] = []
            for tenant in tenants {
                for event in byTenant[tenant]! {
                    keyTenants.append(tenant.rawValue)
                    keys.append(event.eventKey)
                }
            }
            let existing = try await connection.query(
                """
                SELECT k.tenant_id, k.event_key FROM audit.event_keys k
                JOIN unnest($1::text[], $2::text[]) AS u(tenant_id, event_key) USING (tenant_id, event_key)
                """, [PostgresArray(keyTenants), PostgresArray(keys)])
            let written = Set(existing.compactMap { row in row.string("tenant_id").map { $0 + "\u{0}" + (row.string("event_key") ?? "") } })
            var rows = RowArrays()
            var newHeads: [(tenant: String, seq: Int64, hash: [UInt8])] = []
            for tenant in tenants {
                guard var (seq, hash) = head[tenant.rawValue] else {
                    throw PostgresError(.server, operation: "audit append", message: "no chain head for tenant \(tenant)")
                }
                let start = seq
                for event in byTenant[tenant]! where !written.contains(tenant.rawValue + "\u{0}" + event.eventKey) {
                    seq += 1
                    let next = AuditChain.hash(event, seq: seq, prevHash: hash)
                    rows.add(event, seq: seq, prevHash: hash, hash: next)
                    hash = next
                }
                if seq != start { newHeads.append((tenant.rawValue, seq, hash)) }
            }
            if rows.count > 0 { try await insert(rows, heads: newHeads, on: connection) }
        }
        knownHeads.withLock { $0.formUnion(tenants) }
    }

    private func insert(
        _ rows: RowArrays, heads: [(tenant: String, seq: Int64, hash: [UInt8])], on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            WITH keys AS (
                INSERT INTO audit.event_keys (tenant_id, event_key, seq)
                SELECT * FROM unnest($1::text[], $4::text[], $2::bigint[])
            ), entries AS (
                INSERT INTO audit.entries (tenant_id, seq, id, event_key, ts, user_id, action_type, action_detail,
                    data_accessed, model_used, model_tokens, data_classification, policy_applied, policy_result,
                    policy_reason, outcome, request_id, prev_hash, hash)
                SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
                    $7::text[], $8::json[], $9::json[], $10::text[], $11::integer[], $12::text[], $13::text[],
                    $14::text[], $15::text[], $16::text[], $17::text[], $18::bytea[], $19::bytea[])
            )
            UPDATE audit.chain_heads h SET seq = u.seq, hash = u.hash
            FROM unnest($20::text[], $21::bigint[], $22::bytea[]) AS u(tenant_id, seq, hash)
            WHERE h.tenant_id = u.tenant_id
            """,
            rows.parameters + [
                PostgresArray(heads.map(\.tenant)), PostgresArray(heads.map(\.seq)),
                PostgresArray(heads.map { PostgresBytes($0.hash) }),
            ])
    }

    /// Makes sure the month partitions for the batch's timestamps exist (cached per process).
    private func ensurePartitions(for batch: [AuditEvent]) async throws {
        var months: [String: Int64] = [:]
        for event in batch {
            let month = String(PostgresTimestamp(microseconds: event.timestamp).postgresText!.prefix(7))
            months[month] = event.timestamp
        }
        let missing = partitions.withLock { known in months.filter { !known.contains($0.key) } }
        for (month, timestamp) in missing {
            try await database.query("SELECT audit.ensure_partition($1)", [PostgresTimestamp(microseconds: timestamp)])
            partitions.withLock { _ = $0.insert(month) }
        }
    }
}

/// Breaks the init-time cycle between the writer and its group-commit closure.
private final class WriterBox: @unchecked Sendable {
    // @unchecked Sendable: set once in AuditWriter.init before any flush can run.
    var writer: AuditWriter?
}

/// Column arrays for one `unnest` insert.
struct RowArrays {
    var tenant: [String] = []
    var seq: [Int64] = []
    var id: [String] = []
    var key: [String] = []
    var ts: [PostgresTimestamp] = []
    var user: [String] = []
    var action: [String] = []
    var detail: [String] = []
    var data: [String] = []
    var model: [String?] = []
    var tokens: [String?] = []
    var classification: [String] = []
    var policyApplied: [String?] = []
    var policyResult: [String?] = []
    var policyReason: [String?] = []
    var outcome: [String] = []
    var request: [String] = []
    var prevHash: [PostgresBytes] = []
    var hash: [PostgresBytes] = []

    var count: Int { seq.count }

    mutating func add(_ event: AuditEvent, seq: Int64, prevHash: [UInt8], hash: [UInt8]) {
        tenant.append(event.tenant.rawValue)
        self.seq.append(seq)
        id.append(event.id)
        key.append(event.eventKey)
        ts.append(PostgresTimestamp(microseconds: event.timestamp))
        user.append(event.userID)
        action.append(event.actionType)
        detail.append(event.actionDetail)
        data.append(event.dataAccessedJSON)
        model.append(event.modelUsed)
        tokens.append(event.modelTokens.map { String($0) })
        classification.append(event.dataClassification.rawValue)
        policyApplied.append(event.policyApplied)
        policyResult.append(event.policyResult)
        policyReason.append(event.policyReason)
        outcome.append(event.outcome.rawValue)
        request.append(event.requestID)
        self.prevHash.append(PostgresBytes(prevHash))
        self.hash.append(PostgresBytes(hash))
    }

    var parameters: [any PostgresBindable] {
        [
            PostgresArray(tenant), PostgresArray(seq), PostgresArray(id), PostgresArray(key), PostgresArray(ts), PostgresArray(user),
            PostgresArray(action), PostgresArray(detail), PostgresArray(data), PostgresArray(model), PostgresArray(tokens),
            PostgresArray(classification), PostgresArray(policyApplied), PostgresArray(policyResult), PostgresArray(policyReason),
            PostgresArray(outcome), PostgresArray(request), PostgresArray(prevHash), PostgresArray(hash),
        ]
    }
}
