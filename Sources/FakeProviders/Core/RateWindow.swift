import Synchronization

/// A sliding-window counter per key (a user, a user and endpoint): at most `limit` units within
/// `windowMillis`. Buckets of a second keep it cheap.
final class SlidingWindowLimiter: Sendable {
    let limit: Int
    let windowMillis: Int64
    private let bucketMillis: Int64
    private let buckets = Mutex<[String: [(start: Int64, used: Int)]]>([:])

    init(limit: Int, windowMillis: Int64) {
        self.limit = limit
        self.windowMillis = windowMillis
        bucketMillis = max(1, windowMillis / 60)
    }

    /// Spends `units` for `key` at `now` when they fit; returns whether they did, and when
    /// (epoch ms) the oldest units leave the window.
    func spend(_ units: Int, key: String, now: Int64) -> (allowed: Bool, retryAtMillis: Int64) {
        buckets.withLock { all in
            var list = all[key] ?? []
            list.removeAll { $0.start + windowMillis <= now }
            let used = list.reduce(0) { $0 + $1.used }
            guard used + units <= limit else {
                all[key] = list
                return (false, (list.first?.start ?? now) + windowMillis)
            }
            let bucketStart = now - now % bucketMillis
            if let last = list.indices.last, list[last].start == bucketStart {
                list[last].used += units
            } else {
                list.append((bucketStart, units))
            }
            all[key] = list
            return (true, 0)
        }
    }
}

/// Requests in flight per key, for per-user concurrency caps.
final class ConcurrencyGauge: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Enters when below the limit.
    func enter(_ key: String) -> Bool {
        counts.withLock { counts in
            let current = counts[key, default: 0]
            guard limit <= 0 || current < limit else { return false }
            counts[key] = current + 1
            return true
        }
    }

    func leave(_ key: String) {
        counts.withLock { counts in
            let value = counts[key, default: 1] - 1
            counts[key] = value > 0 ? value : nil
        }
    }
}
