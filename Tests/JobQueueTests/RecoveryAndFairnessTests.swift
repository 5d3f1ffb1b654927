import Contracts
import Foundation
import RedisClient
import Synchronization
import TestSupport
import Testing

@testable import JobQueue

@Suite struct RecoveryTests {
    @Test func orphanedEntriesAreReclaimedWithTheirDeliveryCount() async throws {
        let visibility = Duration.seconds(4)
        let fixture = QueueFixture { $0.visibilityTimeout = visibility }
        let job = fixture.job()
        _ = try await fixture.queue.enqueue(job)
        let dead = fixture.consumer(name: "dead-worker")
        let beforeDelivery = ContinuousClock.now
        let delivered = try await dead.markStarted(try await fixture.drain(dead, count: 1))
        let afterDelivery = ContinuousClock.now
        #expect(delivered.count == 1)
        let live = fixture.consumer(name: "live-worker")
        let early = try await live.reclaimStalled(limit: 10)
        // Not idle long enough yet (checked only when this machine got here in time).
        if ContinuousClock.now - beforeDelivery < visibility { #expect(early.isEmpty) }
        var reclaimed = early
        if early.isEmpty {
            try await Task.sleep(until: afterDelivery + visibility + .milliseconds(100))
            reclaimed = try await live.reclaimStalled(limit: 10)
        }
        #expect(reclaimed.count == 1)
        #expect(reclaimed[0].envelope?.id == job.id)
        #expect(reclaimed[0].deliveries == 2)
        #expect(reclaimed[0].attempt == 2)
        let started = try await live.markStarted(reclaimed)
        #expect(try await live.complete(started) == [true])
        // The dead worker's late acknowledgement changes nothing.
        #expect(try await dead.complete(delivered) == [false])
        #expect(try await fixture.state(job.id) == .succeeded)
    }

    /// Once a reclaimed job finishes and nothing is pending, the stream holds nothing: the
    /// entries finished while it was stalled are deleted with it, not left for the next job.
    @Test func aReclaimedJobsCompletionTrimsEverythingDelivered() async throws {
        let fixture = QueueFixture { $0.visibilityTimeout = .milliseconds(500) }
        let stalled = fixture.job()
        _ = try await fixture.queue.enqueue(stalled)
        let dead = fixture.consumer(name: "dead-worker")
        _ = try await dead.markStarted(try await fixture.drain(dead, count: 1))
        _ = try await fixture.queue.enqueue([fixture.job(), fixture.job()])
        let live = fixture.consumer(name: "live-worker")
        let others = try await live.markStarted(try await fixture.drain(live, count: 2))
        #expect(try await live.complete(others) == [true, true])
        let stream = RedisKeys.stream(tenant: fixture.tenant, kind: .noop)
        // The stalled entry is still pending: nothing from it on may go.
        #expect(try await fixture.redis.send("XLEN", stream).int == 3)
        try await Task.sleep(for: .milliseconds(700))
        let reclaimed = try await live.markStarted(try await live.reclaimStalled(limit: 10))
        #expect(reclaimed.map { $0.envelope?.id } == [stalled.id])
        #expect(try await live.complete(reclaimed) == [true])
        #expect(try await fixture.redis.send("XLEN", stream).int == 0)
    }

    @Test func extendedClaimsAreNotReclaimed() async throws {
        // The claim is held well past the visibility timeout, with room for a loaded machine
        // between extensions: a whole test run shares the machine with worker and provider
        // processes, and its process has been seen to stall for 7.5 s; 9.3 s of room, and a
        // look that came 9 s or more after its extension proves nothing and is not counted.
        let fixture = QueueFixture { $0.visibilityTimeout = .seconds(10) }
        _ = try await fixture.queue.enqueue(fixture.job())
        let busy = fixture.consumer(name: "busy-worker")
        let delivered = try await busy.markStarted(try await fixture.drain(busy, count: 1))
        let other = fixture.consumer(name: "other-worker")
        var looked = 0
        for _ in 0..<20 {
            try await Task.sleep(for: .milliseconds(700))
            let extended = ContinuousClock.now
            try await busy.extendClaims(delivered)
            let reclaimed = try await other.reclaimStalled(limit: 10)
            guard ContinuousClock.now - extended < .seconds(9) else {
                // A stall long enough for the claim to lapse: the rest would tell nothing.
                if !reclaimed.isEmpty { return }
                continue
            }
            #expect(reclaimed.isEmpty)
            looked += 1
        }
        #expect(looked > 0, "every look came too late to tell")
        #expect(try await busy.complete(delivered) == [true])
    }

    @Test func deadConsumersAreRemovedOnlyWhenTheyHoldNothing() async throws {
        let fixture = QueueFixture { $0.deadConsumerAfter = .milliseconds(300) }
        _ = try await fixture.queue.enqueue([fixture.job(), fixture.job()])
        let holder = fixture.consumer(tenants: [fixture.tenant], name: "holder")
        _ = try await holder.fetch(limit: 1)
        let idle = fixture.consumer(tenants: [fixture.tenant], name: "idler")
        let taken = try await idle.fetch(limit: 1)
        _ = try await idle.complete(taken)
        let janitor = fixture.consumer(tenants: [fixture.tenant], name: "janitor")
        try await janitor.heartbeat()
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await janitor.removeDeadConsumers() == 1)
        let info = try await fixture.redis.send(
            "XINFO", "CONSUMERS", RedisKeys.stream(tenant: fixture.tenant, kind: .noop), RedisKeys.consumerGroup)
        let names = (info.array ?? []).compactMap { StreamEntry.dictionary($0.array ?? [])["name"]?.string }
        #expect(names.contains("holder"))
        #expect(!names.contains("idler"))
    }
}

