import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@testable import JobQueue

@Suite struct EnqueueConsumeTests {
    @Test func enqueueConsumeAcknowledge() async throws {
        let fixture = QueueFixture()
        let jobs = (0..<10).map { _ in fixture.job() }
        let results = try await fixture.queue.enqueue(jobs)
        #expect(results.map(\.id) == jobs.map(\.id))
        #expect(results.allSatisfy { $0.isNew })
        #expect(try await fixture.state(jobs[0].id) == .queued)

        let consumer = fixture.consumer()
        let delivered = try await fixture.drain(consumer, count: 10)
        #expect(Set(delivered.compactMap(\.envelope?.id)) == Set(jobs.map(\.id)))
        #expect(delivered.first?.envelope == jobs.first(where: { $0.id == delivered.first?.envelope?.id }))
        let started = try await consumer.markStarted(delivered)
        #expect(started.count == 10)
        #expect(try await fixture.state(jobs[0].id) == .running)
        #expect(try await consumer.complete(started).allSatisfy { $0 })

        let status = try #require(try await fixture.queue.status(tenant: fixture.tenant, id: jobs[0].id))
        #expect(status.state == .succeeded)
        #expect(status.attempts == 1)
        #expect(status.finishedAt != nil)
        let ttl = try await fixture.redis.send("TTL", RedisKeys.job(tenant: fixture.tenant, id: jobs[0].id)).int ?? -1
        #expect(ttl > 0)
        // Acknowledged entries are deleted: the stream does not grow without bound.
        #expect(try await fixture.redis.send("XLEN", RedisKeys.stream(tenant: fixture.tenant, kind: .noop)).int == 0)
        let stats = try await fixture.queue.stats(kind: .noop, tenants: [fixture.tenant])
        #expect(stats.pending == 0)
        #expect(stats.lag == 0)
        #expect(try await consumer.fetch(limit: 10).isEmpty)
    }

    @Test func completingTwiceOnlyCountsOnce() async throws {
        let fixture = QueueFixture()
        _ = try await fixture.queue.enqueue(fixture.job())
        let consumer = fixture.consumer()
        let started = try await consumer.markStarted(try await fixture.drain(consumer, count: 1))
        #expect(try await consumer.complete(started) == [true])
        #expect(try await consumer.complete(started) == [false])
    }

    @Test func unackedEntriesSurviveAndAreNeverTrimmed() async throws {
        let fixture = QueueFixture()
        _ = try await fixture.queue.enqueue((0..<5).map { _ in fixture.job() })
        let consumer = fixture.consumer()
        let delivered = try await fixture.drain(consumer, count: 5)
        _ = try await consumer.complete(Array(delivered.prefix(2)))
        let stream = RedisKeys.stream(tenant: fixture.tenant, kind: .noop)
        let left = try await fixture.redis.send("XRANGE", stream, "-", "+")
        let ids = Set((left.array ?? []).compactMap { $0.array?.first?.string })
        #expect(Set(delivered.dropFirst(2).map(\.entryID)).isSubset(of: ids))
        let stats = try await fixture.queue.stats(kind: .noop, tenants: [fixture.tenant])
        #expect(stats.pending == 3)
        #expect(stats.depth == 3)
    }

    @Test func idempotencyKeyReturnsTheFirstJob() async throws {
        let fixture = QueueFixture()
        let first = fixture.job(idempotencyKey: "order-42")
        let second = fixture.job(idempotencyKey: "order-42")
        let a = try await fixture.queue.enqueue(first)
        let b = try await fixture.queue.enqueue(second)
        #expect(a == .init(id: first.id, isNew: true))
        #expect(b == .init(id: first.id, isNew: false))
        // Also within one bulk call.
        let bulk = try await fixture.queue.enqueue([fixture.job(idempotencyKey: "k2"), fixture.job(idempotencyKey: "k2")])
        #expect(bulk[0].isNew && !bulk[1].isNew && bulk[0].id == bulk[1].id)
        let consumer = fixture.consumer()
        #expect(try await fixture.drain(consumer, count: 3, timeout: .seconds(1)).count == 2)
        #expect(try await fixture.queue.status(tenant: fixture.tenant, id: second.id) == nil)
    }

