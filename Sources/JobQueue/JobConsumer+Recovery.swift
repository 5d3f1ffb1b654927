import Contracts
import RedisClient

extension JobConsumer {
    /// The tenants maintenance walks: the explicit list, or every tenant that had such a job.
    func maintainedTenants() async throws -> [TenantID] {
        if let tenants { return tenants }
        return try await queue.knownTenants(kind: kind)
    }

    /// A maintenance duty that walks every tenant of the kind.
    public enum Duty: String, Sendable {
        /// Looking for entries stalled past the visibility timeout (`stalledTenants`).
        case stalledSweep = "stalled"
        /// Sampling the queue figures (`fleetStats`).
        case stats
        /// Removing consumers gone for good (`removeDeadConsumers`).
        case deadConsumers = "consumers"
    }

    /// The pause between the round trips of a maintenance walk over many tenants.
    public static let walkPause: Duration = .milliseconds(2)

    /// Whether this consumer does `duty` now: one consumer of the kind per `interval` across
    /// the fleet (the first to ask once the last turn ran out), so a walk over every tenant
    /// costs the same however many workers there are. A dedicated pool (explicit tenants)
    /// walks its own tenants every time.
    public func takeTurn(_ duty: Duty, every interval: Duration) async throws -> Bool {
        if tenants != nil { return true }
        let reply = try await queue.redis.send(
            RedisCommand(
                "SET",
                [RedisKeys.maintenanceTurn(kind: kind, duty: duty.rawValue), name, "NX", "PX", String(max(1, interval.milliseconds))]))
        return !(try reply.orThrow("take a maintenance turn")).isNull
    }

    /// The kind's queue figures, sampled once per `interval` across the fleet: the consumer
    /// whose turn it is walks every tenant (paced) and stores the figures; the others read
    /// them. Nil until a first sample exists. A dedicated pool samples its own tenants.
    public func fleetStats(every interval: Duration) async throws -> JobQueue.Stats? {
        if let tenants { return try await queue.stats(kind: kind, tenants: tenants) }
        let key = RedisKeys.queueStats(kind: kind)
        guard try await takeTurn(.stats, every: interval) else {
            let fields = StreamEntry.dictionary(try await queue.redis.send(RedisCommand("HGETALL", [key])).array ?? [])
            guard let depth = fields["depth"]?.int else { return nil }
            func value(_ name: String) -> Int { Int(fields[name]?.int ?? 0) }
            return JobQueue.Stats(
                depth: Int(depth), lag: value("lag"), pending: value("pending"), delayed: value("delayed"),
                deadLetters: value("dead_letters"), tenants: value("tenants"))
        }
        let stats = try await queue.stats(kind: kind, pause: Self.walkPause)
        let figures = [
            "depth": stats.depth, "lag": stats.lag, "pending": stats.pending, "delayed": stats.delayed,
            "dead_letters": stats.deadLetters, "tenants": stats.tenants,
        ]
        // Kept a few intervals: figures no consumer refreshes any more go away.
        for reply in try await queue.redis.send([
            RedisCommand("HSET", [key] + figures.sorted { $0.key < $1.key }.flatMap { [$0.key, String($0.value)] }),
            RedisCommand("PEXPIRE", [key, String(max(60_000, 3 * interval.milliseconds))]),
        ]) {
            try reply.orThrow("store the queue figures")
        }
        return stats
    }

    /// The tenants whose streams hold an entry idle past the visibility timeout (looked up
    /// without claiming anything: `reclaimStalled(limit:among:)` claims them). `pause` spaces
    /// the round trips of a long walk.
    public func stalledTenants(pause: Duration = .zero) async throws -> [TenantID] {
        let idle = String(queue.configuration.visibilityTimeout.milliseconds)
        var stalled: [TenantID] = []
        try await JobQueue.walk(try await maintainedTenants(), chunk: 200, pause: pause) { chunk in
            let replies = try await queue.redis.send(
                chunk.map { RedisCommand("XPENDING", [RedisKeys.stream(tenant: $0, kind: kind), group, "IDLE", idle, "-", "+", "1"]) })
            for (tenant, reply) in zip(chunk, replies) where !(reply.array ?? []).isEmpty { stalled.append(tenant) }
        }
        return stalled
    }

