import ArgumentParser
import Contracts
import Foundation
import JobQueue
import Logging
import RedisClient

/// `Bench fairness`: one tenant with a deep backlog while many small tenants each submit a job
/// a second. Measures the big tenant's drain alone and with the small tenants submitting, in
/// alternating turns, and the small tenants' waits (enqueue to start).
struct FairnessBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fairness", abstract: "Benchmark fairness: a deep backlog against many small tenants.")

    @OptionGroup var fleet: NoopFleetOptions
    @Option(help: "Jobs waiting for the big tenant.") var backlog: Int = 1_000_000
    @Option(help: "Small tenants, each submitting one job a second.") var smallTenants: Int = 1_000
    @Option(help: "Seconds the big tenant drains alone.") var soloSeconds: Int = 10
    @Option(help: "Seconds the small tenants submit.") var mixedSeconds: Int = 20
    @Option(help: "Turns the two phases take, alternating (each a share of its seconds).") var rounds: Int = 10

    func validate() throws {
        guard (1...100_000_000).contains(backlog), (1...100_000).contains(smallTenants), (1...3_600).contains(soloSeconds),
            (1...3_600).contains(mixedSeconds), (1...1_000).contains(rounds)
        else {
            throw ValidationError(
                "--backlog must be 1-100000000, --small-tenants 1-100000, --solo-seconds and --mixed-seconds 1-3600, --rounds 1-1000")
        }
    }

    func run() async throws {
        let (redis, queue) = try await fleet.connect()
        defer { redis.close() }
        let big = try TenantID("big")
        let small = try (0..<smallTenants).map { try TenantID("small-\($0)") }

        FileHandle.standardError.write(Data("enqueueing \(backlog) jobs for the big tenant\n".utf8))
        for start in stride(from: 0, to: backlog, by: 5_000) {
            let count = min(5_000, backlog - start)
            _ = try await queue.enqueue((0..<count).map { _ in job(big) })
        }

        let rewritesBefore = try await aofRewrites(redis)
        let processes = try fleet.spawnWorkers()
        defer {
            for process in processes { process.terminate() }
            for process in processes { process.waitUntilExit() }
        }
        // Alone and with the small tenants in turns: the machine's slow spells and the AOF
        // rewrites (seconds of a core each, every few seconds of draining) fall on both rates
        // alike, instead of on whichever phase they happen to meet.
        while try await done(redis, big) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        FileHandle.standardError.write(
            Data(
                "\(rounds) rounds: the big tenant alone \(soloSeconds) s, with \(smallTenants) small tenants submitting \(mixedSeconds) s\n"
                    .utf8))
        var solo = (jobs: 0, seconds: 0.0)
        var mixed = (jobs: 0, seconds: 0.0)
        var submitted: [(TenantID, String)] = []
        var soloRate: Double { solo.seconds > 0 ? Double(solo.jobs) / solo.seconds : 0 }
        for _ in 0..<rounds {
            // A phase ends early when the big tenant is about to run dry (within about a second
            // at its solo rate): its drain and the small tenants' waits count only while it has
            // a backlog.
            if backlog - (try await done(redis, big)) < max(Int(soloRate), 1) { break }
            let soloStart = ContinuousClock.now
            let soloBefore = try await done(redis, big)
            try await Task.sleep(for: .seconds(Double(soloSeconds) / Double(rounds)))
            solo.jobs += try await done(redis, big) - soloBefore
            solo.seconds += (ContinuousClock.now - soloStart).seconds

            // Each small tenant submits one job a second, spread evenly over the second.
            let reserve = Int(soloRate)
            let mixedStart = ContinuousClock.now
            let mixedBefore = try await done(redis, big)
            let share = smallTenants * mixedSeconds / rounds
            try await offer(
                share, perSecond: Double(smallTenants),
                stopWhen: {
                    backlog - (try await done(redis, big)) < reserve
                }
            ) { count in
                let batch = (0..<count).map { offset in job(small[(submitted.count + offset) % small.count]) }
                _ = try await queue.enqueue(batch)
                submitted += batch.map { ($0.tenant, $0.id) }
            }
            mixed.jobs += try await done(redis, big) - mixedBefore
            mixed.seconds += (ContinuousClock.now - mixedStart).seconds
        }
        let doneAfter = try await done(redis, big)
        let mixedRate = mixed.seconds > 0 ? Double(mixed.jobs) / mixed.seconds : 0

        // The small tenants' waits, once their last jobs had time to start.
        try await Task.sleep(for: .seconds(2))
        let (unsorted, unstarted) = try await startWaits(redis, submitted)
        let waits = unsorted.sorted()
        printJSONLine([
            "bench": "fairness", "backlog": backlog, "small_tenants": smallTenants, "workers": fleet.workers,
            "concurrency": fleet.concurrency,
            "big_solo_per_s": Int(soloRate), "big_mixed_per_s": Int(mixedRate), "big_mixed_ratio": rounded(mixedRate / soloRate, 3),
            "rounds": rounds,
            "solo_seconds": rounded(solo.seconds, 1), "mixed_seconds": rounded(mixed.seconds, 1),
            "big_left_after_mixed": max(0, backlog - doneAfter),
            "small_jobs": waits.count, "small_unstarted": unstarted,
            "small_wait_p50_ms": rounded(percentile(waits, 50), 2), "small_wait_p99_ms": rounded(percentile(waits, 99), 2),
            "small_wait_max_ms": rounded(waits.last ?? 0, 2), "aof_rewrites": try await aofRewrites(redis) - rewritesBefore,
        ])
    }

    private func job(_ tenant: TenantID) -> JobEnvelope {
        JobEnvelope(tenant: tenant, kind: .noop, action: .noopRun, requester: Requester(user: "bench"))
    }

    private func done(_ redis: RedisClient, _ tenant: TenantID) async throws -> Int {
        Int(try await redis.send("GET", RedisKeys.noopCounter(tenant: tenant)).int ?? 0)
    }
}
