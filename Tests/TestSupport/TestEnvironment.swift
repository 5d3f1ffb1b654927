import Contracts
import Foundation
import Logging
import RedisClient
import Synchronization

/// Where the test services run. `scripts/test` starts them and sets these variables.
public enum TestEnvironment {
    /// The shared test Redis (`OC_TEST_REDIS_URL`, default the test instance's port).
    public static var redisURL: String {
        ProcessInfo.processInfo.environment["OC_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6391"
    }

    /// The shared test PostgreSQL (`OC_TEST_DATABASE_URL`).
    public static var databaseURL: String {
        ProcessInfo.processInfo.environment["OC_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5491/openclaw"
    }

    /// The shared test policy engine (`OC_TEST_OPA_URL`).
    public static var opaURL: String { ProcessInfo.processInfo.environment["OC_TEST_OPA_URL"] ?? "http://127.0.0.1:8291" }

    /// The OPA engine's C library, for the engine in process (`OC_TEST_OPA_LIBRARY`).
    public static var opaLibrary: String {
        ProcessInfo.processInfo.environment["OC_TEST_OPA_LIBRARY"] ?? "var/opa/lib/opa_bindings/libopabridge.so"
    }

    /// Where the built executables are (`OC_BIN_DIR`, default `.build/debug`).
    public static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["OC_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
    }

    private static let nextDatabase = Atomic<Int>(0)

    /// A Redis configuration on a database of its own (1...255), so tests that use the global
    /// keys (ready sets, indexes) do not see each other's tenants.
    public static func isolatedRedis(poolSize: Int = 2) -> RedisConfiguration {
        var configuration = try! RedisConfiguration(url: redisURL)
        let slot = nextDatabase.add(1, ordering: .relaxed).newValue
        precondition(slot < 256, "more than 255 isolated Redis databases requested; raise --databases in scripts/services")
        configuration.database = slot
        configuration.poolSize = poolSize
        // Start empty: an earlier run may have left tenants in this database's global keys.
        let flush = try? ChildProcess(
            executable: "redis-cli", arguments: ["-h", configuration.host, "-p", String(configuration.port), "-n", String(slot), "FLUSHDB"])
        _ = flush?.waitForExitBlocking(timeout: 10)
        return configuration
    }

    /// A fresh tenant id for one test.
    public static func tenant(_ prefix: String = "t") -> TenantID {
        try! TenantID("\(prefix)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))")
    }

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. The default
/// is long: it costs nothing when the condition comes true, and a machine starved by the rest
/// of the suite may take many times its usual time.
public func eventually(
    timeout: Duration = .seconds(120), every interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
