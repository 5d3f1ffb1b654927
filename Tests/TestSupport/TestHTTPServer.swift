import Hummingbird
import ServiceLifecycle

/// Serves `router` on an ephemeral port of 127.0.0.1 until the returned task is cancelled;
/// returns the server's base URL (`http://127.0.0.1:<port>`) once it listens.
public func startTestServer(_ router: Router<BasicRequestContext>) async throws -> (url: String, task: Task<Void, any Error>) {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: TestEnvironment.logger)
    let task = Task { try await ServiceGroup(services: [app], logger: TestEnvironment.logger).run() }
    var port = 0
    for await value in ports {
        port = value
        break
    }
    return ("http://127.0.0.1:\(port)", task)
}