    @Test func undecodableEntryIsDeadLetteredAsItWas() async throws {
        let fixture = QueueFixture()
        let stream = RedisKeys.stream(tenant: fixture.tenant, kind: .noop)
        try await fixture.redis.send("XADD", stream, "*", "v", "1", "id", "garbage", "tenant", "Not A Tenant")
        try await fixture.queue.markReady([fixture.tenant], kind: .noop)
        let consumer = fixture.consumer()
        let delivered = try await fixture.drain(consumer, count: 1)
        let poison = try #require(delivered.first)
        #expect(poison.envelope == nil)
        #expect(try await consumer.markStarted([poison]).isEmpty)
        try await consumer.settle(poison, error: "undecodable", outcome: .deadLetter)
        let letters = try await fixture.queue.deadLetters(tenant: fixture.tenant, kind: .noop)
        #expect(letters.count == 1)
        #expect(letters[0].error == "undecodable")
        let raw = try await fixture.redis.send("XRANGE", RedisKeys.deadLetters(tenant: fixture.tenant, kind: .noop), "-", "+")
        #expect(raw.array?.first?.array?[1].array?.compactMap(\.string).contains("Not A Tenant") == true)
        #expect(try await fixture.redis.send("XLEN", stream).int == 0)
    }

    @Test func anEntryClaimingAnotherTenantIsRefused() async throws {
        let fixture = QueueFixture()
        let other = TestEnvironment.tenant()
        var forged = fixture.job(tenant: other)
        forged.tenant = other
        var command = RedisCommand("XADD", [RedisKeys.stream(tenant: fixture.tenant, kind: .noop), "*"])
        for field in forged.fields { command.append(field) }
        try await fixture.redis.send(command)
        let consumer = fixture.consumer(tenants: [fixture.tenant])
        let delivered = try await fixture.drain(consumer, count: 1)
        #expect(delivered.count == 1)
        #expect(delivered[0].envelope == nil)
    }
}

@Suite struct RetryAndDeadLetterTests {
    @Test func retryGoesThroughTheDelayedSetWithBackoff() async throws {
        let fixture = QueueFixture()
        let job = fixture.job()
        _ = try await fixture.queue.enqueue(job)
        let consumer = fixture.consumer()
        let first = try await consumer.markStarted(try await fixture.drain(consumer, count: 1))
        try await consumer.settle(first[0], error: "boom", outcome: .retry(after: .seconds(60)))
        let status = try #require(try await fixture.queue.status(tenant: fixture.tenant, id: job.id))
        #expect(status.state == .retrying)
        #expect(status.lastError == "boom")
        // Not due yet: nothing moves, nothing to read.
        #expect(try await consumer.promoteDueJobs() == 0)
        #expect(try await consumer.fetch(limit: 5).isEmpty)
        // Time passes: make it due now (in the tenant's set and in the index).
        let now = String(Clock.milliseconds())
        try await fixture.redis.send("ZADD", RedisKeys.delayed(tenant: fixture.tenant, kind: .noop), now, job.id)
        try await fixture.redis.send("ZADD", RedisKeys.delayedIndex(kind: .noop), now, fixture.tenant.rawValue)
        #expect(try await consumer.promoteDueJobs() == 1)
        let second = try await fixture.drain(consumer, count: 1)
        #expect(second.first?.envelope?.attempt == 2)
        #expect(second.first?.attempt == 2)
        #expect(try await fixture.state(job.id) == .queued)
    }

