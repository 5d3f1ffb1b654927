/// Tunables of the queue. Defaults suit short jobs; raise `visibilityTimeout` only if a worker can
/// stall (not just run long: running jobs extend their claim) for longer than it.
public struct QueueConfiguration: Sendable {
    /// A delivered entry idle this long is presumed orphaned (its worker died) and reclaimed.
    public var visibilityTimeout: Duration = .seconds(30)
    /// Attempts before a job is dead-lettered (deliveries after a crash count as attempts).
    public var maxAttempts: Int = 5
    /// Retry backoff: `base * 2^(attempt-1)`, capped at `maxBackoff`, with full jitter.
    public var retryBackoff: RetryBackoff = .init()
    /// How long a finished job's status record is kept.
    public var statusRetention: Duration = .seconds(7 * 24 * 3600)
    /// How long an idempotency key maps to its first job.
    public var idempotencyRetention: Duration = .seconds(24 * 3600)
    /// Entries kept in each dead-letter stream (approximate trim of the oldest).
    public var deadLetterLimit: Int = 100_000
    /// Most entries read from one tenant's stream per visit: the fairness quantum.
    public var tenantBatch: Int = 64
    /// Tenants read in one pipelined round trip.
    public var tenantsPerRound: Int = 64
    /// How long a consumer holds the tenants it is reading before others may take them (only
    /// matters when a consumer dies mid-read: its tenants wait this long).
    public var readyLease: Duration = .seconds(10)
    /// Jobs per enqueue script call in bulk enqueue.
    public var enqueueChunk: Int = 256
    /// A consumer silent this long with nothing pending is removed from its groups.
    public var deadConsumerAfter: Duration = .seconds(600)

    public init() {}
}

/// Exponential backoff with full jitter for retries.
public struct RetryBackoff: Sendable {
    public var base: Duration
    public var maximum: Duration

    public init(base: Duration = .seconds(1), maximum: Duration = .seconds(300)) {
        self.base = base
        self.maximum = maximum
    }

    /// The delay before attempt `attempt + 1`, after attempt `attempt` failed: uniformly random
    /// in [ceiling/2, ceiling] where ceiling = min(maximum, base * 2^(attempt-1)).
    public func delay(afterAttempt attempt: Int, using rng: inout some RandomNumberGenerator) -> Duration {
        let exponent = Double(max(0, min(attempt - 1, 30)))
        let ceiling = min(maximum.milliseconds, base.milliseconds * Int64(pow2(exponent)))
        let floor = ceiling / 2
        return .milliseconds(floor == ceiling ? ceiling : Int64.random(in: floor...ceiling, using: &rng))
    }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }
}
