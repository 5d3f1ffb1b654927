import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@testable import JobQueue

/// The ready index at scale: thousands of tenants in one keyspace.
@Suite struct ReadyIndexTests {
    private func jobs(_ tenant: TenantID, _ count: Int) -> [JobEnvelope] {
        (0..<count).map { _ in JobEnvelope(tenant: tenant, kind: .noop, action: .noopRun, requester: Requester(user: "u")) }
    }

    /// 3,000 tenants with work, one of them with 20,000 jobs, then a newcomer with one job: the
    /// newcomer waits for one quantum of each tenant ahead of it, so the big tenant gets at most
    /// one quantum before it, however deep its backlog.
    @Test func aNewcomerWaitsOneQuantumOfEachTenantAheadAmongThousands() async throws {
        let fixture = QueueFixture()
        let big = TestEnvironment.tenant("big")
        let small = (0..<3_000).map { _ in TestEnvironment.tenant("s") }
        _ = try await fixture.queue.enqueue(jobs(big, 20_000))
        _ = try await fixture.queue.enqueue(small.flatMap { jobs($0, 2) })
        let newcomer = fixture.job(tenant: TestEnvironment.tenant("new"))
        _ = try await fixture.queue.enqueue(newcomer)
        let consumer = fixture.consumer()
        var bigBefore = 0
        var smallBefore = 0
        var found = false
        var fetches = 0
        while !found && fetches < 1_000 {
            fetches += 1
            for job in try await consumer.fetch(limit: 256) {
                if job.envelope?.id == newcomer.id { found = true }
                if found { continue }
                if job.tenant == big { bigBefore += 1 } else { smallBefore += 1 }
            }
        }
        #expect(found)
        let quantum = fixture.queue.configuration.tenantBatch
        #expect(bigBefore <= quantum, "the big tenant got \(bigBefore) jobs before the newcomer's one")
        #expect(smallBefore == small.count * 2, "every tenant ahead is served in full first")
    }

    /// Thousands of tenants that had work and are idle now: a job enqueued to one of them is
    /// found with one read of its stream, not by walking the others, and the consumer waiting
    /// for work is woken by it.
    @Test func aJobOfAnIdleTenantAmongThousandsIsFoundWithOneRead() async throws {
        let server = try await PrivateRedis()
        let redis = RedisClient(configuration: server.configuration(), logger: TestEnvironment.logger)
        defer { redis.close() }
        let queue = JobQueue(redis: redis, logger: TestEnvironment.logger)
        let tenants = (0..<5_000).map { try! TenantID("idle-\($0)") }
        _ = try await queue.enqueue(tenants.flatMap { jobs($0, 1) })
        let consumer = JobConsumer(queue: queue, kind: .noop)
        defer { consumer.close() }
        var drained = 0
        while drained < tenants.count {
            let batch = try await consumer.fetch(limit: 256)
            if batch.isEmpty { break }
            drained += batch.count
            _ = try await consumer.complete(try await consumer.markStarted(batch))
        }
        #expect(drained == tenants.count)
        #expect(try await redis.send("HLEN", RedisKeys.readyCounts(kind: .noop)).int == 0)
        #expect(try await redis.send("SCARD", RedisKeys.readyTenants(kind: .noop)).int == 0)
        #expect(try await redis.send("SCARD", RedisKeys.knownTenants(kind: .noop)).int == 5_000)

        let monitor = try await RedisMonitor.start(port: server.port)
        let woken = Task {
            try await consumer.waitForWork(timeout: .seconds(1))
            return try await consumer.fetch(limit: 256)
        }
        try await Task.sleep(for: .milliseconds(100))
        let job = JobEnvelope(tenant: tenants[4321], kind: .noop, action: .noopRun, requester: Requester(user: "u"))
        _ = try await queue.enqueue(job)
        var delivered = try await woken.value
        if delivered.isEmpty { delivered = try await consumer.fetch(limit: 256) }
        let commands = try await monitor.stop(after: redis)
        #expect(delivered.map { $0.envelope?.id } == [job.id])
        let reads = commands.filter { $0.contains("\"XREADGROUP\"") || $0.contains("\"XAUTOCLAIM\"") }
        #expect(reads.count == 1, "reads to find the job: \(reads.count)")
        #expect(reads.allSatisfy { $0.contains("idle-4321") })
    }

