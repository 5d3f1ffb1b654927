import FleetConcurrency

/// Runs blocking work (a socket read, waiting for a child to exit, a redis-cli round) on a
/// thread of its own, so a test never parks one of the cooperative pool's few threads (two on
/// a two-core machine): a parked pool starves every server the test process hosts.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingExecutor.shared.lane().run(body)
}
