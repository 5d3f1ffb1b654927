import Contracts
import FleetConcurrency
import Logging
import RedisClient
import Synchronization

/// Per-tenant and per-user request limits in Redis: fixed one-second windows.
///
/// Checks that arrive together are counted together: one script call per tenant, user and
/// window for the whole batch. Every request counts against the tenant's window and those
/// within the tenant's limit against the user's, as when counting one by one, and the totals
/// are the same; but a batch counts one user's requests after another's, so near a tenant's
/// limit the request refused may be another user's than in strict arrival order.
final class RateLimiter: Sendable {
    let redis: RedisClient
    let tenantPerSecond: Int
    let userPerSecond: Int
    let logger: Logger
    private let checks: GroupCommit<Check, Verdict>

    /// KEYS[1] tenant window, KEYS[2] user window (they share the tenant's hash slot)
    /// ARGV[1] tenant limit, ARGV[2] user limit, ARGV[3] requests
    /// Returns {passed by the tenant's limit, of those passed by the user's}.
    static let script = RedisScript(
        """
        local n = tonumber(ARGV[3])
        local tenant = redis.call('INCRBY', KEYS[1], n)
        if tenant == n then redis.call('EXPIRE', KEYS[1], 2) end
        local passed = math.max(0, math.min(n, tonumber(ARGV[1]) - (tenant - n)))
        if passed == 0 then return {0, 0} end
        local user = redis.call('INCRBY', KEYS[2], passed)
        if user == passed then redis.call('EXPIRE', KEYS[2], 2) end
        return {passed, math.max(0, math.min(passed, tonumber(ARGV[2]) - (user - passed)))}
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
        let user: String
        let second: Int64
    }

    /// Counts a batch: one script call per window, in the order the checks arrived.
    private static func count(_ batch: [Check], redis: RedisClient, tenantPerSecond: Int, userPerSecond: Int) async throws -> [Verdict] {
        var order: [Window] = []
        var byWindow: [Window: [Int]] = [:]
        for (index, check) in batch.enumerated() {
            let window = Window(tenant: check.tenant, user: check.user, second: check.second)
            if byWindow[window] == nil { order.append(window) }
            byWindow[window, default: []].append(index)
        }
        var verdicts = [Verdict](repeating: .tenantOver, count: batch.count)
        let replies = try await redis.send(
            order.map { window in
                script.command(
                    keys: [
                        RedisKeys.rateLimit(tenant: window.tenant, subject: "tenant:\(window.second)"),
                        RedisKeys.rateLimit(tenant: window.tenant, subject: "user:\(window.user):\(window.second)"),
                    ],
                    arguments: [String(tenantPerSecond), String(userPerSecond), String(byWindow[window]!.count)])
            })
        for (window, reply) in zip(order, replies) {
            let counts = try reply.orThrow("rate limit").array ?? []
            let passed = Int(counts.first?.int ?? 0)
            let userPassed = Int(counts.dropFirst().first?.int ?? 0)
            for (position, index) in byWindow[window]!.enumerated() {
                verdicts[index] = position < userPassed ? .allowed : position < passed ? .userOver : .tenantOver
            }
        }
        return verdicts
    }
}
