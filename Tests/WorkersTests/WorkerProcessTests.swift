import AuditLog
import Contracts
import Foundation
import JobQueue
import RedisClient
import TestSupport
import Testing

/// Runs the real `Workers` executable against Redis.
struct WorkerFixture {
    let redisURL: String
    let redis: RedisClient
    let queue: JobQueue
    let tenant = TestEnvironment.tenant("w")

    init(redisURL: String? = nil) {
        var configuration: RedisConfiguration
        if let redisURL {
            configuration = try! RedisConfiguration(url: redisURL)
        } else {
            configuration = TestEnvironment.isolatedRedis()
        }
        configuration.commandTimeout = .seconds(10)
        self.redisURL = "redis://\(configuration.host):\(configuration.port)/\(configuration.database)"
        redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
        queue = JobQueue(redis: redis, logger: TestEnvironment.logger)
    }

    /// Starts a worker and waits until it has registered as a consumer (a loaded machine can take
    /// a while to start a process), so what the test enqueues next is surely seen by it.
    func startWorker(_ arguments: [String] = []) async throws -> ChildProcess {
        try await TestDatabase.migrated()
        let consumers = { try await redis.send("ZCARD", RedisKeys.consumers(kind: .noop)).int ?? 0 }
        let before = try await consumers()
        let worker = try spawnWorker(arguments)
        let registered = await eventually(timeout: .seconds(60)) { (try? await consumers()) ?? 0 > before }
        #expect(registered, "the worker did not register within 60 s: \(worker.output)")
        return worker
    }

    private func spawnWorker(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(
            executable: TestEnvironment.binDirectory.appendingPathComponent("Workers").path,
            arguments: [
                "--redis-url", redisURL, "--kinds", "noop", "--tenants", tenant.rawValue, "--metrics-port=-1",
                "--visibility-timeout-ms", "1000", "--retry-base-ms", "50", "--retry-max-ms", "200", "--log-level", "warning",
                "--database-url", TestDatabase.appURL,
            ] + arguments)
    }

    func job(_ payload: String) -> JobEnvelope {
        JobEnvelope(tenant: tenant, kind: .noop, action: .noopRun, payload: Array(payload.utf8), requester: Requester(user: "u1"))
    }

    func states(_ ids: [String]) async throws -> [JobState?] {
        var out: [JobState?] = []
        for id in ids { out.append(try await queue.status(tenant: tenant, id: id)?.state) }
        return out
    }

    func all(_ ids: [String], are state: JobState, timeout: Duration = .seconds(120)) async -> Bool {
        await eventually(timeout: timeout) { (try? await states(ids))?.allSatisfy { $0 == state } ?? false }
    }

    /// Per-job run counts recorded by noop jobs with `"record": true`.
    func runs() async throws -> [String: Int] {
        let reply = try await redis.send("HGETALL", RedisKeys.tenantPrefix(tenant) + ":noop:runs")
        let values = reply.array ?? []
        var out: [String: Int] = [:]
        for index in stride(from: 0, to: values.count - 1, by: 2) { out[values[index].string ?? ""] = Int(values[index + 1].int ?? 0) }
        return out
    }
}