    @Test func deadLetterThenReplay() async throws {
        let fixture = QueueFixture()
        let job = fixture.job(payload: #"{"poison":true}"#)
        _ = try await fixture.queue.enqueue(job)
        let consumer = fixture.consumer()
        let delivered = try await consumer.markStarted(try await fixture.drain(consumer, count: 1))
        try await consumer.settle(delivered[0], error: "out of attempts", outcome: .deadLetter)
        #expect(try await fixture.state(job.id) == .dead)
        let letters = try await fixture.queue.deadLetters(tenant: fixture.tenant, kind: .noop)
        #expect(letters.count == 1)
        #expect(letters[0].envelope?.id == job.id)
        #expect(letters[0].error == "out of attempts")

        #expect(try await fixture.queue.replay(tenant: fixture.tenant, kind: .noop, letters[0]) == job.id)
        #expect(try await fixture.queue.deadLetters(tenant: fixture.tenant, kind: .noop).isEmpty)
        #expect(try await fixture.state(job.id) == .queued)
        let again = try await fixture.drain(consumer, count: 1)
        #expect(again.first?.envelope?.id == job.id)
        #expect(again.first?.attempt == 1)
        // A replay is a generation of its own: its lifecycle audit keys are new.
        #expect(again.first?.envelope?.replay == 1)
        let first = JobLifecycleEvent(name: .started, job: job, attempt: 1)
        let replayed = JobLifecycleEvent(name: .started, job: try #require(again.first?.envelope), attempt: 1)
        #expect(first.eventKey != replayed.eventKey)
        // Replayed once, it is gone from the dead letters.
        #expect(try await fixture.queue.replay(tenant: fixture.tenant, kind: .noop, letters[0]) == nil)
    }

    /// A replay of all dead letters replays those there are when it starts, not the ones
    /// dead-lettered again meanwhile.
    @Test func aReplaySnapshotExcludesLaterDeadLetters() async throws {
        let fixture = QueueFixture()
        let consumer = fixture.consumer()
        func deadLetter(_ job: JobEnvelope) async throws {
            _ = try await fixture.queue.enqueue(job)
            let delivered = try await consumer.markStarted(try await fixture.drain(consumer, count: 1))
            try await consumer.settle(delivered[0], error: "poison", outcome: .deadLetter)
        }
        for _ in 0..<3 { try await deadLetter(fixture.job(payload: #"{"poison":true}"#)) }
        let snapshot = try await fixture.queue.deadLetterSnapshot(tenant: fixture.tenant, kind: .noop)
        #expect(snapshot.count == 3)
        try await deadLetter(fixture.job(payload: #"{"poison":true}"#))
        #expect(try await fixture.queue.deadLetterSnapshot(tenant: fixture.tenant, kind: .noop, limit: 2).count == 2)
        var replayed = 0
        for letter in snapshot where try await fixture.queue.replay(tenant: fixture.tenant, kind: .noop, letter) != nil { replayed += 1 }
        #expect(replayed == 3)
        #expect(try await fixture.queue.deadLetters(tenant: fixture.tenant, kind: .noop).count == 1)
    }

    @Test func permanentFailureIsRecorded() async throws {
        let fixture = QueueFixture()
        let job = fixture.job()
        _ = try await fixture.queue.enqueue(job)
        let consumer = fixture.consumer()
        let delivered = try await consumer.markStarted(try await fixture.drain(consumer, count: 1))
        try await consumer.settle(delivered[0], error: "policy denied gmail.send", outcome: .fail)
        let status = try #require(try await fixture.queue.status(tenant: fixture.tenant, id: job.id))
        #expect(status.state == .failed)
        #expect(status.lastError == "policy denied gmail.send")
        #expect(try await fixture.queue.deadLetters(tenant: fixture.tenant, kind: .noop).isEmpty)
    }
}

@Suite struct DelayAndCancelTests {
    @Test func delayedJobNeverRunsBeforeItsTime() async throws {
        let fixture = QueueFixture()
        let runAt = Clock.milliseconds() + 800
        let job = fixture.job(runAt: runAt)
        _ = try await fixture.queue.enqueue(job)
        let consumer = fixture.consumer()
        var delivered: [DeliveredJob] = []
        while delivered.isEmpty {
            try await consumer.promoteDueJobs()
            delivered = try await consumer.fetch(limit: 1)
            if delivered.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(Clock.milliseconds() >= runAt)
        #expect(delivered[0].envelope?.id == job.id)
    }

    @Test func delayedIndexSurvivesAConcurrentEarlierJob() async throws {
        let fixture = QueueFixture()
        let consumer = fixture.consumer()
        let later = fixture.job(runAt: Clock.milliseconds() + 60_000)
        _ = try await fixture.queue.enqueue(later)
        let soon = fixture.job(runAt: Clock.milliseconds() + 200)
        _ = try await fixture.queue.enqueue(soon)
        let score = try await fixture.redis.send("ZSCORE", RedisKeys.delayedIndex(kind: .noop), fixture.tenant.rawValue).int
        #expect(score == soon.runAt)
        try await Task.sleep(for: .milliseconds(250))
        #expect(try await consumer.promoteDueJobs() == 1)
        let next = try await fixture.redis.send("ZSCORE", RedisKeys.delayedIndex(kind: .noop), fixture.tenant.rawValue).int
        #expect(next == later.runAt)
    }

    @Test func cancelQueuedAndDelayedJobs() async throws {
        let fixture = QueueFixture()
        let queued = fixture.job()
        let delayed = fixture.job(runAt: Clock.milliseconds() + 200)
        let running = fixture.job()
        _ = try await fixture.queue.enqueue([queued, delayed])
        #expect(try await fixture.queue.cancel(tenant: fixture.tenant, id: queued.id) == .cancelled)
        #expect(try await fixture.queue.cancel(tenant: fixture.tenant, id: delayed.id) == .cancelled)
        #expect(try await fixture.queue.cancel(tenant: fixture.tenant, id: JobID.make()) == .notFound)
        #expect(try await fixture.queue.cancel(tenant: TestEnvironment.tenant(), id: queued.id) == .notFound)

        _ = try await fixture.queue.enqueue(running)
        let consumer = fixture.consumer()
        let delivered = try await fixture.drain(consumer, count: 2)
        let started = try await consumer.markStarted(delivered)
        // The cancelled job is dropped unrun; the other one runs and cannot be cancelled now.
        #expect(started.map { $0.envelope!.id } == [running.id])
        #expect(try await fixture.queue.cancel(tenant: fixture.tenant, id: running.id) == .notCancellable(.running))
        try await Task.sleep(for: .milliseconds(250))
        #expect(try await consumer.promoteDueJobs() == 0)
        #expect(try await fixture.state(queued.id) == .cancelled)
        #expect(try await fixture.state(delayed.id) == .cancelled)
        #expect(try await fixture.queue.stats(kind: .noop, tenants: [fixture.tenant]).pending == 1)
    }
}

@Suite struct BackoffTests {
    @Test func exponentialWithJitterAndCap() {
        let backoff = RetryBackoff(base: .milliseconds(100), maximum: .seconds(1))
        var rng = SystemRandomNumberGenerator()
        for attempt in 1...10 {
            let ceiling = min(1000, 100 << (attempt - 1))
            for _ in 0..<20 {
                let delay = backoff.delay(afterAttempt: attempt, using: &rng).milliseconds
                #expect(delay >= Int64(ceiling / 2) && delay <= Int64(ceiling))
            }
        }
    }
}

@Suite struct StreamEntryIDTests {
    /// A batch's newest entry (what its completion trims up to) is found by number, not by text.
    @Test func theNewestEntryOfABatchComparesMillisecondsThenSequence() {
        #expect(QueueScripts.newest(["5-3", "10-1", "9-99", "10-0"]) == "10-1")
        #expect(QueueScripts.newest(["1700000000000-9", "1700000000000-10"]) == "1700000000000-10")
        #expect(QueueScripts.newest(["42-0"]) == "42-0")
        #expect(QueueScripts.newest([String]()) == nil)
    }
}
