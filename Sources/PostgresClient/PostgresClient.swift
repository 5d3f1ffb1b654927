import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A pool of PostgreSQL connections. Each connection serves one task at a time
/// (`withConnection`), so a transaction never interleaves with another task's statements.
public final class PostgresClient: Sendable {
    public let url: String
    private let connections: [PostgresConnection]
    private let state: Mutex<PoolState>

    private struct PoolState {
        var free: [Int]
        var waiters: [CheckedContinuation<Int, Never>] = []
    }

    /// - Parameters:
    ///   - url: `postgres://user[:password]@host:port/database[?options]` (libpq URI syntax).
    ///   - size: connections in the pool.
    public init(url: String, size: Int = 4, logger: Logger = Logger(label: "postgres")) throws(PostgresError) {
        guard let components = URLComponents(string: url), components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw PostgresError(
                .configuration, operation: "parse url",
                message:
                    "'\(PostgresConnection.redacted(url))' is not a postgres:// URL; expected postgres://user:password@host:port/database")
        }
        self.url = url
        let count = max(1, size)
        connections = (0..<count).map { _ in PostgresConnection(url: url, logger: logger) }
        state = Mutex(PoolState(free: Array(0..<count)))
    }

    /// Leases a connection for `body` (waiting for one if all are busy).
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let index = await lease()
        defer { release(index) }
        return try await body(connections[index])
    }

    /// Runs one statement on any connection.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRows {
        try await withConnection { try await $0.query(sql, parameters) }
    }

    /// Runs a statement that is always the same text on any connection, prepared once per
    /// connection: PostgreSQL parses and plans it only the first time.
    @discardableResult
    public func query(prepared sql: StaticString, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRows {
        try await withConnection { try await $0.query(prepared: sql, parameters) }
    }

    /// Runs one statement on any connection, returning the rows as one buffer.
    public func queryRaw(_ sql: String, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRawRows {
        try await withConnection { try await $0.queryRaw(sql, parameters) }
    }

    /// Runs `body` in a transaction on one connection.
    public func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { try await $0.transaction(body) }
    }

    /// Runs `body` in a transaction with transaction-local settings made with its `BEGIN`.
    public func transaction<T: Sendable>(
        settings: [(name: String, value: String)], _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { try await $0.transaction(settings: settings, body) }
    }

    /// Runs one statement as a transaction of its own with transaction-local `settings`, in one
    /// round trip (see `PostgresConnection.query(_:_:settings:)`).
    @discardableResult
    public func query(
        _ sql: String, _ parameters: [any PostgresBindable], settings: [(name: String, value: String)]
    ) async throws -> PostgresRows {
        try await withConnection { try await $0.query(sql, parameters, settings: settings) }
    }

    /// Runs `steps` as one transaction in one round trip (see
    /// `PostgresConnection.transactionInOneTrip`).
    @discardableResult
    public func transactionInOneTrip(_ steps: [PostgresStep]) async throws -> [PostgresRows] {
        try await withConnection { try await $0.transactionInOneTrip(steps) }
    }

    /// Closes every connection.
    public func close() {
        for connection in connections { connection.close() }
    }

    private func lease() async -> Int {
        await withCheckedContinuation { continuation in
            let index = state.withLock { state -> Int? in
                if let index = state.free.popLast() { return index }
                state.waiters.append(continuation)
                return nil
            }
            if let index { continuation.resume(returning: index) }
        }
    }

    private func release(_ index: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Int, Never>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.free.append(index)
            return nil
        }
        waiter?.resume(returning: index)
    }
}

extension PostgresClient: Service {
    /// Keeps the pool until graceful shutdown, then closes it: started first in a service group,
    /// it closes last, after everything that uses it stopped.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }
}
