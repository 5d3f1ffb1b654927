import Connectors
import Contracts
import Foundation
import Settings

/// Everything the gateway needs, read through `ConfigurationValues` (the environment over an
/// optional YAML file, as every executable reads it).
struct GatewayConfiguration: Sendable {
    var host = "127.0.0.1"
    var port = 8080
    /// Threads serving HTTP connections (nil: one per core).
    var eventLoopThreads: Int?
    /// Redis, PostgreSQL and the policy engine (shared with the workers).
    var fleet = FleetSettings()
    var oidc = OIDCConfiguration()
    /// The key connector tokens are sealed with (nil: connectors cannot be connected).
    var secrets: SecretBox?
    var maxBodyBytes = 64 * 1024
    /// How long a client may take to send a request body (408 after).
    var bodyTimeout: Duration = .seconds(10)
    var rateLimitTenantPerSecond = 5_000
    var rateLimitUserPerSecond = 1_000
    var approvalTTL: Duration = .seconds(72 * 3600)
    var schedulerInterval: Duration = .seconds(1)
    /// How long an admission may take before an unconfirmed one (its Dispatcher died between the
    /// audited decision and the enqueue) is reconciled.
    var admissionGrace: Duration = .seconds(120)
    /// How often active schedules and pending approvals missing from their Redis indexes are put
    /// back from PostgreSQL (also at start); nil: never.
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
        /// The longest one fetch of the discovery document or the keys may take.
        var keysTimeout: Duration = .seconds(5)
        var tenantClaim = "tenant"
        var userClaim = "sub"
        var orgClaim = "org"
        var teamClaim = "team"
        var rolesClaim = "roles"
        /// Claim role values mapped to fleet roles; unmapped values that are fleet role names
        /// count as themselves, anything else is ignored.
        var roleMapping: [String: Role] = [:]
    }

    init() {}

    /// Reads the settings (`OC_<NAME>` or `name` in `OC_CONFIG_FILE`).
    static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws(FleetError) -> GatewayConfiguration {
        try GatewayConfiguration(ConfigurationValues.load(environment: environment))
    }

    init(_ values: ConfigurationValues) throws(FleetError) {
        fleet = try FleetSettings(values)
        if values.string("secrets_key") != nil || values.string("secrets_key_file") != nil { secrets = try SecretBox.load(values) }
        if let value = values.string("host") { host = value }
        if let value = try values.int("port", in: 0...65535) { port = value }
        if let value = try values.int("event_loop_threads", in: 1...256) { eventLoopThreads = value }
        if let value = values.string("oidc_issuer") { oidc.issuer = value }
        if let value = values.string("oidc_audience") { oidc.audience = value }
        if let value = values.list("oidc_algorithms") {
            let algorithms = Set(value.map { $0.uppercased() })
            guard !algorithms.isEmpty, algorithms.isSubset(of: ["RS256", "RS384", "RS512", "ES256", "ES384"]) else {
                throw values.invalid("oidc_algorithms", expected: "a list of RS256, RS384, RS512, ES256, ES384 (asymmetric only)")
            }
            oidc.algorithms = algorithms
        }
        if let value = try values.seconds("oidc_leeway_seconds", in: 0...3600) { oidc.leeway = value }
        if let value = try values.milliseconds("oidc_keys_timeout_ms", in: 100...120_000) { oidc.keysTimeout = value }
        if let value = values.string("oidc_tenant_claim") { oidc.tenantClaim = value }
        if let value = values.string("oidc_user_claim") { oidc.userClaim = value }
        if let value = values.string("oidc_org_claim") { oidc.orgClaim = value }
        if let value = values.string("oidc_team_claim") { oidc.teamClaim = value }
        if let value = values.string("oidc_roles_claim") { oidc.rolesClaim = value }
        if let pairs = values.list("oidc_role_mapping") {
            // "claim-value=role,..." e.g. "Admins=enterprise_admin,Leads=team_lead"
            for pair in pairs {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let role = Role(rawValue: parts[1]) else {
                    throw values.invalid(
                        "oidc_role_mapping", expected: "claim-value=role pairs with roles enterprise_admin, org_admin, team_lead, user")
                }
                oidc.roleMapping[parts[0]] = role
            }
        }
        if let value = try values.int("max_body_bytes", in: 1024...(64 << 20)) { maxBodyBytes = value }
        if let value = try values.milliseconds("body_timeout_ms", in: 100...600_000) { bodyTimeout = value }
        if let value = try values.int("rate_limit_tenant_per_second", in: 1...10_000_000) { rateLimitTenantPerSecond = value }
        if let value = try values.int("rate_limit_user_per_second", in: 1...10_000_000) { rateLimitUserPerSecond = value }
        if let value = try values.seconds("approval_ttl_seconds", in: 1...(366 * 86_400)) { approvalTTL = value }
        if let value = try values.milliseconds("scheduler_interval_ms", in: 10...600_000) { schedulerInterval = value }
        if let value = try values.seconds("admission_grace_seconds", in: 1...86_400) { admissionGrace = value }
        if let value = try values.int("schedule_reindex_seconds", in: 0...(7 * 86_400)) {
            scheduleReindexInterval = value > 0 ? .seconds(value) : nil
        }
    }
}
