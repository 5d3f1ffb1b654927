import Contracts
import Crypto
import Foundation
import PostgresClient

/// The read side of the audit log: queries, chain reads and verification. Every read names
/// its tenant; nothing here can return another tenant's entries.
public struct AuditStore: Sendable {
    let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// Filters for `query`. All are optional; the tenant is not.
    public struct Filter: Sendable, Equatable {
        public var userID: String?
        public var actionType: String?
        public var outcome: AuditEvent.Outcome?
        public var classification: Classification?
        public var requestID: String?
        /// Microseconds since the epoch, inclusive.
        public var from: Int64?
        /// Microseconds since the epoch, exclusive.
        public var to: Int64?

        public init(
            userID: String? = nil, actionType: String? = nil, outcome: AuditEvent.Outcome? = nil,
            classification: Classification? = nil, requestID: String? = nil, from: Int64? = nil, to: Int64? = nil
        ) {
            self.userID = userID
            self.actionType = actionType
            self.outcome = outcome
            self.classification = classification
            self.requestID = requestID
            self.from = from
            self.to = to
        }
    }

    /// A page of results, newest first, and the cursor for the next page (nil at the end).
    public struct Page: Sendable {
        public var records: [AuditRecord]
        public var nextCursor: String?
    }

    static let columns = """
        seq, id, event_key, round(date_part('epoch', ts) * 1000000)::bigint AS ts_us, user_id, action_type,
        action_detail::text AS action_detail, data_accessed::text AS data_accessed, model_used, model_tokens,
        data_classification, policy_applied, policy_result, policy_reason, outcome, request_id, prev_hash, hash
        """

    /// The times (seconds since the epoch) a query may name: 1970 to the end of 9999.
    public static let timeRange: ClosedRange<Double> = 0...253_402_300_799

    /// Entries of `tenant` matching `filter`, newest first, `limit` at a time. `cursor` is the
    /// previous page's `nextCursor` (keyset pagination: stable while entries are appended).
    public func query(tenant: TenantID, filter: Filter = .init(), limit: Int = 100, cursor: String? = nil) async throws -> Page {
        var after: (ts: Int64, seq: Int64)?
        if let cursor {
            let parts = cursor.split(separator: ".")
            guard parts.count == 2, let ts = Int64(parts[0]), let seq = Int64(parts[1]), seq >= 0,
                (0...Int64(Self.timeRange.upperBound) * 1_000_000).contains(ts)
            else {
                throw FleetError(.invalidRequest, "malformed cursor '\(cursor.prefix(40))': pass the nextCursor of the previous page")
            }
            after = (ts, seq)
        }
        let limit = max(1, min(limit, 1000))
        let rows = try await database.query(
            """
            SELECT \(Self.columns) FROM audit.entries
            WHERE tenant_id = $1
              AND ($2::text IS NULL OR user_id = $2)
              AND ($3::text IS NULL OR action_type = $3)
              AND ($4::text IS NULL OR outcome = $4)
              AND ($5::text IS NULL OR data_classification = $5)
              AND ($6::text IS NULL OR request_id = $6)
              AND ($7::timestamptz IS NULL OR ts >= $7)
              AND ($8::timestamptz IS NULL OR ts < $8)
              AND ($9::timestamptz IS NULL OR (ts, seq) < ($9, $10::bigint))
            ORDER BY ts DESC, seq DESC
            LIMIT $11
            """,
            [
                tenant.rawValue, filter.userID, filter.actionType, filter.outcome?.rawValue, filter.classification?.rawValue,
                filter.requestID, filter.from.map { PostgresTimestamp(microseconds: $0) },
                filter.to.map { PostgresTimestamp(microseconds: $0) }, after.map { PostgresTimestamp(microseconds: $0.ts) },
                after?.seq, limit + 1,
            ])
        var records = try rows.map { try Self.record($0, tenant: tenant) }
        var next: String?
        if records.count > limit {
            records.removeLast()
            if let last = records.last { next = "\(last.event.timestamp).\(last.seq)" }
        }
        return Page(records: records, nextCursor: next)
    }

    /// Entries of `tenant` in chain order with seq greater than `afterSeq`, optionally within a
    /// time range, `limit` at a time.
    public func chain(
        tenant: TenantID, afterSeq: Int64, from: Int64? = nil, to: Int64? = nil, limit: Int = 10_000
    ) async throws
        -> [AuditRecord]
    {
        let rows = try await database.query(
            """
            SELECT \(Self.columns) FROM audit.entries
            WHERE tenant_id = $1 AND seq > $2
              AND ($3::timestamptz IS NULL OR ts >= $3) AND ($4::timestamptz IS NULL OR ts < $4)
            ORDER BY seq LIMIT $5
            """,
            [
                tenant.rawValue, afterSeq, from.map { PostgresTimestamp(microseconds: $0) },
                to.map { PostgresTimestamp(microseconds: $0) }, limit,
            ])
        return try rows.map { try Self.record($0, tenant: tenant) }
    }

    /// The stored head of `tenant`'s chain (seq 0 and genesis when it has no entries).
    public func head(tenant: TenantID) async throws -> (seq: Int64, hash: [UInt8]) {
        let rows = try await database.query("SELECT seq, hash FROM audit.chain_heads WHERE tenant_id = $1", [tenant.rawValue])
        guard let row = rows.first, let seq = row.int64("seq"), let hash = row.bytes("hash") else { return (0, AuditChain.genesis) }
        return (seq, hash)
    }

