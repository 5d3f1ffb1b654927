import Contracts
import RedisClient

/// Per-tenant and per-user request limits in Redis: fixed one-second windows, both checked
/// in one script (the two keys share the tenant's hash slot).
struct RateLimiter: Sendable {
    let redis: RedisClient
    let tenantPerSecond: Int
    let userPerSecond: Int

    /// KEYS[1] tenant window, KEYS[2] user window
    /// ARGV[1] tenant limit, ARGV[2] user limit
    /// Returns 0 when allowed, 1 when the tenant is over its limit, 2 when the user is.
    static let script = RedisScript(
        """
        local tenant = redis.call('INCR', KEYS[1])
        if tenant == 1 then redis.call('EXPIRE', KEYS[1], 2) end
        if tenant > tonumber(ARGV[1]) then return 1 end
        local user = redis.call('INCR', KEYS[2])
        if user == 1 then redis.call('EXPIRE', KEYS[2], 2) end
        if user > tonumber(ARGV[2]) then return 2 end
        return 0
        """)

    /// Throws a 429 problem with `Retry-After` when the caller is over a limit.
    func check(_ identity: Identity) async throws {
        let second = String(Clock.milliseconds() / 1000)
        let reply = try await redis.send(
            Self.script.command(
                keys: [
                    RedisKeys.rateLimit(tenant: identity.tenant, subject: "tenant:\(second)"),
                    RedisKeys.rateLimit(tenant: identity.tenant, subject: "user:\(identity.user):\(second)"),
                ],
                arguments: [String(tenantPerSecond), String(userPerSecond)]))
        switch reply.int {
        case 1:
            throw Problem(
                status: .tooManyRequests, slug: "rate-limited", title: "Too many requests",
                detail: "tenant \(identity.tenant) is over its limit of \(tenantPerSecond) requests per second", headers: [.retryAfter: "1"]
            )
        case 2:
            throw Problem(
                status: .tooManyRequests, slug: "rate-limited", title: "Too many requests",
                detail: "user \(identity.user) is over the limit of \(userPerSecond) requests per second", headers: [.retryAfter: "1"])
        default:
            return
        }
    }
}
