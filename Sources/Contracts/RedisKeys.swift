/// Every Redis key the fleet uses comes from here.
///
/// Tenant keys carry the tenant inside a Redis Cluster hash tag (`{t:<tenant>}`), so all keys of
/// one tenant live in one slot and per-tenant scripts work on a cluster. Global keys hold tenant
/// ids at most, never tenant data.
public enum RedisKeys {
    public static let root = "oc"
    /// The consumer group every worker of a kind joins.
    public static let consumerGroup = "workers"

    /// `oc:{t:<tenant>}`: the prefix shared by all of a tenant's keys.
    public static func tenantPrefix(_ tenant: TenantID) -> String { "\(root):{t:\(tenant.rawValue)}" }

    /// The tenant's job stream for `kind`.
    public static func stream(tenant: TenantID, kind: JobKind) -> String {
        "\(tenantPrefix(tenant)):stream:\(kind.rawValue)"
    }

    /// The status hash of one job.
    public static func job(tenant: TenantID, id: String) -> String { "\(tenantPrefix(tenant)):job:\(id)" }

    /// Delayed and retrying jobs of `kind`, scored by the time they are due (ms).
    public static func delayed(tenant: TenantID, kind: JobKind) -> String {
        "\(tenantPrefix(tenant)):delayed:\(kind.rawValue)"
    }

    /// A delayed job's envelope, held until it is due.
    public static func envelope(tenant: TenantID, id: String) -> String {
        "\(tenantPrefix(tenant)):envelope:\(id)"
    }

    /// The dead-letter stream for `kind`.
    public static func deadLetters(tenant: TenantID, kind: JobKind) -> String {
        "\(tenantPrefix(tenant)):dlq:\(kind.rawValue)"
    }

    /// Maps an idempotency key to the first job's id.
    public static func idempotency(tenant: TenantID, key: String) -> String {
        "\(tenantPrefix(tenant)):idem:\(key)"
    }

    /// A tenant's rate-limit window for one second (a hash: field `t` counts the tenant's
    /// requests, `u:<user>` each user's).
    public static func rateLimit(tenant: TenantID, second: Int64) -> String {
        "\(tenantPrefix(tenant)):ratelimit:\(second)"
    }

    /// A handler's counter `name` under the tenant's prefix (`oc:{t:<tenant>}:<name>`).
    public static func counter(tenant: TenantID, name: String) -> String { "\(tenantPrefix(tenant)):\(name)" }

    /// Requests a tenant made to `name` (a connector) in the window starting at `window` (ms).
    public static func budget(tenant: TenantID, name: String, window: Int64) -> String {
        "\(tenantPrefix(tenant)):budget:\(name):\(window)"
    }

    /// The counter the `noop` job increments.
    public static func noopCounter(tenant: TenantID) -> String { counter(tenant: tenant, name: NoopKind.doneCounter) }

    /// Runs per job id of `noop` jobs that ask to be recorded.
    public static func noopRuns(tenant: TenantID) -> String { counter(tenant: tenant, name: NoopKind.runsCounter) }

    /// The pattern matching every key of `tenant` (for SCAN in tests and admin tools).
    public static func tenantPattern(_ tenant: TenantID) -> String { "\(root):{t:\(tenant.rawValue)}:*" }

    // MARK: Global keys (tenant ids only)

    /// The ready index of `kind`: tenants that may have undelivered jobs. Its keys share
    /// the hash tag `{ready:<kind>}` (one slot, so its scripts are atomic on a cluster) and
    /// name no tenant's slot. The set says who is in the index, the list is the order in which
    /// they are served, the leases are the tenants a consumer is reading now, the counts say
    /// about how much each has waiting.
    public static func readyTenants(kind: JobKind) -> String { "\(root):{ready:\(kind.rawValue)}:set" }

    /// The ready tenants of `kind` not being read now, in the order they will be served.
    public static func readyList(kind: JobKind) -> String { "\(root):{ready:\(kind.rawValue)}:list" }

    /// Sorted set of the ready tenants of `kind` a consumer is reading now, scored by when its
    /// lease on them runs out (ms).
    public static func readyLeases(kind: JobKind) -> String { "\(root):{ready:\(kind.rawValue)}:leases" }

    /// Hash of the ready tenants of `kind` → about how many undelivered jobs each has (a hint
    /// for sizing reads; correctness never depends on it).
    public static func readyCounts(kind: JobKind) -> String { "\(root):{ready:\(kind.rawValue)}:counts" }

    /// The ready set of earlier versions (a plain set of tenant ids); consumers fold it into
    /// the ready index when they start.
    public static func legacyReadyTenants(kind: JobKind) -> String { "\(root):ready:\(kind.rawValue)" }

    /// Set of every tenant that has ever had a job of `kind` (the recoverer walks it).
    public static func knownTenants(kind: JobKind) -> String { "\(root):tenants:\(kind.rawValue)" }

    /// Sorted set of tenants with delayed jobs of `kind`, scored by their earliest due time.
    public static func delayedIndex(kind: JobKind) -> String { "\(root):delayed:\(kind.rawValue)" }

    /// A short stream whose entries wake idle workers of `kind` (it carries no job data).
    public static func wakeups(kind: JobKind) -> String { "\(root):wake:\(kind.rawValue)" }

    /// Whose turn it is at a fleet-wide maintenance duty of `kind` (a walk over every tenant):
    /// set with NX and an expiry by the consumer that takes it, so one consumer per interval does it.
    public static func maintenanceTurn(kind: JobKind, duty: String) -> String { "\(root):turn:\(kind.rawValue):\(duty)" }

    /// Hash of the queue figures of `kind` (depth, lag, ...) as the fleet last sampled them.
    public static func queueStats(kind: JobKind) -> String { "\(root):queue-stats:\(kind.rawValue)" }

    /// Sorted set of live consumers of `kind`, scored by their last heartbeat (ms).
    public static func consumers(kind: JobKind) -> String { "\(root):consumers:\(kind.rawValue)" }

    /// Sorted set of `<tenant>/<schedule id>` by next firing time (ms): the scheduler's index.
    public static let scheduleIndex = "\(root):schedules"

    /// Sorted set of `<tenant>/<approval id>` by expiry time (ms): the expiry sweep's index.
    public static let approvalExpiry = "\(root):approvals:expiry"

    /// Sorted set of `<tenant>/<job id>` by admission time (ms): allowed jobs whose decision is
    /// audited and whose enqueue is not yet confirmed. What a crash leaves here is reconciled.
    public static let admissions = "\(root):admissions"

    /// Hash tenant → policy revision (a number moved by every policy change).
    public static let policyRevisions = "\(root):policy-revisions"
}