    /// Tenants that have a chain.
    public func tenants() async throws -> [TenantID] {
        try await database.query("SELECT tenant_id FROM audit.chain_heads ORDER BY tenant_id").compactMap {
            $0.string("tenant_id").flatMap { try? TenantID($0) }
        }
    }

    /// Recomputes `tenant`'s whole chain and names the first broken entry. With a checkpoint,
    /// also checks that the chain still reaches it with the same hash (catching truncation or a
    /// consistent rewrite by someone able to bypass the application).
    public func verify(tenant: TenantID, checkpoint: AuditCheckpoint? = nil) async throws -> AuditChain.Report {
        var verifier = AuditChain.Verifier(tenant: tenant, startSeq: nil, anchor: nil)
        verifier.watchedSeq = checkpoint?.seq
        let firstSeq = try await database.query(
            "SELECT min(seq) AS first FROM audit.entries WHERE tenant_id = $1", [tenant.rawValue]
        ).first?.int64("first")
        // A chain whose oldest months were archived starts later; otherwise it starts at 1.
        let archived = try await !database.query("SELECT 1 FROM audit.archives WHERE detached_at IS NOT NULL LIMIT 1").isEmpty
        if !archived || firstSeq == nil || firstSeq == 1 {
            verifier = AuditChain.Verifier(tenant: tenant)
            verifier.watchedSeq = checkpoint?.seq
        }
        let tenantBytes = Array(tenant.rawValue.utf8)
        let database = self.database
        let chunk = 20_000
        @Sendable func read(after: Int64) async throws -> PostgresRawRows {
            try await database.queryRaw(
                "SELECT \(Self.columns) FROM audit.entries WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                [tenant.rawValue, after, chunk])
        }
        // The next chunk is read while this one is hashed.
        var next = Task { try await read(after: 0) }
        while true {
            let rows = try await next.value
            if rows.count == chunk {
                let last = Self.seq(rows, row: rows.count - 1)
                next = Task { try await read(after: last) }
            }
            var scratch = AuditChain.CanonicalEncoder()
            for row in 0..<rows.count where !Self.check(row, of: rows, tenant: tenantBytes, scratch: &scratch, with: &verifier) {
                if rows.count == chunk { next.cancel() }
                return verifier.report
            }
            if rows.count < chunk { break }
        }
        let head = try await head(tenant: tenant)
        verifier.expectHead(seq: head.seq, hash: head.hash, source: "the stored chain head", isEnd: true)
        if let checkpoint {
            verifier.expectHead(seq: checkpoint.seq, hash: checkpoint.hash, source: "checkpoint")
            var report = verifier.report
            if let last = report.lastSeq, last > checkpoint.seq { report.entriesPastCheckpoint = last - checkpoint.seq }
            if report.problem == nil, let watched = verifier.watchedHash, watched != checkpoint.hash {
                report.problem = .init(
                    seq: checkpoint.seq, entryID: nil,
                    reason: "entry differs from the checkpoint taken at \(checkpoint.createdAt) (rewritten?)")
            }
            return report
        }
        return verifier.report
    }

    /// Checks one raw row (selected with `columns`) without decoding it into Swift values:
    /// verification reads every entry, so it works on the bytes PostgreSQL sent.
    static func check(
        _ row: Int, of rows: PostgresRawRows, tenant: [UInt8], scratch encoder: inout AuditChain.CanonicalEncoder,
        with verifier: inout AuditChain.Verifier
    ) -> Bool {
        encoder.reset()
        tenant.withUnsafeBytes { encoder.put($0) }
        for column in 0...15 { rows.withField(row, column) { encoder.put($0) } }
        let seq = seq(rows, row: row)
        let prevHash = rows.withField(row, 16) { $0.flatMap { Hex.decode(bytes: $0) } } ?? []
        let hash = rows.withField(row, 17) { $0.flatMap { Hex.decode(bytes: $0) } } ?? []
        var hasher = SHA256()
        hasher.update(data: prevHash)
        hasher.update(data: encoder.bytes)
        return verifier.check(
            seq: seq, entryID: rows.string(row, 1) ?? "", prevHash: prevHash, hash: hash, computed: Array(hasher.finalize()))
    }

    /// The seq (column 0) of a raw row.
    static func seq(_ rows: PostgresRawRows, row: Int) -> Int64 {
        rows.withField(row, 0) { field in field.map { $0.reduce(Int64(0)) { $0 &* 10 &+ Int64($1 &- 48) } } } ?? -1
    }

    /// Decodes a row selected with `columns` (positional: this runs for every verified entry).
    static func record(_ row: PostgresRow, tenant: TenantID) throws -> AuditRecord {
        let values = row.values
        guard values.count == 18, let seq = values[0].flatMap({ Int64($0) }), let id = values[1],
            let timestamp = values[3].flatMap({ Int64($0) }), let prevHash = values[16].flatMap({ Hex.decode($0) }),
            let hash = values[17].flatMap({ Hex.decode($0) })
        else { throw FleetError(.databaseError, "malformed audit row") }
        var event = AuditEvent(
            id: id, tenant: tenant, eventKey: values[2], userID: values[4] ?? "", timestamp: timestamp, actionType: values[5] ?? "",
            actionDetail: values[6] ?? "{}", modelUsed: values[8], modelTokens: values[9].flatMap { Int($0) },
            dataClassification: Classification(parsing: values[10]), policyApplied: values[11], policyResult: values[12],
            policyReason: values[13], outcome: AuditEvent.Outcome(rawValue: values[14] ?? "") ?? .error, requestID: values[15] ?? "")
        event.dataAccessedJSON = values[7] ?? "[]"
        return AuditRecord(event: event, seq: seq, prevHash: prevHash, hash: hash)
    }
}
