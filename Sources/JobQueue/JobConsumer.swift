import Contracts
import Foundation
import Logging
import RedisClient
import Synchronization

/// The consumer side of the queue for one kind: fair reads across tenants, start, finish.
///
/// **Fairness.** The consumer serves the tenants that have work in the order of the kind's
/// ready index (see `ReadyIndex`): it takes tenants from the head of the index's list, reads
/// at most `tenantBatch` entries from each, and puts a tenant that still has work back at the
/// tail. A tenant with a million jobs gets one quantum per lap like every other, so another
/// tenant's single job waits at most for one quantum of each tenant ahead of it, and tenants
/// without work cost nothing. No command ever names more than one tenant's stream. A dedicated
/// pool (an explicit tenant list) walks its list in rotation instead.
public final class JobConsumer: Sendable {
    public let queue: JobQueue
    public let kind: JobKind
    /// This consumer's name in the group: unique per process.
    public let name: String
    /// When set, only these tenants are served (a dedicated pool); otherwise the ready set.
    public let tenants: [TenantID]?
    let logger: Logger
    private let state = Mutex(RotationState())
    private let wakeConnection: RedisConnection
    /// The longest single block while waiting for work.
    public static let wakeBlock: Duration = .seconds(1)

    private struct RotationState {
        var cycle: [TenantID] = []
        var position = 0
        var lastWakeID: String?
        var legacyCheckedAt: ContinuousClock.Instant?
        /// The release of the tenants the last fetch read, when it returned before that release
        /// was done; the next fetch waits for it, so this consumer's own fetches stay in order.
        var release: Task<Void, Never>?
    }

    public init(queue: JobQueue, kind: JobKind, name: String = JobConsumer.uniqueName(), tenants: [TenantID]? = nil) {
        self.queue = queue
        self.kind = kind
        self.name = name
        self.tenants = tenants
        self.logger = queue.logger
        self.wakeConnection = queue.redis.dedicatedConnection(timeout: Self.wakeBlock + queue.redis.configuration.commandTimeout)
    }

    /// A consumer name unique to this process: host, pid and a random suffix.
    public static func uniqueName() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// Releases the consumer's dedicated connection.
    public func close() { wakeConnection.close() }

    var group: String { RedisKeys.consumerGroup }

    // MARK: - Reading

    /// Reads up to about `limit` new entries, fairly across tenants: the jobs of the first
    /// round of tenants that had any (a round takes at most `tenantsPerRound` tenants), so
    /// jobs read are not held while more tenants are read. Returns an empty array when no
    /// tenant has undelivered work (then `waitForWork` before trying again).
    public func fetch(limit: Int) async throws -> [DeliveredJob] {
        guard limit > 0 else { return [] }
        if tenants != nil { return try await fetchInRotation(limit: limit) }
        if let release = state.withLock({ state in
            defer { state.release = nil }
            return state.release
        }) {
            await release.value
        }
        try await adoptLegacyIndex()
        var collected: [DeliveredJob] = []
        var grants = ReadyIndex.taken(try await queue.redis.send(takeCommand(wanted: limit)).orThrow("take ready tenants"))
        while !grants.isEmpty {
            let visits = try await read(grants.map { ($0.tenant, $0.readCount) })
            var released: [ReadyIndex.Visit] = []
            for (grant, (_, jobs)) in zip(grants, visits) {
                collected += jobs
                released.append(grant.visit(read: jobs.count))
            }
            if !collected.isEmpty {
                // Jobs in hand: they start now, and the release need not hold them up. Reading
                // on until `limit` is filled would keep the first jobs waiting while tenants
                // that became ready meanwhile are read, one round trip after another.
                let release = Task { await self.release(released) }
                state.withLock { $0.release = release }
                break
            }
            // Nothing read (the counts were stale): released and the next tenants taken in one
            // round trip.
            let replies = try await queue.redis.send([ReadyIndex.releaseCommand(kind: kind, released), takeCommand(wanted: limit)])
            let relisted = ReadyIndex.relisted(try replies[0].orThrow("release ready tenants"), released)
            grants = ReadyIndex.taken(try replies[1].orThrow("take ready tenants"))
            // Tenants back on the list that this consumer did not take again are work another
            // consumer may be waiting for.
            let retaken = Set(grants.map(\.tenant))
            if relisted.contains(where: { !retaken.contains($0) }) { Task { await self.wake() } }
        }
        return collected
    }

