import ArgumentParser
import AuditLog
import Contracts
import Foundation
import Logging
import PostgresClient

/// `Bench audit`: sustained append (one tenant, 100 tenants), "what did user X do in 24 h" over
/// a multi-million-entry table, and verification speed.
struct AuditBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Benchmark the audit log.")

    @Option(help: "PostgreSQL URL as the application role.") var databaseURL: String
    @Option(help: "PostgreSQL URL of the administrator (migrations, table fill).") var adminURL: String
    @Option(help: "Entries appended per append phase.") var entries: Int = 300_000
    @Option(help: "Concurrent appenders (like jobs in flight across a fleet, each recording its events).") var appenders: Int = 1024
    @Option(help: "Events per append call.") var batch: Int = 2
    @Option(help: "Entries in the table for the query phase.") var tableEntries: Int = 5_000_000
    @Option(help: "Queries in the query phase.") var queries: Int = 500

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let admin = try PostgresClient(url: adminURL, size: 2, logger: logger)
        let app = try PostgresClient(url: databaseURL, size: 4, logger: logger)
        try await Migrator(database: admin).migrate()
        let writer = AuditWriter(database: app, maxPending: 50_000, logger: logger)
        let store = AuditStore(database: app)
        let run = String(UInt32.random(in: 0...UInt32.max), radix: 36)

        let single = try TenantID("bench-one-\(run)")
        let oneTenant = try await append(writer: writer, tenants: [single])
        let many = (0..<100).map { try! TenantID("bench-\(run)-\($0)") }
        let manyTenants = try await append(writer: writer, tenants: many)

        // Verification reads settled data: vacuum first so the first read does not also pay for
        // setting hint bits on freshly written pages (which would dominate the time).
        try await admin.query("VACUUM (ANALYZE) audit.entries")
        try await admin.query("CHECKPOINT")
        let verifyStart = ContinuousClock.now
        let report = try await store.verify(tenant: single)
        let verifySeconds = (ContinuousClock.now - verifyStart).seconds
        guard report.isIntact else { throw ValidationError("verify failed: \(report)") }

        let filled = try await fill(admin: admin)
        let latencies = try await queryLatencies(store: store)

        printJSONLine([
            "bench": "audit", "entries_per_phase": entries, "appenders": appenders, "events_per_append": batch,
            "append_per_s_one_tenant": Int(oneTenant), "append_per_s_100_tenants": Int(manyTenants),
            "verify_per_s": Int(Double(report.checked) / verifySeconds), "verified_entries": report.checked, "verify_after_vacuum": true,
            "table_entries": filled, "queries": latencies.count,
            "query_user_day_p50_ms": rounded(percentile(latencies, 50), 2), "query_user_day_p99_ms": rounded(percentile(latencies, 99), 2),
            "query_user_day_max_ms": rounded(latencies.last ?? 0, 2),
        ])
        app.close()
        admin.close()
    }

    /// Appends `entries` events spread over `tenants` from `appenders` concurrent callers;
    /// returns entries per second.
    private func append(writer: AuditWriter, tenants: [TenantID]) async throws -> Double {
        let perAppender = entries / appenders / batch
        let start = ContinuousClock.now
        try await withThrowingDiscardingTaskGroup { group in
            for appender in 0..<appenders {
                group.addTask {
                    for round in 0..<perAppender {
                        let events = (0..<batch).map { index in
                            let tenant = tenants[(appender + round + index) % tenants.count]
                            return AuditEvent(
                                tenant: tenant, userID: "user-\(appender % 50)", actionType: "tool_invocation",
                                actionDetail: #"{"tool":"gmail.read","appender":\#(appender),"round":\#(round)}"#,
                                dataAccessed: [.init(source: "gmail", classification: .internal, purpose: "triage")],
                                policyApplied: "enterprise/actions", policyResult: "allow", policyReason: "allowed", outcome: .success,
                                requestID: "req-\(appender)-\(round)")
                        }
                        try await writer.append(events)
                    }
                }
            }
        }
        return Double(perAppender * appenders * batch) / (ContinuousClock.now - start).seconds
    }

    /// Tops the table up to `tableEntries` rows: 100 tenants x 200 users over 30 days, written
    /// with SQL (hashes are not chained: the query phase does not read them). Reused across runs.
    private func fill(admin: PostgresClient) async throws -> Int {
        let existing = try await admin.query("SELECT count(*) AS n FROM audit.entries WHERE tenant_id LIKE 'fill-%'").first?.int("n") ?? 0
        let missing = tableEntries - existing
        if missing > 0 {
            try await admin.query("SELECT audit.ensure_partition(now() - make_interval(days => d)) FROM generate_series(0, 31) AS d")
            let chunk = 500_000
            var offset = existing
            while offset < tableEntries {
                let count = min(chunk, tableEntries - offset)
                try await admin.query(
                    """
                    INSERT INTO audit.entries (tenant_id, seq, id, event_key, ts, user_id, action_type, action_detail, data_accessed,
                        data_classification, outcome, request_id, prev_hash, hash)
                    SELECT 'fill-' || (g % 100), g, 'fill' || g, 'fill' || g, now() - (g % 2592000) * interval '1 second',
                        'user-' || (g % 20000 / 100), CASE WHEN g % 7 = 0 THEN 'model_call' ELSE 'tool_invocation' END,
                        '{"tool":"gmail.read"}', '[]', 'internal', 'success', 'req-' || g, '\\x00', '\\x00'
                    FROM generate_series($1::bigint, $2::bigint) AS g
                    """, [Int64(offset + 1), Int64(offset + count)])
                offset += count
            }
            try await admin.query("ANALYZE audit.entries")
        }
        return try await admin.query("SELECT count(*) AS n FROM audit.entries").first?.int("n") ?? 0
    }

    /// Latencies (ms, sorted) of "everything user X did in the last 24 hours" for random users.
    private func queryLatencies(store: AuditStore) async throws -> [Double] {
        var latencies: [Double] = []
        let now = AuditEvent.now()
        for _ in 0..<queries {
            let tenant = try TenantID("fill-\(Int.random(in: 0..<100))")
            let user = "user-\(Int.random(in: 0..<200))"
            let start = ContinuousClock.now
            let page = try await store.query(
                tenant: tenant, filter: .init(userID: user, from: now - 86_400_000_000, to: now), limit: 1000)
            latencies.append((ContinuousClock.now - start).seconds * 1000)
            _ = page
        }
        return latencies.sorted()
    }
}

/// `Bench audit-writer`: appends events and prints each acknowledged event key at once (the
/// test that kills a writer mid-stream reads these).
struct AuditWriterLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit-writer", abstract: "Append events, printing each acknowledged key.")

    @Option(help: "PostgreSQL URL as the application role.") var databaseURL: String
    @Option(help: "Tenant id.") var tenant: String
    @Option(help: "Events to append.") var count: Int = 100_000
    @Option(help: "Concurrent appenders.") var concurrency: Int = 32

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let tenant = try TenantID(tenant)
        let app = try PostgresClient(url: databaseURL, size: 2, logger: logger)
        let writer = AuditWriter(database: app, logger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            for appender in 0..<concurrency {
                group.addTask {
                    for index in stride(from: appender, to: count, by: concurrency) {
                        let key = "load-\(index)"
                        try await writer.append(
                            AuditEvent(
                                tenant: tenant, eventKey: key, userID: "u", actionType: "tool_invocation", outcome: .success, requestID: key
                            ))
                        FileHandle.standardOutput.write(Data("\(key)\n".utf8))
                    }
                }
            }
        }
    }
}
