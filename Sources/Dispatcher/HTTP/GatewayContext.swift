import Contracts
import Foundation
import Hummingbird

/// Per-request data carried through the router.
struct GatewayContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by `AuthMiddleware` on `/v1` routes.
    var identity: Identity?

    init(source: Source) {
        coreContext = .init(source: source)
        identity = nil
    }

    /// The caller, or 401 when the route was reached without authentication.
    func caller() throws(FleetError) -> Identity {
        guard let identity else { throw .unauthorized("a bearer token is required") }
        return identity
    }

    /// A path parameter (empty when absent).
    func parameter(_ name: String) -> String { parameters.get(name) ?? "" }
}
