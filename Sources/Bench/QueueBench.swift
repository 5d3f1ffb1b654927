import ArgumentParser
import Contracts
import Foundation
import JobQueue
import Logging
import RedisClient

/// `Bench queue`: bulk enqueue rate, drain rate with worker processes, and enqueue-to-start
/// latency at a fixed offered rate. Every job is a `noop` that makes one `INCR` (like the peer
/// benchmarks' jobs) with status tracking on.
struct QueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "Benchmark the job queue.")

    @OptionGroup var fleet: NoopFleetOptions
    @Option(help: "Jobs for the enqueue and drain phases.") var jobs: Int = 200_000
    @Option(help: "Tenants the jobs are spread over.") var tenants: Int = 1
    @Option(help: "Offered rate (jobs/s) of the latency phase.") var rate: Int = 5_000
    @Option(help: "Seconds of the latency phase.") var latencySeconds: Int = 5
    @Flag(help: "Only measure the enqueue phase (for profiling).") var enqueueOnly = false

    func run() async throws {
        let (redis, queue) = try await fleet.connect()
        let tenantIDs = (0..<tenants).map { try! TenantID("bench-\($0)") }

        // Phase 1: bulk enqueue, one producer.
        let allJobs = (0..<jobs).map { index in
            JobEnvelope(tenant: tenantIDs[index % tenantIDs.count], kind: .noop, action: .noopRun, requester: Requester(user: "bench"))
        }
        let enqueueStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            let chunk = 5_000
            var inFlight = 0
            for start in stride(from: 0, to: allJobs.count, by: chunk) {
                if inFlight >= 4 {
                    try await group.next()
                    inFlight -= 1
                }
                let slice = Array(allJobs[start..<min(start + chunk, allJobs.count)])
                group.addTask { _ = try await queue.enqueue(slice) }
                inFlight += 1
            }
            try await group.waitForAll()
        }
        let enqueueSeconds = (ContinuousClock.now - enqueueStart).seconds
        let stats = try await queue.stats(kind: .noop)
        guard stats.depth == jobs else { throw ValidationError("expected \(jobs) queued jobs, found \(stats.depth)") }
        if enqueueOnly {
            printJSONLine(["bench": "queue", "jobs": jobs, "tenants": tenants, "enqueue_per_s": Int(Double(jobs) / enqueueSeconds)])
            return
        }

        // Phase 2: drain with worker processes, timed from their spawn until every job counted
        // itself and nothing is pending.
        // Polled every 100 ms (the drain is timed to within a percent or two) through Redis' count
        // of `INCR` calls, one command whatever the number of tenants: reading every tenant's
        // counter at each poll would load the Redis it measures (10,000 reads at 10,000
        // tenants). The counters are read once that count says the jobs are done.
        let incrementsBefore = try await incrCalls(redis)
        let drainCost = try await RedisCost.read(redis)
        let drainStart = ContinuousClock.now
        let processes = try fleet.spawnWorkers()
        var firstJob: Double?
        while true {
            let increments = try await incrCalls(redis) - incrementsBefore
            if increments > 0 && firstJob == nil { firstJob = (ContinuousClock.now - drainStart).seconds }
            if increments >= jobs, try await countDone(redis: redis, tenants: tenantIDs) >= jobs {
                let settled = try await queue.stats(kind: .noop)
                if settled.depth == 0 && settled.pending == 0 { break }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let drainSeconds = (ContinuousClock.now - drainStart).seconds
        let drainSpent = try await RedisCost.read(redis).since(drainCost)
        let duplicates = try await countDone(redis: redis, tenants: tenantIDs) - jobs

        // Phase 3: enqueue-to-start latency at a fixed offered rate, workers running. Redis
        // rewrites its AOF each time the file has doubled, and the enqueue and drain phases
        // trigger rewrites (a forked child that takes a core for a second or more) that may
        // still run: the phase starts once none is running or scheduled, and says how many of
        // its own came about.
        try await awaitNoAOFRewrite(redis)
        let rewritesBefore = try await aofRewrites(redis)
        let (latencies, latencySpent) = try await measureLatency(queue: queue, redis: redis, tenants: tenantIDs)
        let rewrites = try await aofRewrites(redis) - rewritesBefore
        for process in processes { process.terminate() }
        for process in processes { process.waitUntilExit() }

        let sorted = latencies.sorted()
        let latencyJobs = Double(max(1, sorted.count))
        printJSONLine([
            "drain_redis_cpu_us_per_job": rounded(drainSpent.cpuSeconds * 1e6 / Double(jobs)),
            "latency_redis_cpu_us_per_job": rounded(latencySpent.cpuSeconds * 1e6 / latencyJobs),
            // A rewrite starts the file over: bytes per job only from a phase without one.
            "latency_aof_bytes_per_job": rewrites == 0 ? Int(Double(latencySpent.aofBytes) / latencyJobs) : NSNull(),
            "bench": "queue", "jobs": jobs, "tenants": tenants, "workers": fleet.workers, "concurrency": fleet.concurrency,
            "enqueue_per_s": Int(Double(jobs) / enqueueSeconds), "enqueue_seconds": rounded(enqueueSeconds, 3),
            "drain_per_s": Int(Double(jobs) / drainSeconds), "drain_seconds": rounded(drainSeconds, 3),
            "first_job_s": rounded(firstJob ?? 0, 3), "duplicates": duplicates,
            "latency_offered_per_s": rate, "latency_jobs": sorted.count,
            "latency_p50_ms": rounded(percentile(sorted, 50), 2), "latency_p99_ms": rounded(percentile(sorted, 99), 2),
            "latency_max_ms": rounded(sorted.last ?? 0, 2), "latency_aof_rewrites": rewrites, "status_tracking": true,
            "job": "noop (one INCR)",
        ])
        redis.close()
    }

    private func countDone(redis: RedisClient, tenants: [TenantID]) async throws -> Int {
        var total = 0
        for start in stride(from: 0, to: tenants.count, by: 1000) {
            let keys = tenants[start..<min(start + 1000, tenants.count)].map { RedisKeys.noopCounter(tenant: $0) }
            let replies = try await redis.send(keys.map { RedisCommand("GET", [$0]) })
            total += replies.reduce(0) { $0 + Int($1.int ?? 0) }
        }
        return total
    }

    /// Offers `rate` jobs/s in 1 ms ticks for `latencySeconds`, then reads each job's status:
    /// started_at - enqueued_at, in milliseconds. Also returns what Redis spent from the first
    /// job offered until every job had run (before the status reads, which are the bench's own).
    private func measureLatency(queue: JobQueue, redis: RedisClient, tenants: [TenantID]) async throws -> ([Double], RedisCost) {
        let total = rate * latencySeconds
        let incrementsBefore = try await incrCalls(redis)
        let before = try await RedisCost.read(redis)
        var ids: [(TenantID, String)] = []
        ids.reserveCapacity(total)
        var index = 0
        try await offer(total, perSecond: Double(rate)) { count in
            let batch = (0..<count).map { _ -> JobEnvelope in
                index += 1
                return JobEnvelope(
                    tenant: tenants[index % tenants.count], kind: .noop, action: .noopRun, requester: Requester(user: "bench"))
            }
            _ = try await queue.enqueue(batch)
            ids += batch.map { ($0.tenant, $0.id) }
        }
        _ = await waitUntil(timeout: .seconds(60)) { ((try? await incrCalls(redis)) ?? 0) - incrementsBefore >= total }
        let spent = try await RedisCost.read(redis).since(before)
        _ = await waitUntil(timeout: .seconds(60)) {
            (try? await queue.stats(kind: .noop)).map { $0.depth == 0 && $0.pending == 0 } ?? false
        }
        return (try await startWaits(redis, ids).waits, spent)
    }

    private func waitUntil(timeout: Duration, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// What the queue benches share: a dedicated Redis and `noop` worker processes without audit.
struct NoopFleetOptions: ParsableArguments {
    @Option(help: "Redis URL (a dedicated, empty instance: the bench flushes it).") var redisURL: String
    @Option(help: "Worker processes.") var workers: Int = 2
    @Option(help: "Concurrency per worker process.") var concurrency: Int = 128
    @Option(help: "Path of the Workers executable.") var workersBinary: String

    /// A client of the bench's Redis, flushed, and a queue on it.
    func connect() async throws -> (RedisClient, JobQueue) {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var configuration = try RedisConfiguration(url: redisURL)
        configuration.poolSize = 4
        let redis = RedisClient(configuration: configuration, logger: logger)
        try await redis.send("FLUSHALL")
        return (redis, JobQueue(redis: redis, logger: logger))
    }

    func spawnWorkers() throws -> [Process] {
        try (0..<workers).map { _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: workersBinary)
            process.arguments = [
                "--redis-url", redisURL, "--kinds", "noop", "--concurrency", String(concurrency), "--metrics-port=-1", "--log-level",
                "error", "--no-audit",
            ]
            try process.run()
            return process
        }
    }
}

/// How many times Redis has rewritten its AOF since it started (`INFO persistence`).
func aofRewrites(_ redis: RedisClient) async throws -> Int {
    try await redisInfo(redis, "persistence")["aof_rewrites"].flatMap { Int($0) } ?? 0
}

/// How many `INCR` commands Redis has run (each `noop` job makes one).
func incrCalls(_ redis: RedisClient) async throws -> Int {
    let text = try await redis.send(RedisCommand("INFO", ["commandstats"])).string ?? ""
    for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_incr:calls=") {
        return Int(line.dropFirst("cmdstat_incr:calls=".count).prefix { $0.isNumber }) ?? 0
    }
    return 0
}