    /// A producer that appends and marks while a consumer reads the tenant's stream dry: the
    /// release sees the mark and keeps the tenant in the index, so the job is not stranded.
    @Test func aTenantMarkedDuringItsVisitStaysReady() async throws {
        let fixture = QueueFixture()
        let tenant = fixture.tenant
        _ = try await fixture.queue.enqueue(fixture.job())
        let consumer = fixture.consumer()
        let grants = ReadyIndex.taken(
            try await fixture.redis.send(ReadyIndex.takeCommand(kind: .noop, wanted: 10, quantum: 64, tenants: 64, lease: .seconds(10))))
        #expect(grants.map(\.tenant) == [tenant])
        // The consumer's read, by hand: one entry.
        let first = try await consumer.fetchAsLeaseHolder(tenant, count: grants[0].readCount)
        #expect(first == 1)
        // A producer appends and marks after the read and before the release.
        let late = fixture.job()
        _ = try await fixture.queue.enqueue(late)
        try await fixture.redis.send(ReadyIndex.releaseCommand(kind: .noop, [grants[0].visit(read: first)])).orThrow("release")
        #expect(try await fixture.redis.send("HEXISTS", RedisKeys.readyCounts(kind: .noop), tenant.rawValue).int == 1)
        let next = try await consumer.fetch(limit: 10)
        #expect(next.map { $0.envelope?.id } == [late.id])
        // Read dry with no mark since: it leaves the index.
        #expect(try await consumer.fetch(limit: 10).isEmpty)
        #expect(try await fixture.redis.send("HLEN", RedisKeys.readyCounts(kind: .noop)).int == 0)
        #expect(try await fixture.redis.send("LLEN", RedisKeys.readyList(kind: .noop)).int == 0)
    }

    /// A take fills what is wanted with whole tenants: one that would be leased for part of its
    /// jobs because the wanted ran short stays at the head for the next take (a visit per
    /// tenant, not two half visits), unless it is the first of the take.
    @Test func aTakeDoesNotSplitATenantAfterTheFirst() async throws {
        let fixture = QueueFixture()
        let tenants = (0..<3).map { _ in TestEnvironment.tenant("w") }
        for tenant in tenants { _ = try await fixture.queue.enqueue(jobs(tenant, 5)) }
        func take(_ wanted: Int) async throws -> [ReadyIndex.Grant] {
            ReadyIndex.taken(
                try await fixture.redis.send(
                    ReadyIndex.takeCommand(kind: .noop, wanted: wanted, quantum: 64, tenants: 64, lease: .seconds(10))))
        }
        let first = try await take(7)
        #expect(first.map(\.tenant) == [tenants[0]] && first.map(\.jobs) == [5])
        let head = try await fixture.redis.send("LRANGE", RedisKeys.readyList(kind: .noop), "0", "-1").array?.compactMap(\.string)
        #expect(head == [tenants[1].rawValue, tenants[2].rawValue], "the tenant not taken kept its place")
        let second = try await take(3)
        #expect(second.map(\.tenant) == [tenants[1]] && second.map(\.jobs) == [3], "the first of a take may be split")
        let third = try await take(20)
        #expect(third.map(\.tenant) == [tenants[2]] && third.map(\.jobs) == [5])
    }

