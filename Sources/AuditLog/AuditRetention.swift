import Contracts
import Crypto
import Foundation
import PostgresClient

/// Retention of the audit log by month partition. A month may be dropped only when it is older
/// than the retention period (at least a year) and was archived first: exported to a file,
/// the file verified, and its digest recorded.
public struct AuditRetention: Sendable {
    /// Needs the administrator (owner) connection.
    let database: PostgresClient
    /// Months kept in the database; never less than 12.
    public let retentionMonths: Int

    public init(database: PostgresClient, retentionMonths: Int) throws(FleetError) {
        guard retentionMonths >= 12 else {
            throw FleetError(.invalidConfiguration, "audit retention must be at least 12 months (got \(retentionMonths))")
        }
        self.database = database
        self.retentionMonths = retentionMonths
    }

    /// A month partition and what is known about it.
    public struct Partition: Sendable, Equatable {
        /// `YYYY-MM`.
        public var month: String
        public var entries: Int64
        public var archivedFile: String?
        public var archivedEntries: Int64?
    }

    /// The month partitions, oldest first.
    public func partitions() async throws -> [Partition] {
        let rows = try await database.query(
            """
            SELECT to_char(to_date(substring(c.relname FROM 9), 'YYYY_MM'), 'YYYY-MM') AS month, c.reltuples::bigint AS estimate,
                   a.file, a.entries
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            LEFT JOIN audit.archives a ON a.month = to_date(substring(c.relname FROM 9), 'YYYY_MM')
            WHERE i.inhparent = 'audit.entries'::regclass ORDER BY c.relname
            """)
        var out: [Partition] = []
        for row in rows {
            guard let month = row.string("month") else { continue }
            out.append(
                Partition(
                    month: month, entries: try await count(month: month), archivedFile: row.string("file"),
                    archivedEntries: row.int64("entries")))
        }
        return out
    }

    /// Entries in `month` (`YYYY-MM`).
    public func count(month: String) async throws -> Int64 {
        let (from, to) = try Self.bounds(month)
        let rows = try await database.query(
            "SELECT count(*) AS n FROM audit.entries WHERE ts >= $1 AND ts < $2",
            [PostgresTimestamp(microseconds: from), PostgresTimestamp(microseconds: to)])
        return rows.first?.int64("n") ?? 0
    }

    /// Exports every tenant's entries of `month` to `directory/audit-YYYY-MM.jsonl`, verifies
    /// the file (each tenant's range must link to the entry before it in the database), and
    /// records the archive. Returns the file and the number of entries.
    public func archive(month: String, directory: URL) async throws -> (file: URL, entries: Int) {
        let (from, to) = try Self.bounds(month)
        let store = AuditStore(database: database)
        let file = directory.appendingPathComponent("audit-\(month).jsonl")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw FleetError(.invalidConfiguration, "cannot create \(file.path): check the directory's permissions")
        }
        let handle = try FileHandle(forWritingTo: file)
        var total = 0
        for tenant in try await store.tenants() {
            total += try await AuditExport.export(store: store, tenant: tenant, from: from, to: to, format: .jsonl) { text in
                try handle.write(contentsOf: Data(text.utf8))
            }
        }
        try handle.close()
        let contents = try Data(contentsOf: file)
        let text = String(decoding: contents, as: UTF8.self)
        for report in try AuditExport.verify(jsonLines: text) {
            if let problem = report.problem {
                throw FleetError(
                    .auditIntegrity,
                    "archive of \(month) does not verify for tenant \(report.tenant): seq \(problem.seq): \(problem.reason)")
            }
            // The range must continue the chain stored before it.
            guard let first = report.firstSeq, first > 1 else { continue }
            let before = try await store.chain(tenant: report.tenant, afterSeq: first - 2, limit: 1)
            let marker = "\"tenant_id\":\"\(report.tenant.rawValue)\""
            if let previous = before.first, previous.seq == first - 1,
                let line = text.split(separator: "\n").first(where: { $0.contains(marker) }),
                try AuditExport.record(jsonLine: line).prevHash != previous.hash
            {
                throw FleetError(.auditIntegrity, "archive of \(month) does not link to tenant \(report.tenant)'s entry \(previous.seq)")
            }
        }
        let digest = Hex.encode(Array(SHA256.hash(data: contents)))
        try await database.query(
            """
            INSERT INTO audit.archives (month, entries, file, sha256) VALUES ($1::date, $2, $3, $4)
            ON CONFLICT (month) DO UPDATE SET entries = EXCLUDED.entries, file = EXCLUDED.file, sha256 = EXCLUDED.sha256,
                archived_at = now()
            """, [month + "-01", total, file.path, digest])
        return (file, total)
    }

    /// Drops the partition of `month`, refusing unless it is past retention, was archived with
    /// the same number of entries it holds now, and the archive file still has its digest.
    public func detach(month: String, now: Date = Date()) async throws {
        let (_, to) = try Self.bounds(month)
        let cutoff = Calendar(identifier: .gregorian).date(byAdding: .month, value: -retentionMonths, to: now) ?? now
        guard Double(to) / 1_000_000 <= cutoff.timeIntervalSince1970 else {
            throw FleetError(.conflict, "refusing to drop \(month): it is within the \(retentionMonths)-month retention period")
        }
        let rows = try await database.query("SELECT entries, file, sha256 FROM audit.archives WHERE month = $1::date", [month + "-01"])
        guard let row = rows.first, let archived = row.int64("entries"), let path = row.string("file"), let digest = row.string("sha256")
        else {
            throw FleetError(.conflict, "refusing to drop \(month): it was not archived; run `audit archive --month \(month)` first")
        }
        let current = try await count(month: month)
        guard current == archived else {
            throw FleetError(
                .conflict, "refusing to drop \(month): it holds \(current) entries but the archive has \(archived); archive it again")
        }
        guard let contents = FileManager.default.contents(atPath: path), Hex.encode(Array(SHA256.hash(data: contents))) == digest else {
            throw FleetError(.conflict, "refusing to drop \(month): the archive file \(path) is missing or changed since it was verified")
        }
        try await database.transaction { connection in
            try await connection.query("SET LOCAL ROLE openclaw_owner")
            try await connection.query("SELECT audit.drop_partition($1::date)", [month + "-01"])
        }
    }

    /// Microseconds bounds of `YYYY-MM` (UTC).
    static func bounds(_ month: String) throws(FleetError) -> (Int64, Int64) {
        let parts = month.split(separator: "-")
        guard parts.count == 2, let year = Int(parts[0]), let number = Int(parts[1]), (1...12).contains(number), year > 1970 else {
            throw FleetError(.invalidConfiguration, "month '\(month)' is not of the form YYYY-MM")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: DateComponents(year: year, month: number, day: 1))!
        let end = calendar.date(byAdding: .month, value: 1, to: start)!
        return (Int64(start.timeIntervalSince1970 * 1_000_000), Int64(end.timeIntervalSince1970 * 1_000_000))
    }
}