    /// Claims entries other consumers left idle past the visibility timeout (their worker died)
    /// with XAUTOCLAIM, up to `limit`, in the streams of `only` (every tenant's when nil). Each
    /// comes back with its delivery count, which raises its attempt number.
    public func reclaimStalled(limit: Int, among only: [TenantID]? = nil) async throws -> [DeliveredJob] {
        try await reclaim(limit: limit, among: only).jobs
    }

    /// `reclaimStalled`, saying which of the tenants it did not get to (the limit was reached).
    /// No more than `limit` entries are claimed: a claimed entry waits for a slot unextended,
    /// and one claimed beyond them could go idle again and run twice.
    public func reclaim(limit: Int, among only: [TenantID]? = nil) async throws -> (jobs: [DeliveredJob], unvisited: [TenantID]) {
        let tenants: [TenantID]
        if let only { tenants = only } else { tenants = try await maintainedTenants() }
        guard limit > 0 else { return ([], tenants) }
        let idle = String(queue.configuration.visibilityTimeout.milliseconds)
        var reclaimed: [DeliveredJob] = []
        var start = 0
        while start < tenants.count {
            let room = limit - reclaimed.count
            if room <= 0 { break }
            // At most `room` claims in all: as many streams as there is room, and each a share.
            let chunk = Array(tenants[start..<min(start + min(200, room), tenants.count)])
            start += chunk.count
            let count = String(max(1, min(100, room / chunk.count)))
            let replies = try await queue.redis.send(
                chunk.map {
                    RedisCommand("XAUTOCLAIM", [RedisKeys.stream(tenant: $0, kind: kind), group, name, idle, "0-0", "COUNT", count])
                })
            var claimed: [(TenantID, [RedisValue])] = []
            for (tenant, reply) in zip(chunk, replies) {
                guard let parts = reply.array, parts.count >= 2, let entries = parts[1].array, !entries.isEmpty else { continue }
                claimed.append((tenant, entries))
            }
            if claimed.isEmpty { continue }
            // XAUTOCLAIM does not report delivery counts; XPENDING for our own claimed range does.
            let counts = try await queue.redis.send(
                claimed.map { tenant, entries in
                    let ids = entries.compactMap { $0.array?.first?.string }
                    return RedisCommand(
                        "XPENDING",
                        [
                            RedisKeys.stream(tenant: tenant, kind: kind), group, ids.first ?? "-", ids.last ?? "+", String(ids.count + 10),
                            name,
                        ])
                })
            for ((tenant, entries), pending) in zip(claimed, counts) {
                var deliveries: [String: Int] = [:]
                for row in pending.array ?? [] {
                    if let fields = row.array, fields.count >= 4, let id = fields[0].string {
                        deliveries[id] = Int(fields[3].int ?? 1)
                    }
                }
                for entry in entries {
                    guard let id = entry.array?.first?.string,
                        let job = parseEntry(entry, tenant: tenant, deliveries: deliveries[id] ?? 2)
                    else { continue }
                    reclaimed.append(job)
                }
            }
        }
        if !reclaimed.isEmpty {
            logger.warning(
                "reclaimed stalled jobs", metadata: ["job.kind": "\(kind)", "count": "\(reclaimed.count)", "consumer": "\(name)"])
        }
        return (reclaimed, Array(tenants[start...]))
    }

