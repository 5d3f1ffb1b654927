import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// Runs the fakes in this process: every listener of `ServiceKind` on its own port.
///
/// ```swift
/// let (urls, handle) = try await FakeProvidersServer.start(configuration)
/// defer { Task { await handle.stop() } }
/// ```
public enum FakeProvidersServer {
    /// Why the fakes could not start.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Generates the data, binds every listener and returns once all of them accept connections.
    public static func start(
        _ configuration: FakeProvidersConfiguration, logger: Logger? = nil
    ) async throws -> (
        urls: FakeProviderURLs, handle: FakeProvidersHandle
    ) {
        var logger = logger ?? Logger(label: "fake-providers")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? logger.logLevel
        let started = ContinuousClock.now
        let world = FakeWorld(configuration: configuration)
        logger.info(
            "generated data",
            metadata: [
                "users": "\(world.directory.users.count)",
                "seconds": "\((ContinuousClock.now - started).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 2))))",
            ])
        let (bound, continuation) = AsyncStream.makeStream(of: (ServiceKind, Int).self)
        var applications: [any Service] = []
        for kind in ServiceKind.allCases {
            let port = configuration.port == 0 ? 0 : configuration.port + kind.portOffset
            let responder = ServiceResponder(kind: kind, service: world.service(kind), faults: world.faults, log: world.requestLog)
            var serverLogger = logger
            serverLogger[metadataKey: "service"] = .string(kind.rawValue)
            let application = Application(
                responder: responder,
                configuration: .init(
                    address: .hostname(configuration.host, port: port), serverName: nil, backlog: 1024, reuseAddress: true),
                onServerRunning: { channel in continuation.yield((kind, channel.localAddress?.port ?? 0)) },
                logger: serverLogger)
            applications.append(application)
        }
        let group = ServiceGroup(
            configuration: .init(services: applications.map { .init(service: $0) }, gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var ports: [ServiceKind: Int] = [:]
        for await (kind, port) in bound {
            ports[kind] = port
            if ports.count == ServiceKind.allCases.count { break }
        }
        guard ports.count == ServiceKind.allCases.count, ports.values.allSatisfy({ $0 > 0 }) else {
            task.cancel()
            let failure = await task.result
            var reason = "the listeners did not start"
            if case .failure(let error) = failure { reason += ": \(error)" }
            throw StartError(description: reason)
        }
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        var urls: [ServiceKind: String] = [:]
        for (kind, port) in ports {
            urls[kind] = "http://\(host):\(port)"
            world.baseURLs.set(kind, "http://\(host):\(port)")
        }
        let result = FakeProviderURLs(urls: urls, configuration: configuration, cloudId: world.cloudId)
        world.urls.withLock { $0 = result }
        return (result, FakeProvidersHandle(world: world, group: group, task: task))
    }
}

/// A running set of fakes: stop it, or reach its state directly from a test.
public final class FakeProvidersHandle: Sendable {
    let world: FakeWorld
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(world: FakeWorld, group: ServiceGroup, task: Task<Void, any Error>) {
        self.world = world
        self.group = group
        self.task = task
    }

    /// Stops every listener and waits until they closed.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// Returns when the listeners stopped (after `stop()` or a failure).
    public func wait() async throws { try await task.value }

    /// Moves the fakes' clock.
    public func advanceClock(seconds: Double) { world.clock.advance(seconds: seconds) }
}
