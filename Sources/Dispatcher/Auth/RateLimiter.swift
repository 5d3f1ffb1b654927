import Contracts
import FleetConcurrency
import Logging
import RedisClient
import Synchronization

/// Per-tenant and per-user request limits in Redis: fixed one-second windows, one hash per
/// tenant and second (field `t` the tenant's count, `u:<user>` each user's).
///
/// Checks that arrive together are counted together: one script call per tenant and window for
/// the whole batch, its users in the order they first arrived. Every request counts against the
/// tenant's window and those within the tenant's limit against the user's, as when counting one
/// by one, and the totals are the same; but a batch counts one user's requests after another's,
/// so near a tenant's limit the request refused may be another user's than in strict arrival
/// order.
///
/// The counts are not written to the append-only file nor replicated (`redis.set_repl`): they
/// live two seconds, and a Redis restarted from its file or a replica promoted starts the
/// windows of that moment again, so in that one second a tenant or user may get up to twice its
/// limit through. The AOF and replicas are spared two writes per request, and the hash's expiry
/// is one deletion per tenant and second instead of one per user.
final class RateLimiter: Sendable {
    let redis: RedisClient
    let tenantPerSecond: Int
    let userPerSecond: Int
    let logger: Logger
    private let checks: GroupCommit<Check, Verdict>

    /// KEYS[1] the tenant's window (a hash)
    /// ARGV[1] tenant limit, ARGV[2] user limit, then per user: user id, requests
    /// Returns per user {passed by the tenant's limit, of those passed by the user's}.
    static let script = RedisScript(
        """
        redis.set_repl(redis.REPL_NONE)
        local tenantLimit, userLimit = tonumber(ARGV[1]), tonumber(ARGV[2])
        local out = {}
        for a = 3, #ARGV, 2 do
          local n = tonumber(ARGV[a + 1])
          local tenant = redis.call('HINCRBY', KEYS[1], 't', n)
          if tenant == n then redis.call('EXPIRE', KEYS[1], 2) end
          local passed = math.max(0, math.min(n, tenantLimit - (tenant - n)))
          local userPassed = 0
          if passed > 0 then
            local user = redis.call('HINCRBY', KEYS[1], 'u:' .. ARGV[a], passed)
            userPassed = math.max(0, math.min(passed, userLimit - (user - passed)))
          end
          out[#out + 1] = {passed, userPassed}
        end
        return out
        """)

    init(redis: RedisClient, tenantPerSecond: Int, userPerSecond: Int, logger: Logger) {
        self.redis = redis
        self.logger = logger
        self.tenantPerSecond = tenantPerSecond
        self.userPerSecond = userPerSecond
        checks = GroupCommit(concurrentFlushes: 2) { batch in
            try await Self.count(batch, redis: redis, tenantPerSecond: tenantPerSecond, userPerSecond: userPerSecond)
        }
    }

    /// Throws `rate-limited` (429, `Retry-After`) when the caller is over a limit.
    func check(_ identity: Identity) async throws(FleetError) {
        let verdict: Verdict
        do {
            verdict = try await checks.submit(Check(tenant: identity.tenant, user: identity.user, second: Clock.milliseconds() / 1000))
        } catch {
            logger.error("rate limit check failed", metadata: ["error": "\(error)"])
            throw FleetError(
                .queueUnavailable, "Redis (rate limits and the job queue) cannot be reached right now; nothing was done", retryAfter: 5)
        }
        switch verdict {
        case .allowed:
            return
        case .tenantOver:
            throw FleetError(
                .rateLimited, "tenant \(identity.tenant) is over its limit of \(tenantPerSecond) requests per second", retryAfter: 1)
        case .userOver:
            throw FleetError(.rateLimited, "user \(identity.user) is over the limit of \(userPerSecond) requests per second", retryAfter: 1)
        }
    }

    /// One request waiting to be counted.
    struct Check: Sendable {
        let tenant: TenantID
        let user: String
        let second: Int64
    }

    enum Verdict: Sendable {
        case allowed, tenantOver, userOver
    }

    private struct Window: Hashable {
        let tenant: TenantID
        let second: Int64
    }

    /// Counts a batch: one script call per tenant and window, each user's checks in the order
    /// they arrived.
    private static func count(_ batch: [Check], redis: RedisClient, tenantPerSecond: Int, userPerSecond: Int) async throws -> [Verdict] {
        var windows: [Window] = []
        // Per window: its users in order of first arrival, each with the indexes of its checks.
        var usersOf: [Window: [(user: String, checks: [Int])]] = [:]
        var slotOf: [Window: [String: Int]] = [:]
        for (index, check) in batch.enumerated() {
            let window = Window(tenant: check.tenant, second: check.second)
            if usersOf[window] == nil { windows.append(window) }
            if let slot = slotOf[window, default: [:]][check.user] {
                usersOf[window]![slot].checks.append(index)
            } else {
                slotOf[window, default: [:]][check.user] = usersOf[window, default: []].count
                usersOf[window, default: []].append((check.user, [index]))
            }
        }
        var verdicts = [Verdict](repeating: .tenantOver, count: batch.count)
        let replies = try await redis.send(
            windows.map { window in
                var arguments = [String(tenantPerSecond), String(userPerSecond)]
                for user in usersOf[window]! {
                    arguments.append(user.user)
                    arguments.append(String(user.checks.count))
                }
                return script.command(keys: [RedisKeys.rateLimit(tenant: window.tenant, second: window.second)], arguments: arguments)
            })
        for (window, reply) in zip(windows, replies) {
            let perUser = try reply.orThrow("rate limit").array ?? []
            for (position, user) in usersOf[window]!.enumerated() {
                let counts = position < perUser.count ? perUser[position].array ?? [] : []
                let passed = Int(counts.first?.int ?? 0)
                let userPassed = Int(counts.dropFirst().first?.int ?? 0)
                for (order, index) in user.checks.enumerated() {
                    verdicts[index] = order < userPassed ? .allowed : order < passed ? .userOver : .tenantOver
                }
            }
        }
        return verdicts
    }
}
