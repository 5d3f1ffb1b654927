import Admission
import ArgumentParser
import AuditLog
import Connectors
import Contracts
import Foundation
import JobQueue
import Logging
import Metrics
import OutboundHTTP
import Policy
import PostgresClient
import Prometheus
import RedisClient
import ServiceLifecycle
import Settings
import WorkerRuntime

@main
struct WorkersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Workers",
        abstract: "Runs OpenClaw job workers: consumes job streams from Redis and runs their handlers.",
        discussion: """
            Every option can also be set through the environment variable named in its help, or in the YAML file \
            OC_CONFIG_FILE (snake_case, without OC_), as the Dispatcher reads them.
            """)

    @Option(help: "Job kinds to consume, comma-separated (env OC_WORKER_KINDS). Default: every kind this build handles.")
    var kinds: String = setting("worker_kinds") ?? Registry.kinds.map(\.rawValue).joined(separator: ",")

    @Option(help: "Jobs run at once by this process (env OC_WORKER_CONCURRENCY).")
    var concurrency: Int = setting("worker_concurrency").flatMap(Int.init) ?? 32

    @Option(help: "Serve only these tenants, comma-separated (env OC_WORKER_TENANTS). Default: all.")
    var tenants: String?

    @Option(help: "Redis URL redis://[user:password@]host:port/db (env OC_REDIS_URL).")
    var redisURL: String = setting("redis_url") ?? FleetSettings().redisURL

    @Option(help: "PostgreSQL URL as the application role: the audit log and the tenants' tables (env OC_DATABASE_URL).")
    var databaseURL: String?

    @Option(
        help: "PostgreSQL connections of this process (env OC_DATABASE_POOL_SIZE). Default: a quarter of --concurrency, at least 4.")
    var databasePoolSize: Int?

    @Option(
        help: "The policy engine's REST API, or embedded for the engine in process, for kinds that act outside the fleet (env OC_OPA_URL).")
    var opaURL: String = setting("opa_url") ?? FleetSettings().policy.engineURL

    @Flag(help: "Run without writing job lifecycle events to the audit log (benchmarks only; noop jobs only).")
    var noAudit = false

    @Option(help: "Address for /metrics and /healthz (env OC_METRICS_HOST).")
    var metricsHost: String = setting("metrics_host") ?? "127.0.0.1"

    @Option(help: "Port for /metrics and /healthz; 0 picks a free one, -1 disables (env OC_METRICS_PORT).")
    var metricsPort: Int = setting("metrics_port").flatMap(Int.init) ?? 9101

    @Option(help: "Seconds running jobs get to finish after SIGTERM (env OC_WORKER_GRACE_SECONDS).")
    var graceSeconds: Double = setting("worker_grace_seconds").flatMap(Double.init) ?? 30

    @Option(help: "Milliseconds a delivered job may sit idle before another worker reclaims it (env OC_VISIBILITY_TIMEOUT_MS).")
    var visibilityTimeoutMs: Int = setting("visibility_timeout_ms").flatMap(Int.init) ?? 30_000

    @Option(help: "Attempts before a job is dead-lettered (env OC_MAX_ATTEMPTS).")
    var maxAttempts: Int = setting("max_attempts").flatMap(Int.init) ?? 5

    @Option(help: "First retry delay in milliseconds; doubles per attempt, with jitter (env OC_RETRY_BASE_MS).")
    var retryBaseMs: Int = setting("retry_base_ms").flatMap(Int.init) ?? 1000

    @Option(help: "Longest retry delay in milliseconds (env OC_RETRY_MAX_MS).")
    var retryMaxMs: Int = setting("retry_max_ms").flatMap(Int.init) ?? 300_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env OC_LOG_LEVEL).")
    var logLevel: String = setting("log_level") ?? "info"

    /// The numeric settings read from the environment or the file, checked: a value that is not
    /// a number in range stops the process saying so, instead of falling back to the default.
    func validate() throws {
        let values = ConfigurationValues.process
        _ = try values.int("worker_concurrency", in: 1...100_000)
        _ = try values.int("metrics_port", in: -1...65_535)
        _ = try values.double("worker_grace_seconds", in: 0...86_400)
        _ = try values.int("visibility_timeout_ms", in: 100...86_400_000)
        _ = try values.int("max_attempts", in: 1...1_000)
        _ = try values.int("retry_base_ms", in: 1...86_400_000)
        _ = try values.int("retry_max_ms", in: 1...86_400_000)
        _ = try values.int("database_pool_size", in: 1...1_000)
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("log level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "openclaw.workers")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let configuration = try workerConfiguration()
        var settings: FleetSettings
        do { settings = try FleetSettings(ConfigurationValues.process) } catch { throw ValidationError(error.message) }
        settings.redisURL = redisURL
        settings.policy.engineURL = opaURL
        let redis = RedisClient(configuration: try redisConfiguration(), logger: Logger(label: "openclaw.redis"))
        let queue = JobQueue(redis: redis, configuration: configuration.queue, logger: logger)
        let served: [RegisteredHandler]
        do {
            served = try Registry.handlers(for: configuration.kinds, settings: settings) { () throws(FleetError) in
                try SecretBox.load(ConfigurationValues.process)
            }
        } catch {
            throw ValidationError(error.message)
        }
        var services: [any Service] = [redis]
        var ports = HandlerServices(
            policy: UnconfiguredPort("--opa-url (or OC_OPA_URL) and --database-url"), audit: DiscardedAudit(),
            database: UnconfiguredPort("--database-url (or OC_DATABASE_URL)"),
            followUps: UnconfiguredPort("--database-url and --opa-url"), http: CurlTransport(), counters: RedisCounters(redis: redis),
            budget: RedisBudget(redis: redis))
        var recorder: (any LifecycleRecorder)?
        var engine: PolicyEngineClient?
        if noAudit {
            guard served.allSatisfy({ !$0.needsPolicy }) else {
                throw ValidationError("--no-audit is for benchmarks of kinds that act on nothing (noop); drop it for \(kinds)")
            }
        } else {
            guard let databaseURL = databaseURL ?? setting("database_url") else {
                throw ValidationError("set --database-url (or OC_DATABASE_URL) for the audit log, or pass --no-audit")
            }
            let database: PostgresClient
            let size = databasePoolSize ?? setting("database_pool_size").flatMap(Int.init) ?? max(4, concurrency / 4)
            guard (1...256).contains(size) else { throw ValidationError("--database-pool-size must be 1...256, not \(size)") }
            do {
                database = try PostgresClient(url: databaseURL, size: size, logger: Logger(label: "openclaw.postgres"))
            } catch {
                throw ValidationError("--database-url: \(error.message)")
            }
            services.append(database)
            let audit = AuditWriter(database: database, logger: logger)
            let tenants = TenantDirectory(database: database)
            recorder = AuditRecorder(writer: audit)
            ports.audit = audit
            ports.database = tenants
            if served.contains(where: \.needsPolicy) {
                // Kinds that act outside the fleet check each action at run time against an
                // engine this process keeps loaded, as the Dispatcher does its own.
                let client = PolicyEngineClient(
                    transport: PolicyEngineClient.transport(
                        engine: settings.policy.engineURL, library: settings.policy.library, timeout: settings.policy.timeout),
                    cacheSize: settings.policy.decisionCacheSize, cacheTTL: settings.policy.decisionCacheTTL, logger: logger)
                engine = client
                let sync = PolicySync(
                    store: PolicyStore(tenants: tenants, redis: redis), engine: client, policyDirectory: settings.policy.directory,
                    interval: settings.policy.syncInterval, logger: logger)
                let decider = PolicyDecider(engine: client, sync: sync)
                services.append(sync)
                ports.policy = decider
                let approvals = ApprovalStore(tenants: tenants, redis: redis, ttl: .seconds(72 * 3600))
                ports.followUps = AdmittedFollowUps(
                    admission: AdmissionService(decider: decider, audit: audit, queue: queue, approvals: approvals, logger: logger))
            }
        }
        let worker = try WorkerService(
            configuration: configuration, queue: queue, handlers: served, services: ports, recorder: recorder, logger: logger)
        if metricsPort >= 0 {
            services.append(
                MetricsEndpoint.application(registry: registry, worker: worker, host: metricsHost, port: metricsPort, logger: logger))
        }
        services.append(worker)
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        // The engine's HTTP client is closed once the services stopped, whichever way they did.
        do {
            try await group.run()
        } catch {
            await engine?.shutdown()
            throw error
        }
        await engine?.shutdown()
    }

    private func redisConfiguration() throws -> RedisConfiguration {
        do {
            return try RedisConfiguration(url: redisURL)
        } catch {
            throw ValidationError("--redis-url: \(error.message)")
        }
    }

    private func workerConfiguration() throws -> WorkerConfiguration {
        var parsedKinds: [JobKind] = []
        for name in kinds.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            do { parsedKinds.append(try JobKind(name)) } catch { throw ValidationError("--kinds: \(error.message)") }
        }
        guard !parsedKinds.isEmpty else { throw ValidationError("--kinds: name at least one job kind") }
        var parsedTenants: [TenantID]?
        if let tenants = tenants ?? setting("worker_tenants"), !tenants.isEmpty {
            parsedTenants = []
            for name in tenants.split(separator: ",") {
                do { parsedTenants!.append(try TenantID(String(name))) } catch { throw ValidationError("--tenants: \(error.message)") }
            }
        }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1") }
        var queue = QueueConfiguration()
        queue.visibilityTimeout = .milliseconds(max(100, visibilityTimeoutMs))
        queue.maxAttempts = maxAttempts
        queue.retryBackoff = RetryBackoff(base: .milliseconds(max(1, retryBaseMs)), maximum: .milliseconds(max(retryBaseMs, retryMaxMs)))
        return WorkerConfiguration(
            kinds: parsedKinds, concurrency: concurrency, tenants: parsedTenants, gracePeriod: .milliseconds(Int64(graceSeconds * 1000)),
            queue: queue)
    }
}

/// A setting as every executable reads it: `OC_<NAME>` in the environment, else `name` in the
/// YAML file `OC_CONFIG_FILE`.
func setting(_ key: String) -> String? { ConfigurationValues.process.string(key) }

/// Where handler audit entries go with `--no-audit` (benchmarks of `noop`, which audits nothing).
struct DiscardedAudit: AuditSink {
    func append(_ events: [AuditEvent]) async throws {}
}