extension RecoveryTests {
    @Test func aConsumerThatResignsIsNoLongerCountedAsServingItsKind() async throws {
        let fixture = QueueFixture()
        let first = fixture.consumer(tenants: [fixture.tenant], name: "first")
        let second = fixture.consumer(tenants: [fixture.tenant], name: "second")
        #expect(try await fixture.queue.liveConsumers(kind: .noop) == 0)
        try await first.heartbeat()
        try await second.heartbeat()
        #expect(try await fixture.queue.liveConsumers(kind: .noop) == 2)
        try await first.resign()
        #expect(try await fixture.queue.liveConsumers(kind: .noop) == 1)
        try await second.resign()
        #expect(try await fixture.queue.liveConsumers(kind: .noop) == 0)
    }
}

@Suite struct FairnessTests {
    @Test func aFloodedTenantDoesNotDelayAnotherTenantsJob() async throws {
        let fixture = QueueFixture()
        let flooded = TestEnvironment.tenant("flood")
        let quiet = TestEnvironment.tenant("quiet")
        _ = try await fixture.queue.enqueue((0..<20_000).map { _ in fixture.job(tenant: flooded) })
        let single = fixture.job(tenant: quiet)
        _ = try await fixture.queue.enqueue(single)
        let consumer = fixture.consumer()
        var batches = 0
        var found = false
        while !found && batches < 100 {
            let batch = try await consumer.fetch(limit: 64)
            batches += 1
            found = batch.contains { $0.envelope?.id == single.id }
        }
        #expect(found)
        #expect(batches <= 3, "the quiet tenant's job came in batch \(batches)")
    }

    @Test func thousandTenantsAreServedWithoutMultiKeyReads() async throws {
        let server = try await PrivateRedis()
        let redis = RedisClient(configuration: server.configuration(), logger: TestEnvironment.logger)
        defer { redis.close() }
        let queue = JobQueue(redis: redis, logger: TestEnvironment.logger)
        let tenants = (0..<1000).map { try! TenantID("t\($0)") }
        let jobs = tenants.flatMap { tenant in
            (0..<3).map { _ in JobEnvelope(tenant: tenant, kind: .noop, action: .noopRun, requester: Requester(user: "u")) }
        }
        _ = try await queue.enqueue(jobs)
        let monitor = try await RedisMonitor.start(port: server.port)
        let consumer = JobConsumer(queue: queue, kind: .noop)
        var seen = Set<String>()
        while seen.count < jobs.count {
            let batch = try await consumer.fetch(limit: 256)
            if batch.isEmpty { break }
            seen.formUnion(batch.compactMap(\.envelope?.id))
        }
        #expect(seen.count == jobs.count)
        // The lap that finds every stream drained retires the tenants from the ready set.
        _ = try await consumer.fetch(limit: 256)
        _ = try await consumer.fetch(limit: 256)
        let reads = try await monitor.stop(after: redis).filter { $0.contains("\"XREADGROUP\"") }
        #expect(!reads.isEmpty)
        for read in reads {
            #expect(read.components(separatedBy: ":stream:").count == 2, "one stream per read: \(read.prefix(300))")
        }
        // All drained: the ready set is empty again.
        #expect(try await redis.send("HLEN", RedisKeys.readyCounts(kind: .noop)).int == 0)
        #expect(try await redis.send("SCARD", RedisKeys.readyTenants(kind: .noop)).int == 0)
    }