    /// Releases tenants read, waking the kind's consumers when one went back on the list:
    /// another consumer that found it leased may have gone to wait, and must not sleep while
    /// its work waits. A release that fails leaves the leases to run out.
    private func release(_ visits: [ReadyIndex.Visit]) async {
        do {
            // A leased tenant that may have more goes back on the list: wake in the same round
            // trip (a shared one never left it).
            let more = visits.contains { $0.more && !$0.grant.isShared }
            var commands = [ReadyIndex.releaseCommand(kind: kind, visits)]
            if more { commands.append(JobQueue.wakeCommand(kind: kind)) }
            let replies = try await queue.redis.send(commands)
            let relisted = ReadyIndex.relisted(try replies[0].orThrow("release ready tenants"), visits)
            if !more && !relisted.isEmpty { await wake() }
        } catch {
            logger.warning(
                "releasing ready tenants failed; their leases run out instead", metadata: ["job.kind": "\(kind)", "error": "\(error)"])
        }
    }

    /// Wakes the kind's waiting consumers (best effort: a consumer not woken looks again within
    /// its block).
    private func wake() async {
        do { try await queue.redis.send(JobQueue.wakeCommand(kind: kind)) } catch {
            logger.debug("waking consumers failed", metadata: ["job.kind": "\(kind)", "error": "\(error)"])
        }
    }

    private func takeCommand(wanted: Int) -> RedisCommand {
        ReadyIndex.takeCommand(
            kind: kind, wanted: wanted, quantum: queue.configuration.tenantBatch, tenants: queue.configuration.tenantsPerRound,
            lease: queue.configuration.readyLease)
    }

    /// Folds the ready set of earlier versions into the index, at most every 30 seconds:
    /// tenants marked there before an upgrade, or by producers not upgraded yet, are served.
    private func adoptLegacyIndex() async throws {
        let due = state.withLock { state in
            guard state.legacyCheckedAt.map({ ContinuousClock.now - $0 >= .seconds(30) }) ?? true else { return false }
            state.legacyCheckedAt = .now
            return true
        }
        guard due else { return }
        let legacy = RedisKeys.legacyReadyTenants(kind: kind)
        let reply = try await queue.redis.send(RedisCommand("SMEMBERS", [legacy]))
        let members = (reply.array ?? []).compactMap { $0.string.flatMap { try? TenantID($0) } }
        if !members.isEmpty {
            for start in stride(from: 0, to: members.count, by: 500) {
                let chunk = Array(members[start..<min(start + 500, members.count)])
                let marks = chunk.map { (tenant: $0, jobs: queue.configuration.tenantBatch) }
                let names = chunk.map(\.rawValue)
                for reply in try await queue.redis.send([
                    queue.markCommand(kind: kind, marks),
                    RedisCommand("SREM", [legacy] + names),
                ]) {
                    try reply.orThrow("adopt the earlier ready set")
                }
            }
        }
    }

    /// A dedicated pool's read: its tenants in a fixed rotation, a lap at most.
    private func fetchInRotation(limit: Int) async throws -> [DeliveredJob] {
        var collected: [DeliveredJob] = []
        var visited = 0
        while collected.count < limit {
            let wanted = limit - collected.count
            let (chunk, lap) = nextTenants(max(1, min(queue.configuration.tenantsPerRound, wanted / 16)))
            if chunk.isEmpty || visited >= lap { break }
            visited += chunk.count
            let perTenant = max(1, min(queue.configuration.tenantBatch, (wanted + chunk.count - 1) / chunk.count))
            collected += try await read(chunk.map { ($0, perTenant) }).flatMap(\.jobs)
        }
        return collected
    }

    /// The next tenants of a dedicated pool's rotation and the length of the lap.
    private func nextTenants(_ count: Int) -> ([TenantID], Int) {
        state.withLock { state in
            if state.position >= state.cycle.count {
                state.cycle = tenants ?? []
                state.position = 0
            }
            let end = min(state.position + count, state.cycle.count)
            let chunk = Array(state.cycle[state.position..<end])
            state.position = end
            return (chunk, state.cycle.count)
        }
    }