    /// A consumer that finds a kind's only tenant leased by another goes to wait for a wake-up;
    /// the holder, releasing it with work left, wakes the kind's consumers, so the waiting one
    /// reads at once instead of sleeping out its block while jobs wait. A tenant read dry wakes
    /// no one.
    @Test func releasingATenantWithWorkLeftWakesTheConsumersItKeptWaiting() async throws {
        let fixture = QueueFixture()
        _ = try await fixture.queue.enqueue(jobs(fixture.tenant, 5))
        let wakeups = RedisKeys.wakeups(kind: .noop)
        func newestWakeUp() async throws -> String? {
            try await fixture.redis.send("XREVRANGE", wakeups, "+", "-", "COUNT", "1").array?.first?.array?.first?.string
        }
        let holder = fixture.consumer()
        let waiting = fixture.consumer()
        let grants = ReadyIndex.taken(
            try await fixture.redis.send(ReadyIndex.takeCommand(kind: .noop, wanted: 2, quantum: 64, tenants: 64, lease: .seconds(10))))
        #expect(grants.map(\.tenant) == [fixture.tenant])
        #expect(try await waiting.fetch(limit: 10).isEmpty, "the only tenant is leased")
        let enqueued = try await newestWakeUp()
        // The holder reads two of five and releases: back on the list, and a wake-up.
        let read = try await holder.fetchAsLeaseHolder(fixture.tenant, count: grants[0].readCount)
        #expect(read == 2)
        let released = try await fixture.redis.send(ReadyIndex.releaseCommand(kind: .noop, [grants[0].visit(read: read)]))
        #expect(ReadyIndex.relisted(released, [grants[0].visit(read: read)]) == [fixture.tenant])
        // What `fetch` does with that reply, end to end: a consumer's own fetch that leaves work
        // (its release, and the wake-up, follow the jobs' return).
        #expect(try await holder.fetch(limit: 1).count == 1)
        var woken = try await newestWakeUp()
        let deadline = ContinuousClock.now + .seconds(120)
        while woken == enqueued && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
            woken = try await newestWakeUp()
        }
        #expect(woken != nil && woken != enqueued)
        while try await fixture.redis.send("ZCARD", RedisKeys.readyLeases(kind: .noop)).int != 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try await waiting.fetch(limit: 10).count == 2)
        // Read dry: no wake-up.
        #expect(try await holder.fetch(limit: 10).isEmpty)
        #expect(try await newestWakeUp() == woken)
    }

    /// A tenant with plenty of work is shared, not leased: it stays on the list, so a second
    /// consumer reads it while the first holds its grant; every job is delivered once, the
    /// counts come down with the reads, and the drained tenant leaves the index.
    @Test func aTenantWithPlentyOfWorkIsReadByTwoConsumersAtOnce() async throws {
        let fixture = QueueFixture()
        let queued = jobs(fixture.tenant, 300)
        _ = try await fixture.queue.enqueue(queued)
        let first = fixture.consumer()
        let second = fixture.consumer()
        let grants = ReadyIndex.taken(
            try await fixture.redis.send(ReadyIndex.takeCommand(kind: .noop, wanted: 64, quantum: 64, tenants: 64, lease: .seconds(10))))
        #expect(grants.count == 1 && grants[0].isShared && grants[0].jobs == 64)
        #expect(try await fixture.redis.send("LLEN", RedisKeys.readyList(kind: .noop)).int == 1, "still on the list")
        #expect(try await fixture.redis.send("ZCARD", RedisKeys.readyLeases(kind: .noop)).int == 0)
        // The second consumer reads meanwhile.
        var delivered = try await second.fetch(limit: 64).compactMap { $0.envelope?.id }
        #expect(delivered.count == 64)
        let read = try await first.fetchAsLeaseHolder(fixture.tenant, count: grants[0].readCount)
        #expect(read == 64)
        let released = try await fixture.redis.send(ReadyIndex.releaseCommand(kind: .noop, [grants[0].visit(read: read)]))
        #expect(released.array?.first?.int == 1)
        // Each consumer finding nothing waits for work, as workers do: the tenant may be held
        // by the other one, whose release (after its fetch returned) puts it back and wakes it.
        var fetches = 0
        while delivered.count < 300 - 64 && fetches < 200 {
            fetches += 1
            let consumer = fetches.isMultiple(of: 2) ? first : second
            let jobs = try await consumer.fetch(limit: 50)
            if jobs.isEmpty { try await consumer.waitForWork(timeout: .milliseconds(100)) }
            delivered += jobs.compactMap { $0.envelope?.id }
        }
        #expect(delivered.count == 300 - 64)
        #expect(try await first.fetch(limit: 50).isEmpty, "nothing left")
        #expect(try await second.fetch(limit: 50).isEmpty, "nothing left")
        #expect(Set(delivered).count == delivered.count, "no job delivered twice")
        #expect(Set(delivered).isSubset(of: Set(queued.map(\.id))))
        // The releases follow the reads; once they are in, the tenant is gone from the index.
        let deadline = ContinuousClock.now + .seconds(120)
        while try await fixture.redis.send("HLEN", RedisKeys.readyCounts(kind: .noop)).int != 0 && ContinuousClock.now < deadline {
            _ = try await first.fetch(limit: 50)
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try await fixture.redis.send("SCARD", RedisKeys.readyTenants(kind: .noop)).int == 0)
        #expect(try await fixture.redis.send("HLEN", RedisKeys.readyCounts(kind: .noop)).int == 0)
    }

    /// A consumer that dies holding tenants loses them when its lease runs out; its late
    /// release changes nothing.
    @Test func tenantsLeasedByADeadConsumerAreServedAfterTheLease() async throws {
        let lease = Duration.seconds(2)
        let fixture = QueueFixture { $0.readyLease = lease }
        let queued = fixture.job()
        _ = try await fixture.queue.enqueue(queued)
        let leasedAt = ContinuousClock.now
        let grants = ReadyIndex.taken(
            try await fixture.redis.send(ReadyIndex.takeCommand(kind: .noop, wanted: 10, quantum: 64, tenants: 64, lease: lease)))
        #expect(grants.count == 1)
        let live = fixture.consumer()
        let early = try await live.fetch(limit: 10)
        // Checked only when this run got there within the lease (a loaded machine may not).
        if ContinuousClock.now - leasedAt < lease { #expect(early.isEmpty, "leased tenants are not taken twice") }
        try await Task.sleep(until: leasedAt + lease + .milliseconds(100))
        let delivered = early.isEmpty ? try await live.fetch(limit: 10) : early
        #expect(delivered.map { $0.envelope?.id } == [queued.id])
        let late = try await fixture.redis.send(ReadyIndex.releaseCommand(kind: .noop, [grants[0].visit(read: 0)]))
        #expect(late.array?.first?.int == 0)
    }

    /// A consumer whose lease ran out while another took the tenant: its late release touches
    /// nothing, and the holder's release still works.
    @Test func aLateReleaseDoesNotTouchAnotherConsumersLease() async throws {
        let fixture = QueueFixture()
        _ = try await fixture.queue.enqueue(fixture.job())
        func take(_ lease: Duration) async throws -> [ReadyIndex.Grant] {
            ReadyIndex.taken(
                try await fixture.redis.send(ReadyIndex.takeCommand(kind: .noop, wanted: 10, quantum: 64, tenants: 64, lease: lease)))
        }
        let first = try await take(.milliseconds(50))
        try await Task.sleep(for: .milliseconds(150))
        let second = try await take(.seconds(60))
        #expect(first.map(\.tenant) == [fixture.tenant] && second.map(\.tenant) == [fixture.tenant])
        // The first consumer's late release says the stream ran dry: nothing changes.
        let late = try await fixture.redis.send(ReadyIndex.releaseCommand(kind: .noop, [first[0].visit(read: 0)]))
        #expect(late.array?.first?.int == 0)
        let held = try await fixture.redis.send("ZSCORE", RedisKeys.readyLeases(kind: .noop), fixture.tenant.rawValue)
        #expect(held.string.flatMap { Int64($0) } == second[0].lease)
        #expect(try await fixture.redis.send("HEXISTS", RedisKeys.readyCounts(kind: .noop), fixture.tenant.rawValue).int == 1)
        // The holder's release, with more to read: back on the list.
        let released = try await fixture.redis.send(
            ReadyIndex.releaseCommand(kind: .noop, [second[0].visit(read: second[0].readCount)]))
        #expect(released.array?.first?.int == 2)
        #expect(try await fixture.redis.send("LLEN", RedisKeys.readyList(kind: .noop)).int == 1)
    }

    /// Tenants in the ready set of earlier versions are served after an upgrade.
    @Test func theEarlierReadySetIsAdopted() async throws {
        let fixture = QueueFixture()
        let stream = RedisKeys.stream(tenant: fixture.tenant, kind: .noop)
        let job = fixture.job()
        var add = RedisCommand("XADD", [stream, "*"])
        for field in job.fields { add.append(field) }
        try await fixture.redis.send(add)
        try await fixture.redis.send("SADD", RedisKeys.legacyReadyTenants(kind: .noop), fixture.tenant.rawValue)
        let delivered = try await fixture.consumer().fetch(limit: 10)
        #expect(delivered.map { $0.envelope?.id } == [job.id])
        #expect(try await fixture.redis.send("EXISTS", RedisKeys.legacyReadyTenants(kind: .noop)).int == 0)
    }

    /// The set is written only for a tenant whose count could make it shared (more than a
    /// quantum), for consumers of earlier versions; a tenant with one job costs it nothing, and
    /// every tenant leaves both when read dry.
    @Test func onlyATenantWithMoreThanAQuantumIsWrittenToTheSet() async throws {
        let fixture = QueueFixture { $0.tenantBatch = 4 }
        let small = fixture.tenant
        let big = TestEnvironment.tenant()
        _ = try await fixture.queue.enqueue([fixture.job(tenant: small)] + (0..<5).map { _ in fixture.job(tenant: big) })
        let set = RedisKeys.readyTenants(kind: .noop)
        #expect(try await fixture.redis.send("SISMEMBER", set, small.rawValue).int == 0)
        #expect(try await fixture.redis.send("SISMEMBER", set, big.rawValue).int == 1)
        #expect(try await fixture.redis.send("HLEN", RedisKeys.readyCounts(kind: .noop)).int == 2)
        #expect(try await fixture.redis.send("LLEN", RedisKeys.readyList(kind: .noop)).int == 2)
        let consumer = fixture.consumer()
        defer { consumer.close() }
        #expect(try await fixture.drain(consumer, count: 6).count == 6)
        let emptied = try await eventually {
            let nothing = try await consumer.fetch(limit: 10).isEmpty
            let counted = try await fixture.redis.send("HLEN", RedisKeys.readyCounts(kind: .noop)).int
            return nothing && counted == 0
        }
        #expect(emptied)
        #expect(try await fixture.redis.send("SCARD", set).int == 0)
        #expect(try await fixture.redis.send("LLEN", RedisKeys.readyList(kind: .noop)).int == 0)
    }

    /// During an upgrade, a producer of an earlier version marks a tenant this version's
    /// producer marked (it adds to the set, finds the tenant new there and lists it again):
    /// each job is read once, and the index empties.
    @Test func anEarlierProducersMarkOfATenantAlreadyIndexedStrandsNothing() async throws {
        let earlierMark = RedisScript(
            """
            local added = 0
            for i = 1, #ARGV, 2 do
              redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1])
              if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
                redis.call('RPUSH', KEYS[2], ARGV[i])
                added = added + 1
              end
            end
            return added
            """)
        let fixture = QueueFixture()
        let first = fixture.job()
        _ = try await fixture.queue.enqueue(first)
        let second = fixture.job()
        var add = RedisCommand("XADD", [RedisKeys.stream(tenant: fixture.tenant, kind: .noop), "*"])
        for field in second.fields { add.append(field) }
        try await fixture.redis.send(add).orThrow("XADD")
        let keys = [RedisKeys.readyTenants(kind: .noop), RedisKeys.readyList(kind: .noop), RedisKeys.readyCounts(kind: .noop)]
        #expect(try await fixture.redis.send(earlierMark.command(keys: keys, arguments: [fixture.tenant.rawValue, "1"])).int == 1)
        #expect(try await fixture.redis.send("LLEN", RedisKeys.readyList(kind: .noop)).int == 2)
        let consumer = fixture.consumer()
        defer { consumer.close() }
        var seen: [String] = []
        let emptied = try await eventually {
            seen += try await consumer.fetch(limit: 10).compactMap(\.envelope?.id)
            let counted = try await fixture.redis.send("HLEN", RedisKeys.readyCounts(kind: .noop)).int
            let listed = try await fixture.redis.send("LLEN", RedisKeys.readyList(kind: .noop)).int
            return counted == 0 && listed == 0
        }
        #expect(emptied)
        #expect(seen.sorted() == [first.id, second.id].sorted())
        #expect(try await fixture.redis.send("SCARD", RedisKeys.readyTenants(kind: .noop)).int == 0)
    }
}

extension JobConsumer {
    /// Reads up to `count` new entries of one tenant, as a lease holder would, without the index.
    func fetchAsLeaseHolder(_ tenant: TenantID, count: Int) async throws -> Int {
        let stream = RedisKeys.stream(tenant: tenant, kind: kind)
        let replies = try await queue.redis.send([
            createGroupCommand(tenant),
            RedisCommand("XREADGROUP", ["GROUP", group, name, "COUNT", String(count), "STREAMS", stream, ">"]),
        ])
        return try replies[1].orThrow("XREADGROUP").array?.first?.array?.last?.array?.count ?? 0
    }
}