/// Waits, up to a minute, until Redis neither rewrites its AOF nor has a rewrite scheduled.
func awaitNoAOFRewrite(_ redis: RedisClient) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
        let info = try await redisInfo(redis, "persistence")
        if info["aof_rewrite_in_progress"] != "1" && info["aof_rewrite_scheduled"] != "1" { return }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// What Redis has spent: CPU of its own process (not a rewrite's child) and AOF bytes.
struct RedisCost {
    var cpuSeconds: Double
    var aofBytes: Int

    static func read(_ redis: RedisClient) async throws -> RedisCost {
        let cpu = try await redisInfo(redis, "cpu")
        let persistence = try await redisInfo(redis, "persistence")
        return RedisCost(
            cpuSeconds: (Double(cpu["used_cpu_sys"] ?? "") ?? 0) + (Double(cpu["used_cpu_user"] ?? "") ?? 0),
            aofBytes: Int(persistence["aof_current_size"] ?? "") ?? 0)
    }

    func since(_ earlier: RedisCost) -> RedisCost {
        RedisCost(cpuSeconds: cpuSeconds - earlier.cpuSeconds, aofBytes: aofBytes - earlier.aofBytes)
    }
}

/// One section of `INFO` as a dictionary.
private func redisInfo(_ redis: RedisClient, _ section: String) async throws -> [String: String] {
    let text = try await redis.send(RedisCommand("INFO", [section])).string ?? ""
    var fields: [String: String] = [:]
    for line in text.split(whereSeparator: \.isNewline) {
        let parts = line.split(separator: ":", maxSplits: 1)
        if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
    }
    return fields
}