    private func readCommand(_ tenant: TenantID, count: Int) -> RedisCommand {
        RedisCommand(
            "XREADGROUP",
            ["GROUP", group, name, "COUNT", String(count), "STREAMS", RedisKeys.stream(tenant: tenant, kind: kind), ">"])
    }

    /// Reads up to `count` new entries of each tenant, creating the group where it is missing.
    /// The visits follow `tenants`' order.
    private func read(_ tenants: [(tenant: TenantID, count: Int)]) async throws -> [(tenant: TenantID, jobs: [DeliveredJob])] {
        let replies = try await queue.redis.send(tenants.map { readCommand($0.tenant, count: $0.count) })
        var visits: [(tenant: TenantID, jobs: [DeliveredJob])] = []
        var missingGroup: [Int] = []
        for ((tenant, _), reply) in zip(tenants, replies) {
            if let message = reply.errorMessage {
                guard message.hasPrefix("NOGROUP") else { throw RedisError(.reply, operation: "XREADGROUP", message: message) }
                missingGroup.append(visits.count)
                visits.append((tenant, []))
                continue
            }
            visits.append((tenant, parseRead(reply, tenant: tenant)))
        }
        if !missingGroup.isEmpty {
            var commands: [RedisCommand] = []
            for index in missingGroup {
                commands.append(createGroupCommand(tenants[index].tenant))
                commands.append(readCommand(tenants[index].tenant, count: tenants[index].count))
            }
            let created = try await queue.redis.send(commands)
            for (offset, index) in missingGroup.enumerated() {
                visits[index].jobs = parseRead(created[offset * 2 + 1], tenant: tenants[index].tenant)
            }
        }
        return visits
    }

    func createGroupCommand(_ tenant: TenantID) -> RedisCommand {
        RedisCommand("XGROUP", ["CREATE", RedisKeys.stream(tenant: tenant, kind: kind), group, "0", "MKSTREAM"])
    }

    /// Parses an XREADGROUP reply (`[[stream, [[id, [f, v, ...]], ...]]]`).
    private func parseRead(_ reply: RedisValue, tenant: TenantID) -> [DeliveredJob] {
        guard let streams = reply.array else { return [] }
        var jobs: [DeliveredJob] = []
        for stream in streams {
            guard let parts = stream.array, parts.count == 2, let entries = parts[1].array else { continue }
            jobs.reserveCapacity(entries.count)
            for entry in entries {
                if let job = parseEntry(entry, tenant: tenant, deliveries: 1) { jobs.append(job) }
            }
        }
        return jobs
    }

    func parseEntry(_ entry: RedisValue, tenant: TenantID, deliveries: Int) -> DeliveredJob? {
        guard let pieces = entry.array, pieces.count == 2, let id = pieces[0].string else { return nil }
        return DeliveredJob(
            tenant: tenant, kind: kind, entryID: id, deliveries: deliveries, pairs: StreamEntry.pairs(pieces[1].array ?? []))
    }

    /// Blocks (on a dedicated connection) until a producer signals new work or `timeout` passes.
    public func waitForWork(timeout: Duration = JobConsumer.wakeBlock) async throws {
        let key = RedisKeys.wakeups(kind: kind)
        var last = state.withLock { $0.lastWakeID }
        if last == nil {
            let newest = try await wakeConnection.send([RedisCommand("XREVRANGE", [key, "+", "-", "COUNT", "1"])])[0]
            last = newest.array?.first?.array?.first?.string ?? "0-0"
            state.withLock { $0.lastWakeID = last }
        }
        let block = min(timeout, Self.wakeBlock).milliseconds
        let reply = try await wakeConnection.send([RedisCommand("XREAD", ["BLOCK", String(max(1, block)), "STREAMS", key, last!])])[0]
        if let newest = reply.array?.first?.array?.last?.array?.last?.array?.first?.string {
            state.withLock { $0.lastWakeID = newest }
        }
    }
}
