import ArgumentParser
import AuditLog
import Connectors
import Contracts
import Foundation
import JobQueue
import Logging
import OutboundHTTP
import Policy
import PostgresClient
import RedisClient
import Settings

/// The fake providers as the connector benchmarks use them: their control API, their users, and
/// accounts connected the way a consent ends (tokens from the provider, the account's identity,
/// the row sealed).
struct BenchFakes {
    let controlURL: String
    let http = CurlTransport(userAgent: "openclaw-bench")

    func control(_ path: String, _ body: [String: String]) async throws -> [String: Any] {
        let response = try await http.send(
            OutboundRequest(
                method: "POST", url: controlURL + path, headers: [("Content-Type", "application/json")],
                body: Array(try JSONSerialization.data(withJSONObject: body)), timeout: .seconds(30)))
        guard response.status == 200, let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw ValidationError("the fakes answered \(response.status) to \(path)")
        }
        return object
    }

    /// The fakes' users, the big mailbox's first (their Gmail addresses, in order).
    func users() async throws -> [String] {
        let response = try await http.send(OutboundRequest(method: "GET", url: controlURL + "/control/users", timeout: .seconds(30)))
        guard response.status == 200, let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let list = object["users"] as? [String]
        else { throw ValidationError("the fakes did not list their users (\(response.status))") }
        return list
    }

    /// Connects `connectors` of each address as user `u<index>` of `tenant`.
    func connect(
        _ addresses: [String], _ connectors: [Connector], tenant: TenantID, directory: TenantDirectory, secrets: SecretBox,
        settings: ProviderSettings
    ) async throws {
        let accounts = ConnectorAccounts(tenant: tenant, secrets: secrets)
        try await forEach(Array(addresses.enumerated()), width: 16) { index, address in
            for connector in connectors {
                let issued = try await control("/control/tokens/issue", ["provider": connector.provider.rawValue, "user": address])
                let access = issued["access_token"] as? String ?? ""
                let tokens = OAuthTokens(
                    accessToken: access, refreshToken: issued["refresh_token"] as? String,
                    expiresAt: (issued["expires_in"] as? Double).map { Date().addingTimeInterval($0) },
                    scope: connector.scopes.joined(separator: " "))
                let identity = try await AccountIdentity.identify(
                    connector, session: AccountIdentity.session(connector, http: http, accessToken: access), settings: settings)
                try await directory.session(tenant) { sql in
                    try await accounts.connect(
                        sql, user: "u\(index)", connector: connector, tokens: tokens, account: identity.account, details: identity.details)
                }
            }
        }
    }
}

/// Where a connector benchmark's fleet runs: the services, the fakes and the worker processes.
struct FleetBenchOptions: ParsableArguments {
    @Option(help: "Redis URL (a dedicated database: the bench flushes it).") var redisURL: String
    @Option(help: "PostgreSQL URL as the administrator (to create the bench tenant).") var adminURL: String
    @Option(help: "PostgreSQL URL as the application role (the workers').") var databaseURL: String
    @Option(help: "The policy engine's REST API.") var opaURL: String
    @Option(help: "The fake providers' control URL.") var controlURL: String
    @Option(help: "Path of the Workers executable.") var workersBinary: String
    @Option(help: "Worker processes.") var workers: Int = 2
    @Option(help: "Concurrency per worker process.") var concurrency: Int = 32

    /// `workers` processes serving `kinds` of `tenant` only.
    func spawnWorkers(kinds: String, tenant: TenantID) throws -> [Process] {
        try (0..<workers).map { _ in
            try spawnWorker(
                binary: workersBinary, kinds: kinds, tenant: tenant, redisURL: redisURL, databaseURL: databaseURL, opaURL: opaURL,
                concurrency: concurrency)
        }
    }
}

/// A `Workers` process serving `kinds` of `tenant` only.
func spawnWorker(
    binary: String, kinds: String, tenant: TenantID, redisURL: String, databaseURL: String, opaURL: String, concurrency: Int
) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = [
        "--redis-url", redisURL, "--database-url", databaseURL, "--opa-url", opaURL, "--kinds", kinds, "--tenants", tenant.rawValue,
        "--concurrency", String(concurrency), "--metrics-port=-1", "--log-level", "error",
    ]
    try process.run()
    return process
}

/// A process's peak resident set (VmHWM), in MB.
func peakRSS(_ pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes / 1024
}

/// Runs `body` on every item, `width` at a time.
func forEach<T: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = 0
        for _ in 0..<min(width, items.count) {
            let item = items[next]
            next += 1
            group.addTask { try await body(item) }
        }
        while try await group.next() != nil {
            if next < items.count {
                let item = items[next]
                next += 1
                group.addTask { try await body(item) }
            }
        }
    }
}

/// What a connector benchmark starts from: the providers' settings and the sealing key from
/// the environment, a flushed Redis database, a new tenant whose enterprise policy lets users
/// read their five connectors.
struct ConnectorBenchTenant {
    let settings: ProviderSettings
    let secrets: SecretBox
    let redis: RedisClient
    let queue: JobQueue
    let admin: PostgresClient
    let directory: TenantDirectory
    let tenant: TenantID

    static func make(named prefix: String, options: FleetBenchOptions, logger: Logger) async throws -> ConnectorBenchTenant {
        let (redisURL, adminURL, databaseURL) = (options.redisURL, options.adminURL, options.databaseURL)
        let values = try ConfigurationValues.load()
        var redisConfiguration = try RedisConfiguration(url: redisURL)
        redisConfiguration.poolSize = 4
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        try await redis.send("FLUSHDB")
        let admin = try PostgresClient(url: adminURL, size: 2, logger: logger)
        let directory = TenantDirectory(database: try PostgresClient(url: databaseURL, size: 8, logger: logger))
        let tenant = try TenantID("\(prefix)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))")
        try await TenantDirectory(database: admin).create(tenant)
        let boss = Identity(tenant: tenant, user: "bench-admin", org: "", team: "", roles: [.enterpriseAdmin])
        var actions: [String: JSONValue] = ["default": .object(["autonomy": .string("block")])]
        for connector in Connector.allCases { actions[connector.readAction.rawValue] = .object(["autonomy": .string("autonomous")]) }
        _ = try await PolicyStore(tenants: directory, redis: redis).save(
            by: boss, scope: .enterprise, scopeID: "*", domain: .actions, content: .object(actions), changeReason: "\(prefix) benchmark")
        return ConnectorBenchTenant(
            settings: try ProviderSettings(values), secrets: try SecretBox.load(values), redis: redis,
            queue: JobQueue(redis: redis, logger: logger), admin: admin, directory: directory, tenant: tenant)
    }
}
