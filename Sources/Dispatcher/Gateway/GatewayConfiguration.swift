import Contracts
import Foundation
import Yams

/// Everything the gateway needs, from the environment and an optional YAML file (the
/// environment wins). Names: `OC_<UPPER_SNAKE>` for the environment, snake_case in YAML.
struct GatewayConfiguration: Sendable {
    var host = "127.0.0.1"
    var port = 8080
    /// Threads serving HTTP connections (nil: one per core).
    var eventLoopThreads: Int?
    var redisURL = "redis://127.0.0.1:6379/0"
    var databaseURL = "postgres://openclaw_app@127.0.0.1:5432/openclaw"
    var opaURL = "http://127.0.0.1:8181"
    var opaTimeout: Duration = .milliseconds(500)
    var decisionCacheSize = 100_000
    var decisionCacheTTL: Duration = .seconds(60)
    /// Rego modules pushed to the policy engine at start (nil: the engine loads them itself).
    var policyDirectory: String? = "policies"
    var policySyncInterval: Duration = .seconds(2)
    var oidc = OIDCConfiguration()
    var maxBodyBytes = 64 * 1024
    var rateLimitTenantPerSecond = 5_000
    var rateLimitUserPerSecond = 1_000
    var approvalTTL: Duration = .seconds(72 * 3600)
    var schedulerInterval: Duration = .seconds(1)
    /// How often active schedules missing from the Redis index are put back from PostgreSQL
    /// (also at start); nil: never.
    var scheduleReindexInterval: Duration? = .seconds(600)

    struct OIDCConfiguration: Sendable {
        /// Expected `iss`; discovery is `<issuer>/.well-known/openid-configuration`.
        var issuer = "http://127.0.0.1:8290"
        /// Expected `aud` (one of).
        var audience = "openclaw"
        var algorithms: Set<String> = ["RS256", "ES256"]
        var leeway: Duration = .seconds(30)
        /// Shortest wait between two JWKS refreshes triggered by unknown key ids.
        var refreshInterval: Duration = .seconds(10)
        var tenantClaim = "tenant"
        var userClaim = "sub"
        var orgClaim = "org"
        var teamClaim = "team"
        var rolesClaim = "roles"
        /// Claim role values mapped to fleet roles; unmapped values that are fleet role names
        /// count as themselves, anything else is ignored.
        var roleMapping: [String: String] = [:]
    }

    /// Loads `OC_CONFIG_FILE` (if set) and then the environment.
    static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        if let path = environment["OC_CONFIG_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw FleetError(.invalidConfiguration, "cannot read OC_CONFIG_FILE \(path)")
            }
            let values: [String: Any]
            do {
                values = (try Yams.load(yaml: text) as? [String: Any]) ?? [:]
            } catch {
                throw FleetError(.invalidConfiguration, "\(path) is not valid YAML: \(error)")
            }
            try configuration.apply(values.mapValues { "\($0)" }.merging(flatten(values), uniquingKeysWith: { $1 }), source: path)
        }
        var fromEnvironment: [String: String] = [:]
        for (key, value) in environment where key.hasPrefix("OC_") && !value.isEmpty {
            fromEnvironment[key.dropFirst(3).lowercased()] = value
        }
        try configuration.apply(fromEnvironment, source: "the environment")
        return configuration
    }

    /// Nested YAML maps as `outer_inner` keys (e.g. `oidc: {issuer: x}` is `oidc_issuer`).
    private static func flatten(_ values: [String: Any], prefix: String = "") -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in values {
            let name = prefix.isEmpty ? key : "\(prefix)_\(key)"
            if let nested = value as? [String: Any] {
                out.merge(flatten(nested, prefix: name)) { $1 }
            } else if let list = value as? [Any] {
                out[name] = list.map { "\($0)" }.joined(separator: ",")
            } else {
                out[name] = "\(value)"
            }
        }
        return out
    }

    private mutating func apply(_ values: [String: String], source: String) throws {
        func int(_ key: String) throws -> Int? {
            guard let text = values[key] else { return nil }
            guard let value = Int(text) else {
                throw FleetError(.invalidConfiguration, "\(key) in \(source) must be a whole number, not '\(text)'")
            }
            return value
        }
        func milliseconds(_ key: String) throws -> Duration? { try int(key).map { .milliseconds($0) } }
        if let value = values["host"] { host = value }
        if let value = try int("port") { port = value }
        if let value = values["redis_url"] { redisURL = value }
        if let value = values["database_url"] { databaseURL = value }
        if let value = values["opa_url"] { opaURL = value }
        if let value = try milliseconds("opa_timeout_ms") { opaTimeout = value }
        if let value = try int("decision_cache_size") { decisionCacheSize = value }
        if let value = try int("decision_cache_ttl_seconds") { decisionCacheTTL = .seconds(value) }
        if let value = values["policy_dir"] { policyDirectory = value == "none" ? nil : value }
        if let value = try milliseconds("policy_sync_interval_ms") { policySyncInterval = value }
        if let value = values["oidc_issuer"] { oidc.issuer = value }
        if let value = values["oidc_audience"] { oidc.audience = value }
        if let value = values["oidc_algorithms"] {
            let algorithms = Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() })
            let unsupported = algorithms.subtracting(["RS256", "RS384", "RS512", "ES256", "ES384"])
            guard unsupported.isEmpty, !algorithms.isEmpty else {
                throw FleetError(
                    .invalidConfiguration,
                    "oidc_algorithms in \(source): only RS256/384/512 and ES256/384 are accepted, not \(unsupported.sorted())")
            }
            oidc.algorithms = algorithms
        }
        if let value = try int("oidc_leeway_seconds") { oidc.leeway = .seconds(value) }
        if let value = values["oidc_tenant_claim"] { oidc.tenantClaim = value }
        if let value = values["oidc_user_claim"] { oidc.userClaim = value }
        if let value = values["oidc_org_claim"] { oidc.orgClaim = value }
        if let value = values["oidc_team_claim"] { oidc.teamClaim = value }
        if let value = values["oidc_roles_claim"] { oidc.rolesClaim = value }
        if let value = values["oidc_role_mapping"] {
            // "claim-value=role,..." e.g. "Admins=enterprise_admin,Leads=team_lead"
            for pair in value.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, Role(rawValue: parts[1]) != nil else {
                    throw FleetError(
                        .invalidConfiguration, "oidc_role_mapping in \(source): '\(pair)' is not claim-value=role with a known role")
                }
                oidc.roleMapping[parts[0]] = parts[1]
            }
        }
        if let value = try int("event_loop_threads") {
            guard value > 0 else { throw FleetError(.invalidConfiguration, "event_loop_threads in \(source) must be at least 1") }
            eventLoopThreads = value
        }
        if let value = try int("max_body_bytes") { maxBodyBytes = value }
        if let value = try int("rate_limit_tenant_per_second") { rateLimitTenantPerSecond = value }
        if let value = try int("rate_limit_user_per_second") { rateLimitUserPerSecond = value }
        if let value = try int("approval_ttl_seconds") { approvalTTL = .seconds(value) }
        if let value = try milliseconds("scheduler_interval_ms") { schedulerInterval = value }
        if let value = try int("schedule_reindex_seconds") { scheduleReindexInterval = value > 0 ? .seconds(value) : nil }
    }
}

/// Fleet roles (SPEC "Roles").
enum Role: String, Sendable, CaseIterable {
    case enterpriseAdmin = "enterprise_admin"
    case orgAdmin = "org_admin"
    case teamLead = "team_lead"
    case user
}
