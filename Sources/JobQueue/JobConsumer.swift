import Contracts
import Foundation
import Logging
import RedisClient
import Synchronization

/// The consumer side of the queue for one kind: fair reads across tenants, start, finish.
///
/// **Fairness.** The consumer walks the tenants that have work (the kind's ready set, or an
/// explicit list) in a fixed rotation, reading at most `tenantBatch` entries from each and
/// `tenantsPerRound` tenants per pipelined round trip. A tenant with a million jobs gets one
/// quantum per lap like every other, so another tenant's single job waits at most one lap. No
/// command ever names more than one tenant's stream.
///
/// **Ready set.** A tenant whose stream has nothing new is removed from the ready set and its
/// stream read once more; work found by that second read puts it back. Since producers add to
/// the set only after appending to the stream, no job is stranded by the removal.
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

    /// Reads up to about `limit` new entries, fairly across tenants. Returns an empty array when
    /// no tenant has undelivered work (then `waitForWork` before trying again).
    public func fetch(limit: Int) async throws -> [DeliveredJob] {
        guard limit > 0 else { return [] }
        var collected: [DeliveredJob] = []
        var visited = 0
        while collected.count < limit {
            // Visit few enough tenants that each can give a useful batch: tiny per-tenant reads
            // cost a round of scripts each.
            let wanted = limit - collected.count
            let (chunk, lap) = try await nextTenants(max(1, min(queue.configuration.tenantsPerRound, wanted / 16)))
            if chunk.isEmpty || visited >= lap { break }
            visited += chunk.count
            let perTenant = max(1, min(queue.configuration.tenantBatch, (limit - collected.count + chunk.count - 1) / chunk.count))
            collected += try await read(chunk, count: perTenant)
        }
        return collected
    }

    /// The next tenants of the rotation and the length of the current lap.
    private func nextTenants(_ count: Int) async throws -> ([TenantID], Int) {
        let needsRefresh = state.withLock { $0.position >= $0.cycle.count }
        if needsRefresh {
            let fresh: [TenantID]
            if let tenants {
                fresh = tenants
            } else {
                let reply = try await queue.redis.send(RedisCommand("SMEMBERS", [RedisKeys.readyTenants(kind: kind)]))
                fresh = (reply.array ?? []).compactMap { $0.string.flatMap { try? TenantID($0) } }.sorted()
            }
            state.withLock {
                $0.cycle = fresh
                $0.position = 0
            }
        }
        return state.withLock { state in
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

    private func read(_ tenants: [TenantID], count: Int) async throws -> [DeliveredJob] {
        let replies = try await queue.redis.send(tenants.map { readCommand($0, count: count) })
        var delivered: [DeliveredJob] = []
        var missingGroup: [TenantID] = []
        var drained: [TenantID] = []
        for (tenant, reply) in zip(tenants, replies) {
            if let message = reply.errorMessage {
                guard message.hasPrefix("NOGROUP") else { throw RedisError(.reply, operation: "XREADGROUP", message: message) }
                missingGroup.append(tenant)
                continue
            }
            let jobs = parseRead(reply, tenant: tenant)
            if jobs.isEmpty { drained.append(tenant) } else { delivered += jobs }
        }
        if !missingGroup.isEmpty {
            var commands: [RedisCommand] = []
            for tenant in missingGroup {
                commands.append(createGroupCommand(tenant))
                commands.append(readCommand(tenant, count: count))
            }
            let created = try await queue.redis.send(commands)
            for (offset, tenant) in missingGroup.enumerated() {
                delivered += parseRead(created[offset * 2 + 1], tenant: tenant)
            }
        }
        if tenants.count > 0, self.tenants == nil, !drained.isEmpty {
            delivered += try await retire(drained)
        }
        return delivered
    }

    /// Removes drained tenants from the ready set, then reads each once more; a tenant that had
    /// work appended meanwhile goes back into the set.
    private func retire(_ tenants: [TenantID]) async throws -> [DeliveredJob] {
        var commands: [RedisCommand] = []
        for tenant in tenants {
            commands.append(RedisCommand("SREM", [RedisKeys.readyTenants(kind: kind), tenant.rawValue]))
            commands.append(readCommand(tenant, count: 1))
        }
        let replies = try await queue.redis.send(commands)
        var delivered: [DeliveredJob] = []
        var revived: [RedisCommand] = []
        for (offset, tenant) in tenants.enumerated() {
            let jobs = parseRead(replies[offset * 2 + 1], tenant: tenant)
            if !jobs.isEmpty {
                delivered += jobs
                revived.append(RedisCommand("SADD", [RedisKeys.readyTenants(kind: kind), tenant.rawValue]))
            }
        }
        if !revived.isEmpty { _ = try await queue.redis.send(revived) }
        return delivered
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

    /// Forgets the rotation so the next fetch starts a new lap with a fresh tenant list.
    public func restartRotation() {
        state.withLock { $0.position = $0.cycle.count }
    }
}
