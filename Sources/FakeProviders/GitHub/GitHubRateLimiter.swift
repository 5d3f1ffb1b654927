import Synchronization

/// GitHub's primary rate limits per token owner and resource (`core` 5,000/h, `search` 30/min;
/// anonymous callers 60/h and 10/min), windows starting at the first request.
final class GitHubRateLimiter: Sendable {
    enum Resource: String, Sendable {
        case core, search
    }

    /// The numbers of the `x-ratelimit-*` headers.
    struct Snapshot: Sendable {
        let limit: Int
        let used: Int
        let reset: Int64
        let resource: Resource
        var remaining: Int { max(0, limit - used) }

        var headers: [(name: String, value: String)] {
            [
                ("x-ratelimit-limit", String(limit)), ("x-ratelimit-remaining", String(remaining)), ("x-ratelimit-reset", String(reset)),
                ("x-ratelimit-used", String(used)), ("x-ratelimit-resource", resource.rawValue),
            ]
        }
    }

    private struct Bucket {
        var start: Int64
        var used: Int
    }

    let coreLimit: Int
    let searchLimit: Int
    let enforced: Bool
    private let buckets = Mutex<[String: Bucket]>([:])

    init(coreLimit: Int, searchLimit: Int, enforced: Bool) {
        self.coreLimit = coreLimit
        self.searchLimit = searchLimit
        self.enforced = enforced
    }

    private func shape(_ resource: Resource, anonymous: Bool) -> (limit: Int, window: Int64) {
        switch resource {
        case .core: return (anonymous ? 60 : coreLimit, 3600)
        case .search: return (anonymous ? 10 : searchLimit, 60)
        }
    }

    /// The state without spending (`304`s and `/rate_limit` do not count); `spend` adds one.
    func check(key: String, resource: Resource, anonymous: Bool, nowSeconds: Int64, spend: Bool) -> Snapshot {
        let (limit, window) = shape(resource, anonymous: anonymous)
        return buckets.withLock { buckets in
            let name = key + "|" + resource.rawValue
            var bucket = buckets[name] ?? Bucket(start: nowSeconds, used: 0)
            if nowSeconds >= bucket.start + window { bucket = Bucket(start: nowSeconds, used: 0) }
            if spend { bucket.used += 1 }
            buckets[name] = bucket
            return Snapshot(limit: limit, used: bucket.used, reset: bucket.start + window, resource: resource)
        }
    }

    /// Whether the next request would be refused.
    func exhausted(key: String, resource: Resource, anonymous: Bool, nowSeconds: Int64) -> Snapshot? {
        guard enforced else { return nil }
        let snapshot = check(key: key, resource: resource, anonymous: anonymous, nowSeconds: nowSeconds, spend: false)
        return snapshot.remaining == 0 ? snapshot : nil
    }
}