    @Test func concurrentProducersAndConsumersStrandNothing() async throws {
        let fixture = QueueFixture()
        let tenants = (0..<20).map { _ in TestEnvironment.tenant("c") }
        let total = 2_000
        let consumers = (0..<4).map { _ in fixture.consumer() }
        // Consumers stop once every job arrived, or after a long silence (a loaded machine may
        // take seconds to run the producer at all).
        final class Arrived: Sendable { let count = Atomic<Int>(0) }
        let arrived = Arrived()
        let received = try await withThrowingTaskGroup(of: [String].self) { group in
            group.addTask {
                for round in 0..<(total / 100) {
                    let batch = (0..<100).map { index in fixture.job(tenant: tenants[(round + index) % tenants.count]) }
                    _ = try await fixture.queue.enqueue(batch)
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...5)))
                }
                return []
            }
            for consumer in consumers {
                group.addTask {
                    var ids: [String] = []
                    var idleSince = ContinuousClock.now
                    while arrived.count.load(ordering: .relaxed) < total && ContinuousClock.now - idleSince < .seconds(15) {
                        let batch = try await consumer.fetch(limit: 50)
                        if batch.isEmpty {
                            try await consumer.waitForWork(timeout: .milliseconds(200))
                        } else {
                            idleSince = .now
                            ids += batch.compactMap(\.envelope?.id)
                            arrived.count.add(batch.count, ordering: .relaxed)
                            _ = try await consumer.complete(batch)
                        }
                    }
                    return ids
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(received.count == total)
        #expect(Set(received).count == total)
    }
}

@Suite struct TenantIsolationTests {
    @Test func workingTenantATouchesOnlyItsOwnKeysAndGlobalIndexes() async throws {
        let server = try await PrivateRedis()
        let redis = RedisClient(configuration: server.configuration(), logger: TestEnvironment.logger)
        defer { redis.close() }
        var configuration = QueueConfiguration()
        configuration.visibilityTimeout = .milliseconds(200)
        let queue = JobQueue(redis: redis, configuration: configuration, logger: TestEnvironment.logger)
        let tenantA = try TenantID("tenant-a")
        let tenantB = try TenantID("tenant-b")
        func job(_ tenant: TenantID, runAt: Int64? = nil) -> JobEnvelope {
            JobEnvelope(tenant: tenant, kind: .noop, action: .noopRun, requester: Requester(user: "u"), runAt: runAt)
        }
        _ = try await queue.enqueue((0..<5).map { _ in job(tenantB) } + [job(tenantB, runAt: Clock.milliseconds() + 100)])
        let monitor = try await RedisMonitor.start(port: server.port)
        _ = try await queue.enqueue((0..<5).map { _ in job(tenantA) } + [job(tenantA, runAt: Clock.milliseconds() + 100)])
        let consumer = JobConsumer(queue: queue, kind: .noop, tenants: [tenantA])
        try await Task.sleep(for: .milliseconds(150))
        try await consumer.promoteDueJobs()
        let delivered = try await consumer.fetch(limit: 10)
        let started = try await consumer.markStarted(delivered)
        _ = try await consumer.complete(Array(started.dropFirst()))
        try await consumer.settle(started[0], error: "x", outcome: .retry(after: .milliseconds(10)))
        _ = try await consumer.reclaimStalled(limit: 10)
        try await consumer.extendClaims(started)
        _ = try await queue.status(tenant: tenantA, id: started[0].envelope!.id)
        let lines = try await monitor.stop(after: redis)
        #expect(lines.count > 10)
        let global = ["oc:{ready:noop}:", "oc:tenants:", "oc:delayed:", "oc:wake:", "oc:consumers:"]
        for line in lines {
            #expect(!line.contains("tenant-b"), "touched tenant B: \(line.prefix(300))")
            let keys = line.components(separatedBy: "\"").enumerated().filter { $0.offset % 2 == 1 }.map(\.element).filter {
                $0.hasPrefix("oc:")
            }
            for key in keys {
                // `oc:{t:tenant-a}` alone is the key prefix scripts derive per-job keys from.
                #expect(key.hasPrefix("oc:{t:tenant-a}") || global.contains { key.hasPrefix($0) }, "unexpected key \(key)")
            }
        }
    }
}
