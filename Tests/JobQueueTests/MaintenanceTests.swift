import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@testable import JobQueue

@Suite struct ReadingRoundTests {
    /// A fetch hands over what its first round of tenants held instead of reading on until its
    /// limit is filled: jobs already read do not wait while more tenants are read.
    @Test func aFetchHandsOverTheJobsOfItsFirstRound() async throws {
        let fixture = QueueFixture { $0.tenantsPerRound = 2 }
        let tenants = (0..<5).map { _ in TestEnvironment.tenant("round") }
        _ = try await fixture.queue.enqueue(tenants.map { fixture.job(tenant: $0) })
        let consumer = fixture.consumer()
        var sizes: [Int] = []
        var seen = Set<String>()
        while true {
            let batch = try await consumer.fetch(limit: 100)
            if batch.isEmpty { break }
            sizes.append(batch.count)
            seen.formUnion(batch.compactMap(\.envelope?.id))
        }
        #expect(sizes == [2, 2, 1])
        #expect(seen.count == 5)
        // The last releases are done before the next fetch takes: the index is empty.
        #expect(try await fixture.redis.send("HLEN", RedisKeys.readyCounts(kind: .noop)).int == 0)
        #expect(try await fixture.redis.send("SCARD", RedisKeys.readyTenants(kind: .noop)).int == 0)
        #expect(try await fixture.redis.send("ZCARD", RedisKeys.readyLeases(kind: .noop)).int == 0)
    }
}

@Suite struct MaintenanceTurnTests {
    /// A walk over every tenant is done by one consumer of the kind per interval, not by each.
    @Test func oneConsumerPerIntervalTakesATurn() async throws {
        let fixture = QueueFixture()
        let first = fixture.consumer()
        let second = fixture.consumer()
        #expect(try await first.takeTurn(.stalledSweep, every: .seconds(60)))
        #expect(try await !second.takeTurn(.stalledSweep, every: .seconds(60)))
        #expect(try await !first.takeTurn(.stalledSweep, every: .seconds(60)), "a turn per interval, not per consumer")
        // Duties are independent; a turn that ran out goes to whoever asks next.
        #expect(try await second.takeTurn(.stats, every: .milliseconds(200)))
        var taken = false
        for _ in 0..<100 where !taken {
            try await Task.sleep(for: .milliseconds(100))
            taken = try await first.takeTurn(.stats, every: .milliseconds(200))
        }
        #expect(taken)
        // A dedicated pool walks its own tenants every time.
        let dedicated = fixture.consumer(tenants: [fixture.tenant])
        #expect(try await dedicated.takeTurn(.stalledSweep, every: .seconds(60)))
        #expect(try await dedicated.takeTurn(.stalledSweep, every: .seconds(60)))
    }

    /// The queue figures are sampled by the consumer whose turn it is and read by the others:
    /// they see that sample until the next turn samples again.
    @Test func queueFiguresAreSampledOnceAndShared() async throws {
        let fixture = QueueFixture()
        let first = fixture.consumer()
        let second = fixture.consumer()
        let turn = RedisKeys.maintenanceTurn(kind: .noop, duty: JobConsumer.Duty.stats.rawValue)
        #expect(try await second.fleetStats(every: .seconds(60)) == JobQueue.Stats(tenants: 0), "nothing queued yet")
        _ = try await fixture.queue.enqueue((0..<3).map { _ in fixture.job() })
        // Not its turn: the sample the other consumer stored.
        #expect(try await first.fleetStats(every: .seconds(60)) == JobQueue.Stats(tenants: 0))
        // The turn runs out: the next to ask samples again, and the others read that.
        try await fixture.redis.send("DEL", turn).orThrow("end the turn")
        let sampled = try await first.fleetStats(every: .seconds(60))
        #expect(sampled?.depth == 3)
        #expect(sampled?.lag == 3)
        #expect(sampled?.tenants == 1)
        #expect(try await second.fleetStats(every: .seconds(60)) == sampled)
        #expect(try await fixture.redis.send("PTTL", RedisKeys.queueStats(kind: .noop)).int ?? 0 > 0, "figures no one refreshes expire")
    }

    /// A paced walk sums every chunk: figures and stalled streams over hundreds of tenants.
    @Test func pacedWalksCoverEveryTenant() async throws {
        let fixture = QueueFixture { $0.visibilityTimeout = .milliseconds(100) }
        let tenants = (0..<250).map { _ in TestEnvironment.tenant("walk") }
        _ = try await fixture.queue.enqueue(tenants.map { fixture.job(tenant: $0) })
        let stats = try await fixture.queue.stats(kind: .noop, pause: .milliseconds(1))
        #expect(stats.tenants == 250)
        #expect(stats.depth == 250)
        // Every job delivered and left pending (as by a worker that died), however slow the
        // machine is.
        let holder = fixture.consumer()
        var read = 0
        for _ in 0..<1_000 where read < 250 {
            let batch = try await holder.fetch(limit: 250 - read)
            if batch.isEmpty { try await holder.waitForWork(timeout: .milliseconds(100)) }
            read += batch.count
        }
        #expect(read == 250)
        try await Task.sleep(for: .milliseconds(300))
        let stalled = try await fixture.consumer().stalledTenants(pause: .milliseconds(1))
        #expect(Set(stalled) == Set(tenants))
    }
}
