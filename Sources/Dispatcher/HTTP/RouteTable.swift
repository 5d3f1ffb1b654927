import Hummingbird
import Synchronization

/// Registers routes and remembers them, so the OpenAPI test can compare the document with
/// what is actually served.
final class RouteTable: Sendable {
    struct Route: Sendable, Hashable {
        let method: String
        /// Full path in Hummingbird syntax (`/v1/jobs/:id`).
        let path: String
    }

    private let routes = Mutex<[Route]>([])

    var all: [Route] { routes.withLock { $0 } }

    func add(
        _ router: Router<GatewayContext>, _ method: HTTPRequest.Method, _ path: String,
        use handler: @escaping @Sendable (Request, GatewayContext) async throws -> Response
    ) {
        router.on(RouterPath(path), method: method, use: handler)
        routes.withLock { $0.append(Route(method: method.rawValue, path: "/" + path)) }
    }

    func add(
        _ group: RouterGroup<GatewayContext>, prefix: String, _ method: HTTPRequest.Method, _ path: String,
        use handler: @escaping @Sendable (Request, GatewayContext) async throws -> Response
    ) {
        group.on(RouterPath(path), method: method, use: handler)
        routes.withLock { $0.append(Route(method: method.rawValue, path: "/\(prefix)/\(path)")) }
    }
}
