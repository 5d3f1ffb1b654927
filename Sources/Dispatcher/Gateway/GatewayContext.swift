import Contracts
import Hummingbird

/// Who is calling: taken from the verified token only.
struct Identity: Sendable, Equatable {
    var tenant: TenantID
    var user: String
    var org: String
    var team: String
    var roles: Set<Role>

    var requester: Requester { Requester(user: user, org: org, team: team, roles: roles.map(\.rawValue).sorted()) }

    func has(_ role: Role) -> Bool { roles.contains(role) }
}

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
    func caller() throws -> Identity {
        guard let identity else { throw Problem.unauthorized("a bearer token is required") }
        return identity
    }
}
