import Logging
import ServiceLifecycle
import Synchronization

/// A pool of pipelined Redis connections, safe to share across tasks.
///
/// Commands are spread round-robin over the pool; each connection pipelines whatever its callers
/// queue meanwhile. Blocking commands (`XREAD BLOCK`, `BLPOP`) take a dedicated connection so
/// they never hold up anyone else's replies.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let connections: [RedisConnection]
    private let next = Atomic<Int>(0)
    private let logger: Logger

    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "redis")) {
        self.configuration = configuration
        self.logger = logger
        self.connections = (0..<max(1, configuration.poolSize)).map { _ in
            RedisConnection(configuration: configuration, logger: logger)
        }
    }

    /// Sends `commands` as one pipeline on one connection and returns their replies in order.
    ///
    /// Error replies come back as `.error` values, except that a script missing from Redis'
    /// cache (after a restart) is loaded and its commands re-run.
    public func send(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        try await send(commands, whenWritten: nil)
    }

    /// Sends `commands` as one pipeline; `whenWritten` is called once they are written to the
    /// socket (Redis receives them from then on, even if this process dies), before the replies
    /// are read. Not called when the connection fails before the write.
    public func send(_ commands: [RedisCommand], whenWritten: (@Sendable () -> Void)?) async throws -> [RedisValue] {
        let index = next.add(1, ordering: .relaxed).newValue
        let connection = connections[index % connections.count]
        var replies = try await connection.send(commands, whenWritten: whenWritten)
        let missing = commands.indices.filter {
            commands[$0].script != nil && (replies[$0].errorMessage?.hasPrefix("NOSCRIPT") ?? false)
        }
        if !missing.isEmpty {
            var sources: [String: String] = [:]
            for index in missing { if let script = commands[index].script { sources[script.sha1] = script.source } }
            let loads = sources.values.map { RedisCommand("SCRIPT", ["LOAD", $0]) }
            for reply in try await connection.send(loads) { try reply.orThrow("SCRIPT LOAD") }
            let retried = try await connection.send(missing.map { commands[$0] })
            for (offset, index) in missing.enumerated() { replies[index] = retried[offset] }
        }
        return replies
    }

    /// Sends one command and returns its reply, throwing on an error reply.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        try await send([command])[0].orThrow(command.name)
    }

    /// Sends one command given as text arguments, throwing on an error reply.
    @discardableResult
    public func send(_ name: String, _ arguments: String...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments))
    }

    /// A connection of its own for blocking commands; close it when done.
    /// - Parameter timeout: the reply timeout, longer than the longest block it will issue.
    public func dedicatedConnection(timeout: Duration) -> RedisConnection {
        RedisConnection(configuration: configuration, timeout: timeout, logger: logger)
    }

    /// Closes every pooled connection (queued commands still run).
    public func close() {
        for connection in connections { connection.close() }
    }
}

extension RedisClient: Service {
    /// Keeps the client until graceful shutdown, then closes it: started first in a service
    /// group, it closes last, after everything that uses it stopped.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }
}
