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

    @Option(help: "Redis URL (a dedicated, empty instance: the bench flushes it).") var redisURL: String
    @Option(help: "Jobs for the enqueue and drain phases.") var jobs: Int = 200_000
    @Option(help: "Tenants the jobs are spread over.") var tenants: Int = 1
    @Option(help: "Worker processes.") var workers: Int = 2
    @Option(help: "Concurrency per worker process.") var concurrency: Int = 128
    @Option(help: "Offered rate (jobs/s) of the latency phase.") var rate: Int = 5_000
    @Option(help: "Seconds of the latency phase.") var latencySeconds: Int = 5
    @Option(help: "Path of the Workers executable.") var workersBinary: String
    @Flag(help: "Only measure the enqueue phase (for profiling).") var enqueueOnly = false

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var redisConfiguration = try RedisConfiguration(url: redisURL)
        redisConfiguration.poolSize = 4
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        let queue = JobQueue(redis: redis, logger: logger)
        try await redis.send("FLUSHALL")
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
        let drainStart = ContinuousClock.now
        let processes = try (0..<workers).map { _ in try spawnWorker() }
        var firstJob: Double?
        while true {
            let done = try await countDone(redis: redis, tenants: tenantIDs)
            if done > 0 && firstJob == nil { firstJob = (ContinuousClock.now - drainStart).seconds }
            if done >= jobs {
                let settled = try await queue.stats(kind: .noop)
                if settled.depth == 0 && settled.pending == 0 { break }
            }
            // Each poll reads one counter per tenant: often enough to time the drain to within
            // a percent, rarely enough not to load the Redis it measures.
            try await Task.sleep(for: .milliseconds(100))
        }
        let drainSeconds = (ContinuousClock.now - drainStart).seconds
        let duplicates = try await countDone(redis: redis, tenants: tenantIDs) - jobs

        // Phase 3: enqueue-to-start latency at a fixed offered rate, workers running.
        let latencies = try await measureLatency(queue: queue, redis: redis, tenants: tenantIDs)
        for process in processes { process.terminate() }
        for process in processes { process.waitUntilExit() }

        let sorted = latencies.sorted()
        printJSONLine([
            "bench": "queue", "jobs": jobs, "tenants": tenants, "workers": workers, "concurrency": concurrency,
            "enqueue_per_s": Int(Double(jobs) / enqueueSeconds), "enqueue_seconds": rounded(enqueueSeconds, 3),
            "drain_per_s": Int(Double(jobs) / drainSeconds), "drain_seconds": rounded(drainSeconds, 3),
            "first_job_s": rounded(firstJob ?? 0, 3), "duplicates": duplicates,
            "latency_offered_per_s": rate, "latency_jobs": sorted.count,
            "latency_p50_ms": rounded(percentile(sorted, 50), 2), "latency_p99_ms": rounded(percentile(sorted, 99), 2),
            "latency_max_ms": rounded(sorted.last ?? 0, 2), "status_tracking": true, "job": "noop (one INCR)",
        ])
        redis.close()
    }

    private func spawnWorker() throws -> Process {
        try spawnNoopWorker(binary: workersBinary, redisURL: redisURL, concurrency: concurrency)
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
    /// started_at - enqueued_at, in milliseconds.
    private func measureLatency(queue: JobQueue, redis: RedisClient, tenants: [TenantID]) async throws -> [Double] {
        let total = rate * latencySeconds
        var ids: [(TenantID, String)] = []
        ids.reserveCapacity(total)
        let start = ContinuousClock.now
        var sent = 0
        var index = 0
        while sent < total {
            let due = min(total, Int((ContinuousClock.now - start).seconds * Double(rate)))
            if due > sent {
                let batch = (sent..<due).map { _ -> JobEnvelope in
                    index += 1
                    return JobEnvelope(
                        tenant: tenants[index % tenants.count], kind: .noop, action: .noopRun, requester: Requester(user: "bench"))
                }
                _ = try await queue.enqueue(batch)
                ids += batch.map { ($0.tenant, $0.id) }
                sent = due
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        _ = await waitUntil(timeout: .seconds(60)) {
            (try? await queue.stats(kind: .noop)).map { $0.depth == 0 && $0.pending == 0 } ?? false
        }
        var latencies: [Double] = []
        for chunk in stride(from: 0, to: ids.count, by: 2000) {
            let slice = ids[chunk..<min(chunk + 2000, ids.count)]
            let replies = try await redis.send(
                slice.map { RedisCommand("HMGET", [RedisKeys.job(tenant: $0.0, id: $0.1), "enqueued_at", "started_at"]) })
            for reply in replies {
                guard let values = reply.array, values.count == 2, let enqueued = values[0].int, let started = values[1].int else {
                    continue
                }
                latencies.append(Double(started - enqueued))
            }
        }
        return latencies
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

/// A worker process of the `noop` kind without audit, as the queue benches run it.
func spawnNoopWorker(binary: String, redisURL: String, concurrency: Int) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = [
        "--redis-url", redisURL, "--kinds", "noop", "--concurrency", String(concurrency), "--metrics-port=-1", "--log-level", "error",
        "--no-audit",
    ]
    try process.run()
    return process
}
