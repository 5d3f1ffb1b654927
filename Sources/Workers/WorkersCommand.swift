import ArgumentParser
import AuditLog
import Contracts
import Foundation
import JobQueue
import Logging
import Metrics
import PostgresClient
import Prometheus
import RedisClient
import ServiceLifecycle
import WorkerRuntime

/// Every handler this executable has.
let allHandlers: [any JobHandler] = [NoopHandler()]

@main
struct WorkersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Workers",
        abstract: "Runs OpenClaw job workers: consumes job streams from Redis and runs their handlers.",
        discussion: "Every option can also be set through the environment variable named in its help.")

    @Option(help: "Job kinds to consume, comma-separated (env OC_WORKER_KINDS). Default: every kind this build handles.")
    var kinds: String = env("OC_WORKER_KINDS") ?? allHandlers.map(\.kind.rawValue).joined(separator: ",")

    @Option(help: "Jobs run at once by this process (env OC_WORKER_CONCURRENCY).")
    var concurrency: Int = env("OC_WORKER_CONCURRENCY").flatMap(Int.init) ?? 32

    @Option(help: "Serve only these tenants, comma-separated (env OC_WORKER_TENANTS). Default: all.")
    var tenants: String? = env("OC_WORKER_TENANTS")

    @Option(help: "Redis URL redis://[user:password@]host:port/db (env OC_REDIS_URL).")
    var redisURL: String = env("OC_REDIS_URL") ?? "redis://127.0.0.1:6379/0"

    @Option(help: "PostgreSQL URL for the audit log, as the application role (env OC_DATABASE_URL).")
    var databaseURL: String? = env("OC_DATABASE_URL")

    @Flag(help: "Run without writing job lifecycle events to the audit log (benchmarks only).")
    var noAudit = false

    @Option(help: "Address for /metrics and /healthz (env OC_METRICS_HOST).")
    var metricsHost: String = env("OC_METRICS_HOST") ?? "127.0.0.1"

    @Option(help: "Port for /metrics and /healthz; 0 picks a free one, -1 disables (env OC_METRICS_PORT).")
    var metricsPort: Int = env("OC_METRICS_PORT").flatMap(Int.init) ?? 9101

    @Option(help: "Seconds running jobs get to finish after SIGTERM (env OC_WORKER_GRACE_SECONDS).")
    var graceSeconds: Double = env("OC_WORKER_GRACE_SECONDS").flatMap(Double.init) ?? 30

    @Option(help: "Milliseconds a delivered job may sit idle before another worker reclaims it (env OC_VISIBILITY_TIMEOUT_MS).")
    var visibilityTimeoutMs: Int = env("OC_VISIBILITY_TIMEOUT_MS").flatMap(Int.init) ?? 30_000

    @Option(help: "Attempts before a job is dead-lettered (env OC_MAX_ATTEMPTS).")
    var maxAttempts: Int = env("OC_MAX_ATTEMPTS").flatMap(Int.init) ?? 5

    @Option(help: "First retry delay in milliseconds; doubles per attempt, with jitter (env OC_RETRY_BASE_MS).")
    var retryBaseMs: Int = env("OC_RETRY_BASE_MS").flatMap(Int.init) ?? 1000

    @Option(help: "Longest retry delay in milliseconds (env OC_RETRY_MAX_MS).")
    var retryMaxMs: Int = env("OC_RETRY_MAX_MS").flatMap(Int.init) ?? 300_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env OC_LOG_LEVEL).")
    var logLevel: String = env("OC_LOG_LEVEL") ?? "info"

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
        let redis = RedisClient(configuration: try redisConfiguration(), logger: Logger(label: "openclaw.redis"))
        let queue = JobQueue(redis: redis, configuration: configuration.queue, logger: logger)
        var recorder: (any LifecycleRecorder)?
        var database: PostgresClient?
        if !noAudit {
            guard let databaseURL else {
                throw ValidationError("set --database-url (or OC_DATABASE_URL) for the audit log, or pass --no-audit")
            }
            do {
                database = try PostgresClient(url: databaseURL, size: 2, logger: Logger(label: "openclaw.postgres"))
            } catch {
                throw ValidationError("--database-url: \(error.message)")
            }
            recorder = AuditRecorder(writer: AuditWriter(database: database!, logger: logger))
        }
        let worker = try WorkerService(
            configuration: configuration, queue: queue, handlers: allHandlers, recorder: recorder, logger: logger)
        var services: [any Service] = []
        if metricsPort >= 0 {
            services.append(
                MetricsEndpoint.application(registry: registry, worker: worker, host: metricsHost, port: metricsPort, logger: logger))
        }
        services.append(worker)
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        redis.close()
        database?.close()
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
        if let tenants, !tenants.isEmpty {
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

func env(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}

extension Error {
    /// The user-facing message of a fleet or Redis error.
    var message: String {
        switch self {
        case let error as FleetError: error.message
        case let error as RedisError: error.message
        case let error as PostgresError: error.description
        default: "\(self)"
        }
    }
}