@Suite struct WorkerProcessTests {
    @Test func killedWorkersJobIsFinishedByAnotherExactlyOnce() async throws {
        let fixture = WorkerFixture()
        let doomed = try await fixture.startWorker(["--concurrency", "8"])
        // The first attempt would take a minute: the jobs are surely mid-run when the worker dies.
        let jobs = (0..<5).map { _ in fixture.job(#"{"sleep_ms":60000,"sleep_attempts":1,"record":true}"#) }
        _ = try await fixture.queue.enqueue(jobs)
        let ids = jobs.map(\.id)
        let allRunning = await fixture.all(ids, are: .running)
        let seen = try await fixture.states(ids)
        #expect(allRunning, "states: \(seen); worker: \(doomed.output)")
        doomed.signal(SIGKILL)
        #expect(await doomed.waitForExit() == 128 + SIGKILL)

        let survivor = try await fixture.startWorker(["--concurrency", "8"])
        #expect(await fixture.all(ids, are: .succeeded), "\(survivor.output)")
        let runs = try await fixture.runs()
        #expect(ids.allSatisfy { runs[$0] == 1 }, "runs per job: \(runs)")
        #expect(try await fixture.redis.send("GET", RedisKeys.noopCounter(tenant: fixture.tenant)).int == 5)
        for id in ids { #expect(try await fixture.queue.status(tenant: fixture.tenant, id: id)?.attempts == 2) }
        // The audit log has each job's lifecycle once, although the first worker started them.
        let store = AuditStore(database: try TestDatabase.app())
        for job in jobs {
            let page = try await store.query(tenant: fixture.tenant, filter: .init(requestID: job.requestID))
            #expect(page.records.map(\.event.actionType).sorted() == ["job.started", "job.succeeded"], "\(job.id)")
        }
        survivor.signal(SIGTERM)
        #expect(await survivor.waitForExit() == 0)
    }

    @Test func sigtermDrainsRunningJobsAndStopsReading() async throws {
        let fixture = WorkerFixture()
        let worker = try await fixture.startWorker(["--concurrency", "4", "--grace-seconds", "60"])
        let running = (0..<3).map { _ in fixture.job(#"{"sleep_ms":10000,"record":true}"#) }
        _ = try await fixture.queue.enqueue(running)
        let allRunning = await fixture.all(running.map(\.id), are: .running)
        let seen = try await fixture.states(running.map(\.id))
        #expect(allRunning, "states: \(seen); worker: \(worker.output)")
        worker.signal(SIGTERM)
        // The worker has taken the signal once it deregistered (it stops reading first).
        let resigned = await eventually { (try? await fixture.redis.send("ZCARD", RedisKeys.consumers(kind: .noop)).int) == 0 }
        #expect(resigned, "\(worker.output)")
        let late = fixture.job("{}")
        _ = try await fixture.queue.enqueue(late)
        #expect(await worker.waitForExit(timeout: .seconds(120)) == 0, "\(worker.output)")
        #expect(try await fixture.states(running.map(\.id)).allSatisfy { $0 == .succeeded })
        #expect(try await fixture.states([late.id]) == [.queued])
        #expect(try await fixture.queue.stats(kind: .noop, tenants: [fixture.tenant]).pending == 0)
    }

    @Test func graceExpiryLeavesJobsPendingForOthers() async throws {
        let fixture = WorkerFixture()
        let worker = try await fixture.startWorker(["--grace-seconds", "0.5"])
        let slow = fixture.job(#"{"sleep_ms":60000,"record":true}"#)
        _ = try await fixture.queue.enqueue(slow)
        #expect(await fixture.all([slow.id], are: .running))
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit(timeout: .seconds(60)) == 0, "\(worker.output)")
        // Interrupted, not lost: still pending, and no outcome was recorded.
        #expect(try await fixture.queue.stats(kind: .noop, tenants: [fixture.tenant]).pending == 1)
        #expect(try await fixture.runs().isEmpty)
    }

    @Test func failingJobIsRetriedThenSucceeds() async throws {
        let fixture = WorkerFixture()
        let worker = try await fixture.startWorker()
        let job = fixture.job(#"{"fail_attempts":2,"record":true}"#)
        _ = try await fixture.queue.enqueue(job)
        #expect(await fixture.all([job.id], are: .succeeded), "\(worker.output)")
        let status = try #require(try await fixture.queue.status(tenant: fixture.tenant, id: job.id))
        #expect(status.attempts == 3)
        #expect(try await fixture.runs()[job.id] == 1)
        worker.signal(SIGTERM)
        _ = await worker.waitForExit()
    }

    @Test func maxAttemptsDeadLetterThenReplay() async throws {
        let fixture = WorkerFixture()
        let worker = try await fixture.startWorker(["--max-attempts", "3"])
        // Long enough that all three attempts fail however slowly the machine runs them.
        let until = Clock.milliseconds() + 20_000
        let job = fixture.job(#"{"fail_until_ms":\#(until),"record":true}"#)
        _ = try await fixture.queue.enqueue(job)
        #expect(await fixture.all([job.id], are: .dead), "\(worker.output)")
        let letters = try await fixture.queue.deadLetters(tenant: fixture.tenant, kind: .noop)
        #expect(letters.count == 1)
        #expect(letters.first?.error.contains("failing on purpose") == true)
        #expect(try await fixture.queue.status(tenant: fixture.tenant, id: job.id)?.attempts == 3)
        while Clock.milliseconds() < until { try await Task.sleep(for: .milliseconds(50)) }
        let letter = try #require(letters.first)
        #expect(try await fixture.queue.replay(tenant: fixture.tenant, kind: .noop, letter) == job.id)
        #expect(await fixture.all([job.id], are: .succeeded), "\(worker.output)")
        #expect(try await fixture.runs()[job.id] == 1)
        worker.signal(SIGTERM)
        _ = await worker.waitForExit()
    }

    /// `Dispatcher dead-letters replay` replays the dead letters there are when it starts, each
    /// once (even as the workers dead-letter them again meanwhile), audits each as
    /// `job.replayed`, and each replayed run writes lifecycle entries of its own.
    @Test func aReplayIsAuditedAndEachReplayedRunToo() async throws {
        let fixture = WorkerFixture()
        let worker = try await fixture.startWorker()
        let jobs = (0..<5).map { _ in fixture.job(#"{"poison":true}"#) }
        _ = try await fixture.queue.enqueue(jobs)
        #expect(await fixture.all(jobs.map(\.id), are: .dead), "\(worker.output)")
        let replay = try ChildProcess(
            executable: TestEnvironment.binDirectory.appendingPathComponent("Dispatcher").path,
            arguments: ["dead-letters", "replay", "--tenant", fixture.tenant.rawValue, "--kind", "noop", "--operator-name", "ops-anna"],
            environment: ["OC_REDIS_URL": fixture.redisURL, "OC_DATABASE_URL": TestDatabase.appURL])
        #expect(await replay.waitForExit(timeout: .seconds(60)) == 0, "\(replay.output)")
        #expect(replay.output.contains("replayed 5"), "\(replay.output)")
        // Dead again after their replayed run, with that run audited.
        let store = AuditStore(database: try TestDatabase.app())
        let audited = await eventually {
            let page = try? await store.query(tenant: fixture.tenant, filter: .init(actionType: "job.dead_lettered"), limit: 100)
            return page?.records.count == 10
        }
        #expect(audited, "\(worker.output)")
        let replayed = try await store.query(tenant: fixture.tenant, filter: .init(actionType: "job.replayed"), limit: 100).records
        #expect(replayed.count == 5)
        #expect(replayed.allSatisfy { $0.event.userID == "ops-anna" })
        let started = try await store.query(tenant: fixture.tenant, filter: .init(actionType: "job.started"), limit: 100).records
        #expect(Set(started.map(\.event.eventKey)).count == 10)
        #expect(started.filter { $0.event.eventKey.contains("/r1.1/") }.count == 5)
        worker.signal(SIGTERM)
        _ = await worker.waitForExit()
    }

    @Test func undecodableEntriesAreDeadLetteredAndTheWorkerCarriesOn() async throws {
        let fixture = WorkerFixture()
        let worker = try await fixture.startWorker()
        let stream = RedisKeys.stream(tenant: fixture.tenant, kind: .noop)
        try await fixture.redis.send("XADD", stream, "*", "garbage", "\u{0}\u{1}not a job")
        let wrongType = fixture.job(#"{"sleep_ms":"soon"}"#)
        let notJSON = fixture.job("not json at all")
        let good = fixture.job(#"{"record":true}"#)
        _ = try await fixture.queue.enqueue([wrongType, notJSON, good])
        #expect(await fixture.all([good.id], are: .succeeded), "\(worker.output)")
        #expect(await fixture.all([wrongType.id, notJSON.id], are: .dead))
        let letters = await eventually { (try? await fixture.queue.deadLetters(tenant: fixture.tenant, kind: .noop).count) == 3 }
        #expect(letters)
        #expect(worker.isRunning)
        worker.signal(SIGTERM)
        #expect(await worker.waitForExit() == 0)
    }

    @Test func workersCarryOnAcrossARedisRestart() async throws {
        let server = try await PrivateRedis()
        let fixture = WorkerFixture(redisURL: server.url)
        var workers: [ChildProcess] = []
        for _ in 0..<2 { workers.append(try await fixture.startWorker(["--concurrency", "16"])) }
        var ids: [String] = []
        for round in 0..<20 {
            let batch = (0..<100).map { _ in fixture.job(#"{"record":true}"#) }
            ids += batch.map(\.id)
            while true {
                do {
                    _ = try await fixture.queue.enqueue(batch)
                    break
                } catch {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            if round == 8 { try await server.restart() }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(await fixture.all(ids, are: .succeeded), "\(workers[0].output)")
        let runs = try await fixture.runs()
        #expect(ids.allSatisfy { (runs[$0] ?? 0) >= 1 })
        for worker in workers {
            #expect(worker.isRunning)
            worker.signal(SIGTERM)
            #expect(await worker.waitForExit() == 0)
        }
    }
}