    /// Resets the idle time of long-running jobs this consumer still owns, so they are never
    /// reclaimed while it lives. Entries another consumer has taken over are left alone.
    public func extendClaims(_ jobs: [DeliveredJob]) async throws {
        if jobs.isEmpty { return }
        let byTenant = Dictionary(grouping: jobs, by: \.tenant)
        let tenants = Array(byTenant.keys)
        let owned = try await queue.redis.send(
            tenants.map { tenant in
                let ids = byTenant[tenant]!.map(\.entryID).sorted(by: Self.entryIDLess)
                return RedisCommand(
                    "XPENDING", [RedisKeys.stream(tenant: tenant, kind: kind), group, ids.first!, ids.last!, String(ids.count + 100), name])
            })
        var claims: [RedisCommand] = []
        for (tenant, reply) in zip(tenants, owned) {
            let mine = Set((reply.array ?? []).compactMap { $0.array?.first?.string })
            let ids = byTenant[tenant]!.map(\.entryID).filter(mine.contains)
            if ids.isEmpty { continue }
            claims.append(RedisCommand("XCLAIM", [RedisKeys.stream(tenant: tenant, kind: kind), group, name, "0"] + ids + ["JUSTID"]))
        }
        if !claims.isEmpty { _ = try await queue.redis.send(claims) }
    }

    /// Orders stream entry ids (`<ms>-<seq>`) numerically, without allocating.
    static func entryIDLess(_ lhs: String, _ rhs: String) -> Bool {
        func parts(_ id: String) -> (UInt64, UInt64) {
            var ms: UInt64 = 0
            var seq: UInt64 = 0
            var inSeq = false
            for byte in id.utf8 {
                if byte == UInt8(ascii: "-") {
                    inSeq = true
                } else if inSeq {
                    seq = seq &* 10 &+ UInt64(byte &- 48)
                } else {
                    ms = ms &* 10 &+ UInt64(byte &- 48)
                }
            }
            return (ms, seq)
        }
        return parts(lhs) < parts(rhs)
    }

    /// Moves delayed and retrying jobs that are due into their streams. Returns how many moved.
    ///
    /// The per-kind index (tenant → earliest due time) is fixed up after each tenant's script
    /// and then re-checked against the tenant's set, so a job delayed concurrently keeps its
    /// place in the index.
    @discardableResult
    public func promoteDueJobs() async throws -> Int {
        let index = RedisKeys.delayedIndex(kind: kind)
        var moved = 0
        while true {
            let now = Clock.milliseconds()
            let reply = try await queue.redis.send(RedisCommand("ZRANGEBYSCORE", [index, "-inf", String(now), "LIMIT", "0", "100"]))
            var due = (reply.array ?? []).compactMap { $0.string.flatMap { try? TenantID($0) } }
            let fetched = due.count
            if let tenants { due = due.filter(tenants.contains) }
            if due.isEmpty { return moved }
            let results = try await queue.redis.send(
                due.map { tenant in
                    QueueScripts.promote.command(
                        keys: [RedisKeys.delayed(tenant: tenant, kind: kind), RedisKeys.stream(tenant: tenant, kind: kind)],
                        arguments: [String(now), "500", RedisKeys.tenantPrefix(tenant)])
                })
            var fixups: [RedisCommand] = []
            var nextDue: [Int64] = []
            var woken: [(tenant: TenantID, jobs: Int)] = []
            // One tenant's failed script must not leave the others' moved jobs unmarked: its
            // error is thrown after the rest are marked.
            var failure: (any Error)?
            for (tenant, result) in zip(due, results) {
                let values: [RedisValue]
                do {
                    values = try result.orThrow("promote").array ?? []
                } catch {
                    // Its index entry stays as it was (the re-check below keeps it due).
                    failure = failure ?? error
                    nextDue.append(.max)
                    fixups.append(RedisCommand("ZSCORE", [index, tenant.rawValue]))
                    fixups.append(RedisCommand("ZRANGE", [RedisKeys.delayed(tenant: tenant, kind: kind), "0", "0", "WITHSCORES"]))
                    continue
                }
                let count = Int(values.first?.int ?? 0)
                let next = values.count > 1 ? values[1].int ?? -1 : -1
                moved += count
                if count > 0 { woken.append((tenant, count)) }
                nextDue.append(next)
                fixups.append(
                    next < 0
                        ? RedisCommand("ZREM", [index, tenant.rawValue])
                        : RedisCommand("ZADD", [index, String(next), tenant.rawValue]))
                fixups.append(RedisCommand("ZRANGE", [RedisKeys.delayed(tenant: tenant, kind: kind), "0", "0", "WITHSCORES"]))
            }
            if !woken.isEmpty { fixups.append(queue.markCommand(kind: kind, woken)) }
            if !woken.isEmpty { fixups.append(JobQueue.wakeCommand(kind: kind)) }
            let checks = try await queue.redis.send(fixups)
            var repairs: [RedisCommand] = []
            for (offset, tenant) in due.enumerated() {
                let earliest = checks[offset * 2 + 1].array
                guard let earliest, earliest.count == 2, let score = earliest[1].int else { continue }
                if nextDue[offset] < 0 || score < nextDue[offset] {
                    repairs.append(RedisCommand("ZADD", [index, "LT", String(score), tenant.rawValue]))
                }
            }
            if !repairs.isEmpty { _ = try await queue.redis.send(repairs) }
            if let failure { throw failure }
            if fetched < 100 { return moved }
        }
    }

