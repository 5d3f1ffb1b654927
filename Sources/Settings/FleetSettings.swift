import Contracts
import Foundation

/// What the Dispatcher and the workers share: where Redis, PostgreSQL and the policy engine are
/// and how policies are loaded and decided.
public struct FleetSettings: Sendable {
    public var redisURL = "redis://127.0.0.1:6379/0"
    public var databaseURL = "postgres://openclaw_app@127.0.0.1:5432/openclaw"
    public var policy = PolicySettings()
    public var providers = ProviderSettings()
    public var logLevel = "info"

    public init() {}

    /// The policy engine and how this process keeps it loaded.
    public struct PolicySettings: Sendable {
        /// The engine's REST API (an OPA sidecar; locally the dev engine), or `embedded`: the
        /// engine in process, through its C library.
        public var engineURL = "http://127.0.0.1:8181"
        /// The OPA engine's C library, for `engineURL` `embedded` (the engine in process).
        public var library = "var/opa/lib/opa_bindings/libopabridge.so"
        /// Longest wait for one decision; slower means unavailable (fail closed).
        public var timeout: Duration = .milliseconds(500)
        public var decisionCacheSize = 100_000
        public var decisionCacheTTL: Duration = .seconds(60)
        /// Rego modules pushed to the engine at start (nil: the engine has them already).
        public var directory: String? = "policies"
        public var syncInterval: Duration = .seconds(2)

        public init() {}
    }

    public init(_ values: ConfigurationValues) throws(FleetError) {
        if let value = values.string("redis_url") { redisURL = value }
        if let value = values.string("database_url") { databaseURL = value }
        if let value = values.string("log_level") {
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value) else {
                throw values.invalid("log_level", expected: "one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = value
        }
        providers = try ProviderSettings(values)
        if let value = values.string("opa_url") {
            guard value == "embedded" || value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw values.invalid("opa_url", expected: "an http(s) URL of OPA's REST API, or embedded")
            }
            policy.engineURL = value
        }
        if let value = values.string("opa_library") { policy.library = value }
        if let value = try values.milliseconds("opa_timeout_ms", in: 1...600_000) { policy.timeout = value }
        if let value = try values.int("decision_cache_size", in: 0...10_000_000) { policy.decisionCacheSize = value }
        if let value = try values.seconds("decision_cache_ttl_seconds", in: 0...86_400) { policy.decisionCacheTTL = value }
        if let value = values.string("policy_dir") { policy.directory = value == "none" ? nil : value }
        if let value = try values.milliseconds("policy_sync_interval_ms", in: 10...600_000) { policy.syncInterval = value }
    }
}
