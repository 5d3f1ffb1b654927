import ArgumentParser
import AuditLog
import Connectors
import Contracts
import Foundation
import JobQueue
import Logging
import OutboundHTTP
import Policy
import PostgresClient
import RedisClient
import Settings

/// `Bench sync`: connector syncs by `Workers` processes against the fake providers at bench
/// scale (one 50,000-message mailbox, 1,000 users): a full Gmail sync of the big mailbox, full
/// syncs of every user's Gmail and Jira, then an incremental pass over the idle users, and the
/// workers' peak memory. The providers' URLs, clients and the secrets key come from the
/// environment (`OC_*`), as the workers read them.
struct SyncBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "Benchmark connector syncs against the fakes.")

    @OptionGroup var fleet: FleetBenchOptions
    @Option(help: "Users to connect (the fakes' first users; the first has the big mailbox).") var users: Int = 1000
    @Flag(inversion: .prefixedNo, help: "Sync the big mailbox (off: the idle-users phases only, for profiling).") var bigMailbox = true

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let bench = try await ConnectorBenchTenant.make(
            named: "sync", options: fleet, logger: logger)
        let (settings, secrets, redis, queue) = (bench.settings, bench.secrets, bench.redis, bench.queue)
        let (tenant, directory) = (bench.tenant, bench.directory)

        // Connect every user's Gmail and Jira the way a consent ends.
        let fakes = BenchFakes(controlURL: fleet.controlURL)
        let addresses = Array(try await fakes.users().prefix(users))
        say("connecting \(addresses.count) users' gmail and jira")
        try await fakes.connect(addresses, [.gmail, .jira], tenant: tenant, directory: directory, secrets: secrets, settings: settings)

        let processes = try fleet.spawnWorkers(kinds: "connector-sync", tenant: tenant)
        defer {
            for process in processes where process.isRunning { process.terminate() }
        }
        func syncs(_ connector: Connector, _ indices: Range<Int>) async throws -> Double {
            let jobs = indices.map { index in
                JobEnvelope(
                    tenant: tenant, kind: .connectorSync, action: connector.readAction,
                    payload: Array(#"{"connector":"\#(connector.rawValue)"}"#.utf8), requester: Requester(user: "u\(index)"))
            }
            let start = ContinuousClock.now
            for chunk in stride(from: 0, to: jobs.count, by: 500) {
                _ = try await queue.enqueue(Array(jobs[chunk..<min(chunk + 500, jobs.count)]))
            }
            // Jobs finish roughly in the order queued: each is asked about once it is done and the
            // front one while it is not, so the watching takes little of the cores it measures.
            var next = 0
            while next < jobs.count {
                let id = jobs[next].id
                let state = try await queue.status(tenant: tenant, id: id)?.state
                if state == .dead || state == .failed { throw ValidationError("sync job \(id) ended \(String(describing: state))") }
                if state == .succeeded {
                    next += 1
                } else {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            return (ContinuousClock.now - start).seconds
        }
        func itemCount(_ connector: Connector, user: String? = nil) async throws -> Int {
            try await directory.session(tenant) { sql in
                let rows = try await sql.query(
                    "SELECT count(*) AS n FROM items WHERE connector = $1 AND ($2::text IS NULL OR user_id = $2)",
                    [connector.rawValue, user])
                return rows.first?.int("n") ?? 0
            }
        }

        var bigSeconds = 0.0
        var bigItems = 0
        if bigMailbox {
            say("full gmail sync of the big mailbox")
            bigSeconds = try await syncs(.gmail, 0..<1)
            bigItems = try await itemCount(.gmail, user: "u0")
        }
        say("full gmail syncs of the other \(addresses.count - 1) users")
        let restSeconds = try await syncs(.gmail, 1..<addresses.count)
        say("full jira syncs of \(addresses.count) users")
        let jiraSeconds = try await syncs(.jira, 0..<addresses.count)
        let jiraItems = try await itemCount(.jira)
        say("incremental gmail syncs of \(addresses.count) idle users")
        let idle = (bigMailbox ? 0 : 1)..<addresses.count
        let idleSeconds = try await syncs(.gmail, idle)
        let peaks = processes.map { peakRSS($0.processIdentifier) }
        for process in processes { process.terminate() }
        for process in processes { process.waitUntilExit() }
        printJSONLine([
            "bench": "sync", "workers": fleet.workers, "concurrency": fleet.concurrency, "users": addresses.count,
            "gmail_full_sync_items": bigItems, "gmail_full_sync_seconds": rounded(bigSeconds, 2),
            "gmail_full_sync_items_per_s": bigSeconds > 0 ? Int(Double(bigItems) / bigSeconds) : 0,
            "gmail_small_full_syncs_users_per_s": Int(Double(addresses.count - 1) / restSeconds),
            "jira_full_sync_items": jiraItems, "jira_full_sync_items_per_s": Int(Double(jiraItems) / jiraSeconds),
            "jira_full_sync_users_per_s": Int(Double(addresses.count) / jiraSeconds),
            "incremental_idle_users_per_s": Int(Double(idle.count) / idleSeconds),
            "worker_peak_rss_mb": peaks.max() ?? 0, "worker_peak_rss_mb_each": peaks,
        ])
        redis.close()
    }

    private func say(_ text: String) { FileHandle.standardError.write(Data("[bench sync] \(text)\n".utf8)) }
}