    /// Records that this consumer is alive.
    public func heartbeat() async throws {
        try await queue.redis.send(
            RedisCommand("ZADD", [RedisKeys.consumers(kind: kind), String(Clock.milliseconds()), name]))
    }

    /// Records that this consumer has stopped taking jobs (a clean shutdown), so that a job
    /// waiting for its kind says at once when no worker serves it any more.
    public func resign() async throws {
        try await queue.redis.send(RedisCommand("ZREM", [RedisKeys.consumers(kind: kind), name]))
    }

    /// Deletes consumers that have been silent past `deadConsumerAfter` and hold no pending
    /// entries (anything they held has been reclaimed first). Returns how many were removed.
    @discardableResult
    public func removeDeadConsumers(pause: Duration = .zero) async throws -> Int {
        let cutoff = Clock.milliseconds() - queue.configuration.deadConsumerAfter.milliseconds
        let liveReply = try await queue.redis.send(
            RedisCommand("ZRANGEBYSCORE", [RedisKeys.consumers(kind: kind), String(cutoff), "+inf"]))
        var live = Set((liveReply.array ?? []).compactMap(\.string))
        live.insert(name)
        var removed = 0
        try await JobQueue.walk(try await maintainedTenants(), chunk: 100, pause: pause) { chunk in
            let infos = try await queue.redis.send(
                chunk.map {
                    RedisCommand("XINFO", ["CONSUMERS", RedisKeys.stream(tenant: $0, kind: kind), group])
                })
            var deletions: [RedisCommand] = []
            for (tenant, info) in zip(chunk, infos) {
                for consumer in info.array ?? [] {
                    let fields = StreamEntry.dictionary(consumer.array ?? [])
                    guard let consumerName = fields["name"]?.string, !live.contains(consumerName),
                        fields["pending"]?.int == 0,
                        (fields["idle"]?.int ?? 0) >= queue.configuration.deadConsumerAfter.milliseconds
                    else { continue }
                    deletions.append(
                        RedisCommand("XGROUP", ["DELCONSUMER", RedisKeys.stream(tenant: tenant, kind: kind), group, consumerName]))
                }
            }
            if !deletions.isEmpty {
                removed += try await queue.redis.send(deletions).filter { $0.errorMessage == nil }.count
            }
        }
        _ = try await queue.redis.send(
            RedisCommand(
                "ZREMRANGEBYSCORE",
                [RedisKeys.consumers(kind: kind), "-inf", String(cutoff - queue.configuration.deadConsumerAfter.milliseconds)]))
        return removed
    }
}
