import Contracts
import Foundation
import Hummingbird
import Policy

/// `/v1/policies`: read and change the tenant's policy documents.
struct PolicyRoutes {
    let policies: PolicyService
    let body: BodyLimits

    func add(to group: RouterGroup<GatewayContext>, table: RouteTable) {
        table.add(group, prefix: "v1", .get, "policies", use: list)
        table.add(group, prefix: "v1", .put, "policies/:scope/:scopeID/:domain", use: save)
    }

    struct Document: Encodable {
        var scope: String
        var scopeID: String
        var domain: String
        var version: Int
        var author: String
        var changeReason: String
        var createdAt: String
        var content: JSONValue

        enum CodingKeys: String, CodingKey {
            case scope, domain, version, author, content
            case scopeID = "scope_id"
            case changeReason = "change_reason"
            case createdAt = "created_at"
        }
    }

    struct List: Encodable {
        var revision: Int64
        var policies: [Document]
    }

    struct Saved: Encodable {
        var version: Int
        var revision: Int64
    }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let (revision, documents) = try await policies.list(try context.caller())
        return try JSONResponse.make(
            .ok,
            List(
                revision: revision,
                policies: documents.map {
                    Document(
                        scope: $0.scope.rawValue, scopeID: $0.scopeID, domain: $0.domain.rawValue, version: $0.version, author: $0.author,
                        changeReason: $0.changeReason, createdAt: $0.createdAt, content: $0.content)
                }))
    }

    func save(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        guard let scope = PolicyScope(rawValue: context.parameter("scope")) else {
            throw FleetError.invalidRequest("scope must be one of \(PolicyScope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let domain = PolicyDomain(rawValue: context.parameter("domain")) else {
            throw FleetError.invalidRequest("domain must be one of \(PolicyDomain.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let object = try await RequestBody.object(
            request, body, allowed: ["content", "change_reason"], shape: "{content, change_reason}")
        guard let content = object["content"] else { throw FleetError.invalidRequest("'content' is required") }
        let scopeID = context.parameter("scopeID")
        guard !scopeID.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) else {
            throw FleetError.invalidRequest("scope id must not contain control characters")
        }
        let reason = object["change_reason"]?.stringValue ?? ""
        guard reason.utf8.count <= 2000 else { throw FleetError.invalidRequest("'change_reason' must be at most 2000 bytes") }
        let saved = try await policies.save(
            identity, scope: scope, scopeID: scopeID, domain: domain, content: content, changeReason: reason,
            requestID: RequestIDs.from(request))
        return try JSONResponse.make(.ok, Saved(version: saved.version, revision: saved.revision))
    }
}
