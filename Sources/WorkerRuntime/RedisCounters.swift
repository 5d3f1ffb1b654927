import Contracts
import RedisClient
import Synchronization

/// `TenantCounters` in Redis: `INCR` and `HINCRBY` under the tenant's prefix, one pipeline.
public struct RedisCounters: TenantCounters {
    let redis: RedisClient

    public init(redis: RedisClient) { self.redis = redis }

    public func increment(_ tenant: TenantID, _ counters: [(name: String, field: String?)]) async throws {
        let commands = counters.map { counter in
            let key = RedisKeys.counter(tenant: tenant, name: counter.name)
            return counter.field.map { RedisCommand("HINCRBY", [key, $0, "1"]) } ?? RedisCommand("INCR", [key])
        }
        for reply in try await redis.send(commands) { try reply.orThrow("increment") }
    }
}

/// `RequestBudget` in Redis: a counter per tenant, budget and window. A process takes requests
/// from Redis in small blocks (a twentieth of the limit, at most 50) and spends them locally, so
/// a busy job does not wait for a Redis round trip before each request; what a process took and
/// did not spend by the window's end is simply not used, so the fleet stays under the limit.
public struct RedisBudget: RequestBudget {
    let redis: RedisClient
    private let leases = Leases()

    final class Leases: Sendable {
        /// Requests taken and not yet spent, per budget key (tenant, name and window).
        let remaining = Mutex<[String: Int]>([:])
    }

    public init(redis: RedisClient) { self.redis = redis }

    public func take(_ tenant: TenantID, _ name: String, limit: Int, per window: Duration) async throws -> Duration? {
        let size = max(1, window.milliseconds)
        let now = Clock.milliseconds()
        let start = now - now % size
        let key = RedisKeys.budget(tenant: tenant, name: name, window: start)
        let spent = leases.remaining.withLock { remaining -> Bool in
            guard let left = remaining[key], left > 0 else { return false }
            remaining[key] = left - 1
            return true
        }
        if spent { return nil }
        let block = max(1, min(50, limit / 20))
        let replies = try await redis.send([
            RedisCommand("INCRBY", [key, String(block)]), RedisCommand("PEXPIRE", [key, String(size * 2)]),
        ])
        let used = try replies[0].orThrow("budget").int ?? 0
        let granted = min(block, max(0, limit - (Int(used) - block)))
        guard granted > 0 else { return .milliseconds(start + size - now + 1) }
        leases.remaining.withLock { remaining in
            // Leases of windows that are over are dropped.
            remaining = remaining.filter { $0.key.hasSuffix(":\(start)") }
            remaining[key, default: 0] += granted - 1
        }
        return nil
    }
}

/// A port a worker process was started without (e.g. no database for a benchmark run): every
/// use fails with a message saying what to configure.
public struct UnconfiguredPort: PolicyGate, TenantDatabase, FollowUpQueue {
    let what: String

    /// - Parameter what: what to configure, e.g. "--database-url (or OC_DATABASE_URL)".
    public init(_ what: String) { self.what = what }

    public func decide(
        _ identity: Identity, action: Action, classification: Classification, target: String, model: PolicyInput.Model?
    ) async -> PolicyAnswer {
        .unavailable(reason: "this worker runs without a policy engine; set \(what)")
    }

    public func transaction<T: Sendable>(_ tenant: TenantID, _ body: @Sendable (any TenantSQL) async throws -> T) async throws -> T {
        throw FleetError(.invalidConfiguration, "this worker runs without a database; set \(what)")
    }

    public func submit(_ followUp: FollowUp, after job: JobEnvelope) async throws -> FollowUpOutcome {
        throw FleetError(.invalidConfiguration, "this worker cannot submit follow-up jobs; set \(what)")
    }
}
