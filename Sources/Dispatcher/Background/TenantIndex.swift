import AuditLog
import Contracts
import Foundation
import Logging
import RedisClient

/// The Dispatcher's time indexes in Redis, sorted sets of `<tenant>/<id>` scored by a time in ms
/// (the schedules by next firing, pending approvals by expiry, admissions in flight by when they
/// began): swept when due; the first two are restored from the PostgreSQL rows they index.
struct TenantIndex: Sendable {
    let redis: RedisClient
    let tenants: TenantDirectory
    let logger: Logger

    /// What became of a due member.
    enum Step {
        /// Handled: leave the index.
        case done
        /// Due again at this time (ms).
        case next(at: Int64)
        /// Not handled now: try again after this long.
        case retry(after: Duration)
    }

    /// Handles the members of `key` due by `now` (at most `limit`), in time order. A member is one
    /// entry, or several separated by spaces (a batch registered at once); each entry is handled on
    /// its own. An entry that is malformed or names a tenant that does not exist is dropped; one
    /// whose handling fails is logged and tried again after `retryDelay`, out of the way of the
    /// members behind it.
    func sweep(
        _ key: String, retryDelay: Duration, now: Int64 = Clock.milliseconds(), limit: Int = 100,
        _ handle: (_ tenant: TenantID, _ id: String, _ at: Int64) async throws -> Step
    ) async throws {
        let due = try await redis.send(
            RedisCommand("ZRANGEBYSCORE", [key, "-inf", String(now), "WITHSCORES", "LIMIT", "0", String(limit)]))
        let flat = due.array ?? []
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            guard let member = flat[index].string else { continue }
            let at = flat[index + 1].string.flatMap(Double.init).map { Int64($0) } ?? now
            // Where each entry of the member goes next: nil when it leaves the index.
            var kept: [(entry: String, score: Int64, isRetry: Bool)] = []
            for entry in member.split(separator: " ").map(String.init) {
                if let next = await step(key, entry: entry, at: at, retryDelay: retryDelay, handle) {
                    kept.append((entry, next.at, next.isRetry))
                }
            }
            if kept.count == 1, kept[0].entry == member {
                // A retry does not bring back a member removed meanwhile (e.g. a deleted schedule).
                let only = kept[0].isRetry ? ["XX"] : []
                try await redis.send(RedisCommand("ZADD", [key] + only + [String(kept[0].score), member]))
            } else {
                // The entries still due later are written on their own before the member leaves.
                _ = try await redis.send(
                    kept.map { RedisCommand("ZADD", [key, String($0.score), $0.entry]) } + [RedisCommand("ZREM", [key, member])])
            }
        }
    }

    /// Handles one `<tenant>/<id>` entry: the time (ms) it is due again and whether that is a
    /// retry after a failure, or nil when it is done.
    private func step(
        _ key: String, entry: String, at: Int64, retryDelay: Duration,
        _ handle: (_ tenant: TenantID, _ id: String, _ at: Int64) async throws -> Step
    ) async -> (at: Int64, isRetry: Bool)? {
        let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let tenant = try? TenantID(parts[0]) else { return nil }
        var step: Step
        do {
            step = try await tenants.exists(tenant) ? handle(tenant, parts[1], at) : .done
        } catch {
            logger.error(
                "a due entry could not be handled; retrying",
                metadata: ["index": "\(key)", "tenant": "\(tenant)", "id": "\(parts[1])", "error": "\(error)"])
            step = .retry(after: retryDelay)
        }
        switch step {
        case .done: return nil
        case .next(let at): return (at, false)
        case .retry(let delay): return (Clock.milliseconds() + delay.milliseconds, true)
        }
    }

    /// Adds to `key` the members `query` finds in each of `tenants` (none given: every tenant),
    /// as `<tenant>/<id>` scored by `at_ms`, where they are missing (members present keep their
    /// time). A tenant that fails is logged and skipped.
    func restore(_ key: String, tenants: [TenantID], from query: String) async throws {
        let all = tenants.isEmpty ? try await self.tenants.all() : tenants
        for tenant in all {
            let members: [String]
            do {
                members = try await self.tenants.session(tenant) { connection -> [String] in
                    try await connection.query(query).flatMap { row -> [String] in
                        guard let id = row.string("id"), let at = row.int64("at_ms") else { return [] }
                        return [String(at), "\(tenant.rawValue)/\(id)"]
                    }
                }
            } catch {
                logger.error(
                    "cannot restore an index from a tenant's rows",
                    metadata: ["index": "\(key)", "tenant": "\(tenant)", "error": "\(error)"])
                continue
            }
            guard !members.isEmpty else { continue }
            try await redis.send(RedisCommand("ZADD", [key, "NX"] + members))
        }
    }
}
