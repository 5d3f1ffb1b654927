import Foundation
import RedisClient

/// A redis-server of a test's own (for tests that restart or monitor Redis), on a free port,
/// with AOF on like production.
public final class PrivateRedis: @unchecked Sendable {
    // @unchecked Sendable: `process` is only touched by the test that owns this instance.
    public let port: Int
    public let directory: URL
    private var process: ChildProcess?

    public init() throws {
        port = Int.random(in: 20_000...40_000)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("oc-redis-\(port)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try start()
    }

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    public func configuration(poolSize: Int = 2) -> RedisConfiguration {
        var configuration = try! RedisConfiguration(url: url)
        configuration.poolSize = poolSize
        configuration.commandTimeout = .seconds(2)
        return configuration
    }

    /// Starts the server and waits until it answers.
    public func start() throws {
        process = try ChildProcess(
            executable: "redis-server",
            arguments: [
                "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path, "--appendonly", "yes",
                "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction",
            ])
        for _ in 0..<100 {
            if ping() { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw RedisError(.connection, operation: "start", message: "private redis-server on \(port) did not start")
    }

    /// Stops the server with SIGTERM (Redis flushes the AOF first, as in a clean restart).
    public func stop() {
        guard let process else { return }
        process.signal(SIGTERM)
        if process.waitForExitBlocking(timeout: 10) == nil {
            process.signal(SIGKILL)
            _ = process.waitForExitBlocking(timeout: 5)
        }
        self.process = nil
    }

    /// Stops and starts the server again on the same port and data.
    public func restart() throws {
        stop()
        try start()
    }

    public func ping() -> Bool { runCLI(["ping"]).contains("PONG") }

    @discardableResult
    public func runCLI(_ arguments: [String]) -> String {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cli.arguments = ["redis-cli", "-p", String(port)] + arguments
        let pipe = Pipe()
        cli.standardOutput = pipe
        cli.standardError = FileHandle.nullDevice
        do { try cli.run() } catch { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        cli.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
