import ArgumentParser
import AuditLog
import Connectors
import Contracts
import Foundation
import JobQueue
import Logging
import Policy
import PostgresClient
import RedisClient
import Settings

/// `Bench briefing`: daily briefings by `Workers` processes for 1,000 users with 200 synced
/// items each (mail, tickets, pull requests, meetings, with the tasks discovery keeps of them
/// and the auto-responder's replies), each user's Calendar and Gmail connected at the fakes
/// (every briefing asks the calendar's free/busy). Two phases: every user's briefing queued at
/// once (`briefings_per_s`, and each one's run from start to stored under that burst), then
/// briefings offered at a steady rate (`briefing_p50_ms`/`_p99_ms`: from submission to stored).
struct BriefingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "briefing", abstract: "Benchmark daily briefings against the fakes.")

    @OptionGroup var fleet: FleetBenchOptions
    @Option(help: "Users.") var users: Int = 1000
    @Option(help: "Synced items per user.") var items: Int = 200
    @Option(help: "Briefings offered per second in the latency phase.") var rate: Int = 100

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let bench = try await ConnectorBenchTenant.make(
            named: "brief", options: fleet, logger: logger)
        let (settings, secrets, redis, queue, admin) = (bench.settings, bench.secrets, bench.redis, bench.queue, bench.admin)
        let (tenant, directory) = (bench.tenant, bench.directory)

        let fakes = BenchFakes(controlURL: fleet.controlURL)
        let addresses = Array(try await fakes.users().prefix(users))
        say("connecting \(addresses.count) users' calendar and gmail")
        try await fakes.connect(addresses, [.gcal, .gmail], tenant: tenant, directory: directory, secrets: secrets, settings: settings)
        say("seeding \(items) items per user, their tasks and replies")
        try await seed(directory, tenant: tenant, users: addresses.count)
        // Vacuumed and analyzed now, so autovacuum does not do it during the measurement.
        for table in ["items", "tasks", "responses", "connector_accounts"] {
            _ = try await admin.query("VACUUM ANALYZE \(tenant.schemaName).\(table)")
        }

        let processes = try fleet.spawnWorkers(kinds: "briefing", tenant: tenant)
        defer {
            for process in processes where process.isRunning { process.terminate() }
        }
        // A weekday ahead: every briefing plans a whole working day.
        var day = Date().addingTimeInterval(86_400)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        while calendar.isDateInWeekend(day) { day = day.addingTimeInterval(86_400) }
        let date = String(ISO8601DateFormatter().string(from: day).prefix(10))
        func job(_ index: Int) -> JobEnvelope {
            JobEnvelope(
                tenant: tenant, kind: .briefing, action: .gcalRead, payload: Array(#"{"date":"\#(date)","time_zone":"UTC"}"#.utf8),
                requester: Requester(user: "u\(index % addresses.count)"))
        }
        func finished(_ jobs: [JobEnvelope]) async throws -> [JobStatus] {
            var out: [JobStatus] = []
            var next = 0
            while next < jobs.count {
                guard let status = try await queue.status(tenant: tenant, id: jobs[next].id), status.state.isTerminal else {
                    try await Task.sleep(for: .milliseconds(10))
                    continue
                }
                if status.state != .succeeded {
                    throw ValidationError("briefing job \(status.id) ended \(status.state): \(status.lastError ?? "")")
                }
                out.append(status)
                next += 1
            }
            return out
        }

        say("warming up")
        let warm = (0..<50).map(job)
        _ = try await queue.enqueue(warm)
        _ = try await finished(warm)

        say("every user's briefing at once")
        let all = (0..<addresses.count).map(job)
        let start = ContinuousClock.now
        for chunk in stride(from: 0, to: all.count, by: 500) {
            _ = try await queue.enqueue(Array(all[chunk..<min(chunk + 500, all.count)]))
        }
        let done = try await finished(all)
        let seconds = (ContinuousClock.now - start).seconds
        let runs = done.compactMap { status in status.startedAt.flatMap { started in status.finishedAt.map { Double($0 - started) } } }
            .sorted()

        say("\(rate) briefings a second for 10 seconds")
        var paced: [JobEnvelope] = []
        let clock = ContinuousClock()
        let began = clock.now
        for index in 0..<(rate * 10) {
            try await clock.sleep(until: began + .milliseconds(index * 1000 / rate))
            let one = job(index)
            _ = try await queue.enqueue([one])
            paced.append(one)
        }
        let pacedDone = try await finished(paced)
        let waits = pacedDone.compactMap { status in status.finishedAt.map { Double($0 - status.enqueuedAt) } }.sorted()
        let starts = pacedDone.compactMap { status in status.startedAt.map { Double($0 - status.enqueuedAt) } }.sorted()
        let stored = try await directory.query(tenant, "SELECT count(*) AS n, count(*) FILTER (WHERE partial) AS p FROM briefings", [])
        let peaks = processes.map { peakRSS($0.processIdentifier) }
        for process in processes { process.terminate() }
        for process in processes { process.waitUntilExit() }
        printJSONLine([
            "bench": "briefing", "users": addresses.count, "items_per_user": items, "workers": fleet.workers,
            "concurrency": fleet.concurrency,
            "briefings_per_s": Int(Double(all.count) / seconds), "burst_run_p50_ms": percentile(runs, 50),
            "burst_run_p99_ms": percentile(runs, 99), "offered_per_s": rate, "briefing_p50_ms": percentile(waits, 50),
            "briefing_p99_ms": percentile(waits, 99), "briefing_start_p99_ms": percentile(starts, 99),
            "briefings_stored": stored.first?.int("n") ?? 0,
            "partial": stored.first?.int("p") ?? 0, "worker_peak_rss_mb": peaks.max() ?? 0,
        ])
        redis.close()
    }

    /// Each user's synced items (a quarter each mail, tickets, pull requests, meetings), the
    /// tasks discovery keeps of the first fifth of them, and a few replies; accounts synced now.
    func seed(_ directory: TenantDirectory, tenant: TenantID, users: Int) async throws {
        let time = #"'YYYY-MM-DD"T"HH24:MI:SS"Z"'"#
        for first in stride(from: 0, to: users, by: 100) {
            let last = min(first + 100, users) - 1
            try await directory.query(
                tenant,
                """
                INSERT INTO items (user_id, connector, source_id, item_type, title, people, details, occurred_at, status, message_class,
                    classification, classified_at)
                SELECT 'u' || u, c.connector, c.connector || '-' || i, c.item_type, c.connector || ' item ' || i || ' of u' || u,
                    jsonb_build_object('from', 'someone' || (i % 17) || '@partner.test', 'to', jsonb_build_array('u' || u || '@acme.test')),
                    jsonb_build_object('thread_id', 't' || (i / 3), 'key', 'PROJ-' || i),
                    now() - make_interval(mins => i * 37), 'open',
                    CASE WHEN c.connector = 'gmail' THEN (ARRAY['critical', 'needs_response', 'informational', 'noise'])[1 + i % 4] END,
                    CASE WHEN i % 10 = 0 THEN 'confidential' ELSE 'internal' END, now()
                FROM generate_series($1::int, $2::int) AS u, generate_series(0, $3::int - 1) AS i,
                    LATERAL (SELECT (ARRAY['gmail', 'jira', 'github', 'gcal'])[1 + i % 4] AS connector,
                        (ARRAY['message', 'ticket', 'pull_request', 'event'])[1 + i % 4] AS item_type) AS c
                """, [first, last, items])
            try await directory.query(
                tenant,
                """
                INSERT INTO tasks (id, owner_user, title, sources, source_keys, signals, classification, priority, quadrant)
                SELECT 'u' || u || '-t' || i, 'u' || u, 'Task ' || i || ' of u' || u,
                    jsonb_build_array(jsonb_build_object('system', (ARRAY['gmail', 'jira', 'github', 'gcal'])[1 + i % 4],
                        'id', 'x' || i, 'title', 'Task ' || i)),
                    ARRAY[(ARRAY['gmail', 'jira', 'github', 'gcal'])[1 + i % 4] || ':x' || i],
                    jsonb_build_object('deadline', to_char((now() + make_interval(hours => i * 7 - 20)) AT TIME ZONE 'UTC', \(time)),
                        'sender_seniority', (i % 4) * 5, 'follow_ups', i % 6, 'blocking', i % 3),
                    CASE WHEN i % 10 = 0 THEN 'confidential' ELSE 'internal' END, 0, 'eliminate'
                FROM generate_series($1::int, $2::int) AS u, generate_series(0, $3::int / 5 - 1) AS i
                """, [first, last, items])
            try await directory.query(
                tenant,
                """
                INSERT INTO responses (user_id, channel, message_id, thread_id, job_id, status, original, response, classification)
                SELECT 'u' || u, 'gmail', 'gmail-' || i, 't' || i, 'j' || u || '-' || i, (ARRAY['sent', 'pending', 'blocked'])[1 + i % 3],
                    jsonb_build_object('from', 'someone@partner.test', 'subject', 'Question ' || i), 'Thanks', 'internal'
                FROM generate_series($1::int, $2::int) AS u, generate_series(0, 4) AS i
                """, [first, last])
        }
        try await directory.query(tenant, "UPDATE connector_accounts SET last_sync_at = now()", [])
    }

    private func say(_ text: String) { FileHandle.standardError.write(Data("[bench briefing] \(text)\n".utf8)) }
}
