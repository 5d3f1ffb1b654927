import Connectors
import Contracts
import Foundation
import Hummingbird

/// `/v1/connectors`: the caller's connectors, connecting one (consent at the provider, then its
/// callback), disconnecting, and a sync on request.
struct ConnectorRoutes {
    let connectors: ConnectorService
    let verifier: OIDCVerifier
    let body: BodyLimits

    func add(to group: RouterGroup<GatewayContext>, table: RouteTable) {
        table.add(group, prefix: "v1", .get, "connectors", use: list)
        table.add(group, prefix: "v1", .post, "connectors/:type/authorize", use: authorize)
        table.add(group, prefix: "v1", .delete, "connectors/:type", use: disconnect)
        table.add(group, prefix: "v1", .post, "connectors/:type/sync", use: sync)
    }

    /// The callback is where the provider sends the user's browser back: it carries no bearer
    /// token (the single-use `state` names the tenant and the user); one that is sent must be
    /// that user's.
    func addCallback(to router: Router<GatewayContext>, table: RouteTable) {
        table.add(router, .get, "v1/connectors/:type/callback", use: callback)
    }

    struct List: Encodable { var connectors: [ConnectorSummary] }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        return try JSONResponse.make(.ok, List(connectors: try await connectors.list(identity)))
    }

    func authorize(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let connector = try connectors.connector(context.parameter("type"))
        let object = try await RequestBody.object(
            request, body, allowed: ["login_hint"], shape: "with an optional 'login_hint'", emptyAllowed: true)
        var hint: String?
        if let value = object["login_hint"] {
            guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 320 else {
                throw FleetError.invalidRequest("'login_hint' must be the account to connect (an address or login, at most 320 bytes)")
            }
            hint = text
        }
        return try JSONResponse.make(.ok, try await connectors.authorize(identity, connector, hint: hint))
    }

    func callback(_ request: Request, context: GatewayContext) async throws -> Response {
        let connector = try connectors.connector(context.parameter("type"))
        if let error = try Parameter.text(request, "error", maxBytes: 128) {
            let description = try Parameter.text(request, "error_description", maxBytes: 512).map { ": \($0)" } ?? ""
            throw FleetError.invalidRequest(
                "\(connector.rawValue) did not grant access (\(error)\(description)); start again with POST /v1/connectors/\(connector.rawValue)/authorize"
            )
        }
        guard let code = try Parameter.text(request, "code", maxBytes: 2048), !code.isEmpty,
            let state = try Parameter.text(request, "state", maxBytes: 256), !state.isEmpty
        else {
            throw FleetError.invalidRequest("the provider's redirect must carry 'code' and 'state'")
        }
        var caller: Identity?
        if let header = request.headers[.authorization] {
            guard header.lowercased().hasPrefix("bearer ") else {
                throw FleetError.unauthorized("send `Authorization: Bearer <token>` or no Authorization header")
            }
            caller = try await verifier.identity(String(header.dropFirst(7).drop { $0 == " " }))
        }
        let connected = try await connectors.complete(
            connector, code: code, state: state, caller: caller, requestID: RequestIDs.from(request))
        return try JSONResponse.make(.ok, connected)
    }

    struct Disconnected: Encodable {
        var connector: String
        var connected = false
    }

    func disconnect(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let connector = try connectors.connector(context.parameter("type"))
        try await connectors.disconnect(identity, connector, requestID: RequestIDs.from(request))
        return try JSONResponse.make(.ok, Disconnected(connector: connector.rawValue))
    }

    func sync(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let connector = try connectors.connector(context.parameter("type"))
        let object = try await RequestBody.object(request, body, allowed: ["full"], shape: "with an optional 'full'", emptyAllowed: true)
        var full = false
        if let value = object["full"] {
            guard case .bool(let flag) = value else { throw FleetError.invalidRequest("'full' must be true or false") }
            full = flag
        }
        let requestID = RequestIDs.from(request)
        let submission = try await connectors.sync(
            identity, connector, full: full, requestID: requestID,
            idempotencyKey: try RequestIDs.idempotencyKey(request, user: identity.user), trace: RequestIDs.trace(request))
        return try JobRoutes.response(submission, requestID: requestID)
    }
}
