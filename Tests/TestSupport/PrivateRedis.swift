import Foundation
import RedisClient

/// A redis-server of a test's own (for tests that restart or monitor Redis), on a free port,
/// with AOF on like production.
public final class PrivateRedis: @unchecked Sendable {
    // @unchecked Sendable: `process` is only touched by the test that owns this instance.
    public private(set) var port: Int
    public let directory: URL
    private var process: ChildProcess?

    public init() async throws {
        port = Self.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("oc-redis-\(port)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try await start()
    }

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    public func configuration(poolSize: Int = 2) -> RedisConfiguration {
        var configuration = try! RedisConfiguration(url: url)
        configuration.poolSize = poolSize
        configuration.commandTimeout = .seconds(2)
        return configuration
    }

    /// A port nothing listens on right now (the kernel's pick for an ephemeral bind).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : Int.random(in: 20_000...40_000)
    }

    /// Starts the server and waits until it answers (trying another port if this one is taken
    /// on the first start).
    public func start() async throws {
        try await offPool { try self.startBlocking() }
    }

    private func startBlocking() throws {
        for attempt in 0..<3 {
            if try launch() { return }
            guard attempt < 2, !hasStartedBefore else { break }
            port = Self.freePort()
        }
        throw RedisError(.connection, operation: "start", message: "private redis-server on \(port) did not start")
    }

    private var hasStartedBefore = false

    private func launch() throws -> Bool {
        process = try ChildProcess(
            executable: "redis-server",
            arguments: [
                "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path, "--appendonly", "yes",
                "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction",
            ])
        for _ in 0..<300 {
            if ping() {
                hasStartedBefore = true
                return true
            }
            if process?.poll() != nil { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        stopBlocking()
        return false
    }

    /// Stops the server with SIGTERM (Redis flushes the AOF first, as in a clean restart).
    public func stop() async {
        _ = try? await offPool { self.stopBlocking() }
    }

    private func stopBlocking() {
        guard let process else { return }
        process.signal(SIGTERM)
        if process.waitForExitBlocking(timeout: 10) == nil {
            process.signal(SIGKILL)
            _ = process.waitForExitBlocking(timeout: 5)
        }
        self.process = nil
    }

    /// Stops and starts the server again on the same port and data.
    public func restart() async throws {
        await stop()
        try await start()
    }

    /// Runs `redis-cli` against the server; returns what it printed.
    @discardableResult
    public func runCLI(_ arguments: [String]) async -> String {
        (try? await offPool { self.runCLIBlocking(arguments) }) ?? ""
    }

    private func ping() -> Bool { runCLIBlocking(["ping"]).contains("PONG") }

    private func runCLIBlocking(_ arguments: [String]) -> String {
        capturedOutput(of: ["redis-cli", "-p", String(port)] + arguments) ?? ""
    }

    deinit {
        stopBlocking()
        try? FileManager.default.removeItem(at: directory)
    }
}
