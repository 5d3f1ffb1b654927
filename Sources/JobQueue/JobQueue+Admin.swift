import Contracts
import RedisClient

extension JobQueue {
    /// The status record of a job of `tenant`, or nil when there is none (never existed, another
    /// tenant's, or past its retention).
    public func status(tenant: TenantID, id: String) async throws -> JobStatus? {
        guard JobID.isValid(id) else { return nil }
        let reply = try await redis.send(RedisCommand("HGETALL", [RedisKeys.job(tenant: tenant, id: id)]))
        guard let values = reply.array, !values.isEmpty else { return nil }
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: values.count - 1, by: 2) {
            if let name = values[index].string { fields[name] = values[index + 1].string ?? "" }
        }
        guard let state = fields["state"].flatMap(JobState.init(rawValue:)), let kindName = fields["kind"],
            let kind = try? JobKind(kindName)
        else { return nil }
        func time(_ name: String) -> Int64? { fields[name].flatMap { Int64($0) } }
        let error = fields["last_error"] ?? ""
        let enqueued = time("enqueued_at") ?? 0
        let updated = [enqueued, time("started_at") ?? 0, time("finished_at") ?? 0].max() ?? enqueued
        return JobStatus(
            id: id, tenant: tenant, kind: kind, state: state, attempts: Int(fields["attempts"] ?? "") ?? 0,
            lastError: error.isEmpty ? nil : error, enqueuedAt: enqueued, runAt: time("run_at"),
            startedAt: time("started_at"), finishedAt: time("finished_at"), updatedAt: updated,
            requester: fields["user"].flatMap { $0.isEmpty ? nil : $0 }, result: fields["result"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// What `cancel` did.
    public enum CancelOutcome: Sendable, Equatable {
        case cancelled
        /// No such job for this tenant.
        case notFound
        /// Already running or finished: the state it is in.
        case notCancellable(JobState)
    }

    /// Cancels a queued, delayed or retry-waiting job. A queued job's entry stays in its stream
    /// until a worker reads it and drops it unrun.
    public func cancel(tenant: TenantID, id: String) async throws -> CancelOutcome {
        guard let status = try await status(tenant: tenant, id: id) else { return .notFound }
        let command = QueueScripts.cancel.command(
            keys: [
                RedisKeys.job(tenant: tenant, id: id), RedisKeys.delayed(tenant: tenant, kind: status.kind),
                RedisKeys.envelope(tenant: tenant, id: id),
            ],
            arguments: [id, String(Clock.milliseconds()), String(configuration.statusRetention.milliseconds / 1000)])
        let reply = try await redis.send(command)
        guard let state = reply.string else { return .notFound }
        if state == "done" { return .cancelled }
        return .notCancellable(JobState(rawValue: state) ?? status.state)
    }

    /// A dead-lettered job.
    public struct DeadLetter: Sendable {
        /// The entry id in the dead-letter stream (what `replay` takes).
        public let entryID: String
        public let envelope: JobEnvelope?
        public let error: String
        public let failedAt: Int64
        /// The entry's fields as they were dead-lettered (without `error` and `failed_at`).
        let pairs: [([UInt8], [UInt8])]

        /// The job as a replay puts it back: attempts afresh, in a new replay generation (so its
        /// lifecycle events are new audit entries), due at once.
        public var replayed: JobEnvelope? {
            guard var envelope else { return nil }
            envelope.attempt = 1
            envelope.replay += 1
            envelope.runAt = nil
            return envelope
        }
    }

    /// The oldest `count` dead letters of `tenant` and `kind` (after `after`, exclusive).
    public func deadLetters(
        tenant: TenantID, kind: JobKind, count: Int = 100, after: String? = nil, upTo: String = "+"
    )
        async throws -> [DeadLetter]
    {
        let reply = try await redis.send(
            RedisCommand(
                "XRANGE", [RedisKeys.deadLetters(tenant: tenant, kind: kind), after.map { "(" + $0 } ?? "-", upTo, "COUNT", String(count)]))
        return (reply.array ?? []).compactMap(Self.deadLetter)
    }

    /// Every dead letter of `tenant` and `kind` there is now (at most `limit`): what a replay of
    /// all of them replays, so entries dead-lettered again meanwhile are not replayed twice.
    public func deadLetterSnapshot(tenant: TenantID, kind: JobKind, limit: Int = 100_000) async throws -> [DeadLetter] {
        let newest = try await redis.send(
            RedisCommand("XREVRANGE", [RedisKeys.deadLetters(tenant: tenant, kind: kind), "+", "-", "COUNT", "1"]))
        guard let last = newest.array?.first?.array?.first?.string else { return [] }
        var out: [DeadLetter] = []
        var after: String?
        while out.count < limit {
            let want = min(500, limit - out.count)
            let page = try await deadLetters(tenant: tenant, kind: kind, count: want, after: after, upTo: last)
            out += page
            guard page.count == want, let next = page.last?.entryID, next != last else { break }
            after = next
        }
        return out
    }

    /// The dead letter with entry id `entryID`, if it exists.
    public func deadLetter(tenant: TenantID, kind: JobKind, entryID: String) async throws -> DeadLetter? {
        let found = try await redis.send(RedisCommand("XRANGE", [RedisKeys.deadLetters(tenant: tenant, kind: kind), entryID, entryID]))
        return found.array?.first.flatMap(Self.deadLetter)
    }

    static func deadLetter(_ entry: RedisValue) -> DeadLetter? {
        guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let raw = parts[1].array else { return nil }
        let all = StreamEntry.pairs(raw)
        let extras = Dictionary(all.map { (String(decoding: $0.0, as: UTF8.self), String(decoding: $0.1, as: UTF8.self)) }) { a, _ in a }
        let pairs = all.filter { $0.0 != Array("error".utf8) && $0.0 != Array("failed_at".utf8) }
        return DeadLetter(
            entryID: id, envelope: try? JobEnvelope(fields: pairs), error: extras["error"] ?? "",
            failedAt: Int64(extras["failed_at"] ?? "") ?? 0, pairs: pairs)
    }

    /// Marks tenants ready in `kind`'s index, as producers do after appending to a stream
    /// (for entries written behind the queue's back; marking a tenant twice changes nothing).
    public func markReady(_ tenants: [TenantID], kind: JobKind, jobsEach: Int = 1) async throws {
        guard !tenants.isEmpty else { return }
        try await redis.send(markCommand(kind: kind, tenants.map { ($0, jobsEach) })).orThrow("mark ready")
    }

    /// Puts a dead letter back on its stream as `DeadLetter.replayed` says; returns its job id
    /// (or the dead-letter entry id for an entry that never decoded), nil when the entry is gone
    /// (replayed meanwhile).
    public func replay(tenant: TenantID, kind: JobKind, _ letter: DeadLetter) async throws -> String? {
        let deadLetters = RedisKeys.deadLetters(tenant: tenant, kind: kind)
        var fields = letter.pairs.flatMap { [$0.0, $0.1] }
        var statusKey = deadLetters
        var id = letter.entryID
        if let envelope = letter.replayed {
            fields = envelope.fields
            statusKey = RedisKeys.job(tenant: tenant, id: envelope.id)
            id = envelope.id
        }
        let script = QueueScripts.replay.command(keys: [deadLetters, RedisKeys.stream(tenant: tenant, kind: kind), statusKey]) {
            command in
            command.append(letter.entryID)
            command.append(Clock.milliseconds())
            command.append(kind.rawValue)
            for field in fields { command.append(field) }
        }
        let replies = try await redis.send([
            script,
            markCommand(kind: kind, [(tenant, 1)]),
            Self.wakeCommand(kind: kind),
        ])
        return try replies[0].orThrow("replay").int == 1 ? id : nil
    }

    /// Queue figures for one kind, summed over tenants.
    public struct Stats: Sendable, Equatable {
        /// Entries in the streams: waiting plus delivered-but-unacknowledged.
        public var depth: Int = 0
        /// Entries not yet delivered to any worker.
        public var lag: Int = 0
        /// Delivered and not yet acknowledged.
        public var pending: Int = 0
        /// Waiting for their run-at or next retry.
        public var delayed: Int = 0
        public var deadLetters: Int = 0
        public var tenants: Int = 0
    }

    /// Depth, lag, pending, delayed and dead-letter counts for `kind` (over `tenants`, or over
    /// every tenant that ever had such a job). `pause` spaces the round trips of a long walk
    /// (maintenance in workers, which must not hold up the jobs).
    public func stats(kind: JobKind, tenants explicit: [TenantID]? = nil, pause: Duration = .zero) async throws -> Stats {
        var tenants = explicit ?? []
        if explicit == nil { tenants = try await knownTenants(kind: kind) }
        var stats = Stats(tenants: tenants.count)
        try await Self.walk(tenants, chunk: 100, pause: pause) { chunk in
            var commands: [RedisCommand] = []
            for tenant in chunk {
                let stream = RedisKeys.stream(tenant: tenant, kind: kind)
                commands.append(RedisCommand("XLEN", [stream]))
                commands.append(RedisCommand("XINFO", ["GROUPS", stream]))
                commands.append(RedisCommand("ZCARD", [RedisKeys.delayed(tenant: tenant, kind: kind)]))
                commands.append(RedisCommand("XLEN", [RedisKeys.deadLetters(tenant: tenant, kind: kind)]))
            }
            let replies = try await redis.send(commands)
            for offset in stride(from: 0, to: replies.count, by: 4) {
                // Acknowledged entries may linger until the next trim, so depth is waiting plus
                // pending, not the stream length.
                let length = Int(replies[offset].int ?? 0)
                var lag = length
                var pending = 0
                for group in replies[offset + 1].array ?? [] {
                    let info = StreamEntry.dictionary(group.array ?? [])
                    guard info["name"]?.string == RedisKeys.consumerGroup else { continue }
                    pending = Int(info["pending"]?.int ?? 0)
                    // Redis reports no lag when it cannot compute it; the length minus pending bounds it.
                    lag = Int(info["lag"]?.int ?? Int64(max(0, length - pending)))
                }
                stats.pending += pending
                stats.lag += lag
                stats.depth += lag + pending
                stats.delayed += Int(replies[offset + 2].int ?? 0)
                stats.deadLetters += Int(replies[offset + 3].int ?? 0)
            }
        }
        return stats
    }

    /// Runs `body` over `tenants` in chunks of `size`, waiting `pause` between chunks: a walk
    /// over thousands of tenants then holds neither Redis nor this process for long at a time.
    static func walk(
        _ tenants: [TenantID], chunk size: Int, pause: Duration, _ body: ([TenantID]) async throws -> Void
    ) async throws {
        for start in stride(from: 0, to: tenants.count, by: size) {
            if start > 0 && pause > .zero { try await Task.sleep(for: pause) }
            try await body(Array(tenants[start..<min(start + size, tenants.count)]))
        }
    }

    /// Every tenant that has had a job of `kind`, sorted.
    public func knownTenants(kind: JobKind) async throws -> [TenantID] {
        let reply = try await redis.send(RedisCommand("SMEMBERS", [RedisKeys.knownTenants(kind: kind)]))
        return (reply.array ?? []).compactMap { $0.string.flatMap { try? TenantID($0) } }.sorted()
    }
}

/// Helpers for the shapes of stream replies.
enum StreamEntry {
    /// Field/value pairs of a flat `[f1, v1, f2, v2, ...]` reply.
    static func pairs(_ flat: [RedisValue]) -> [([UInt8], [UInt8])] {
        var out: [([UInt8], [UInt8])] = []
        out.reserveCapacity(flat.count / 2)
        var index = 0
        while index + 1 < flat.count {
            out.append((flat[index].bytes ?? [], flat[index + 1].bytes ?? []))
            index += 2
        }
        return out
    }

    /// A flat `[name, value, ...]` reply (XINFO) as a dictionary.
    static func dictionary(_ flat: [RedisValue]) -> [String: RedisValue] {
        var out: [String: RedisValue] = [:]
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string { out[name] = flat[index + 1] }
            index += 2
        }
        return out
    }
}

extension JobQueue {
    /// The job an idempotency key names, if it is still remembered.
    public func idempotentJob(tenant: TenantID, key: String) async throws -> String? {
        try await redis.send(RedisCommand("GET", [RedisKeys.idempotency(tenant: tenant, key: key)])).string
    }
}

extension JobQueue {
    /// How many consumers of `kind` heartbeated within `window` (workers heartbeat every 5 s).
    public func liveConsumers(kind: JobKind, within window: Duration = .seconds(30)) async throws -> Int {
        let cutoff = Clock.milliseconds() - window.milliseconds
        return Int(try await redis.send(RedisCommand("ZCOUNT", [RedisKeys.consumers(kind: kind), String(cutoff), "+inf"])).int ?? 0)
    }
}