/// Offers `total` jobs at `perSecond` in 1 ms ticks: `enqueue` is called with each tick's count.
func offer(
    _ total: Int, perSecond: Double, stopWhen: (() async throws -> Bool)? = nil, _ enqueue: (Int) async throws -> Void
) async throws {
    let start = ContinuousClock.now
    var sent = 0
    var checked = start
    while sent < total {
        if let stopWhen, ContinuousClock.now - checked >= .milliseconds(100) {
            checked = .now
            if try await stopWhen() { return }
        }
        let due = min(total, Int((ContinuousClock.now - start).seconds * perSecond))
        if due > sent {
            try await enqueue(due - sent)
            sent = due
        }
        try await Task.sleep(for: .milliseconds(1))
    }
}

/// Each job's wait from enqueue to start (ms), read from the status records; `unstarted`
/// counts jobs that had not started.
func startWaits(_ redis: RedisClient, _ ids: [(TenantID, String)]) async throws -> (waits: [Double], unstarted: Int) {
    var waits: [Double] = []
    var unstarted = 0
    for chunk in stride(from: 0, to: ids.count, by: 2_000) {
        let slice = ids[chunk..<min(chunk + 2_000, ids.count)]
        let replies = try await redis.send(
            slice.map { RedisCommand("HMGET", [RedisKeys.job(tenant: $0.0, id: $0.1), "enqueued_at", "started_at"]) })
        for reply in replies {
            guard let values = reply.array, values.count == 2, let enqueued = values[0].int, let started = values[1].int else {
                unstarted += 1
                continue
            }
            waits.append(Double(started - enqueued))
        }
    }
    return (waits, unstarted)
}
