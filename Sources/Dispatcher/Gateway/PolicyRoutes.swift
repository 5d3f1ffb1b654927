import Contracts
import Foundation
import Hummingbird
import PolicyClient

/// `/v1/policies`: read and change the tenant's policy documents (versioned, with a reason;
/// a change that widens a parent scope is refused; every change is audited).
struct PolicyRoutes {
    let gateway: Gateway

    func add(to group: RouterGroup<GatewayContext>) {
        gateway.routes.add(group, prefix: "v1", .get, "policies", use: list)
        gateway.routes.add(group, prefix: "v1", .put, "policies/:scope/:scopeID/:domain", use: save)
    }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let documents = try await withTenantSchema(gateway, identity.tenant) { try await gateway.policies.current(identity.tenant) }
        let visible = documents.filter { document in
            identity.has(.enterpriseAdmin) || document.scope == .enterprise
                || (document.scope == .org && document.scopeID == identity.org)
                || (document.scope == .team
                    && (document.scopeID == PolicyStore.teamScopeID(identity)
                        || (identity.has(.orgAdmin) && document.scopeID.hasPrefix(identity.org + ":"))))
                || (document.scope == .user && document.scopeID == identity.user)
        }
        return try json(
            .ok,
            [
                "revision": gateway.policySync.revision(of: identity.tenant),
                "policies": visible.map { document -> [String: Any] in
                    [
                        "scope": document.scope.rawValue, "scope_id": document.scopeID, "domain": document.domain.rawValue,
                        "version": document.version, "author": document.author, "change_reason": document.changeReason,
                        "created_at": document.createdAt,
                        "content": (try? JSONSerialization.jsonObject(with: document.content.canonicalData)) ?? [:],
                    ]
                },
            ])
    }

    func save(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        guard let scope = context.parameters.get("scope").flatMap(PolicyScope.init(rawValue:)) else {
            throw Problem.badRequest("scope must be one of \(PolicyScope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let domain = context.parameters.get("domain").flatMap(PolicyDomain.init(rawValue:)) else {
            throw Problem.badRequest("domain must be one of \(PolicyDomain.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let scopeID = context.parameters.get("scopeID") ?? ""
        guard scope != .enterprise || scopeID == "*" else { throw Problem.badRequest("the enterprise scope id is '*'") }
        guard !scopeID.isEmpty, scopeID.utf8.count <= 128 else { throw Problem.badRequest("scope id must be 1-128 characters") }
        let body = try await request.body.collect(upTo: gateway.configuration.maxBodyBytes)
        guard let object = JSONValue.parse(body.readableBytesView)?.objectValue else {
            throw Problem.badRequest("the body must be a JSON object {content, change_reason}", slug: "malformed-json")
        }
        let unknown = Set(object.keys).subtracting(["content", "change_reason"])
        guard unknown.isEmpty else {
            throw Problem.badRequest(
                "unknown field(s) \(unknown.sorted().joined(separator: ", ")); allowed: content, change_reason", slug: "unknown-field")
        }
        guard let content = object["content"] else { throw Problem.badRequest("'content' is required") }
        let requestID = RequestIDs.from(request)
        let changeReason = object["change_reason"]?.stringValue ?? ""
        let saved = try await withTenantSchema(gateway, identity.tenant) {
            try await gateway.policies.save(
                by: identity, scope: scope, scopeID: scopeID, domain: domain, content: content, changeReason: changeReason
            ) { version in
                try await gateway.record(
                    AuditEvent(
                        tenant: identity.tenant,
                        eventKey: "policy:\(scope.rawValue):\(scopeID):\(domain.rawValue):\(version):\(JobID.make())",
                        userID: identity.user,
                        actionType: AuditEvent.ActionType.policyChange,
                        actionDetail: String(
                            decoding: JSONValue.object([
                                "scope": .string(scope.rawValue), "scope_id": .string(scopeID), "domain": .string(domain.rawValue),
                                "version": .integer(Int64(version)), "content": content,
                            ]).canonicalData, as: UTF8.self),
                        policyApplied: "\(scope.rawValue):\(scopeID)/\(domain.rawValue)", policyReason: changeReason,
                        outcome: .success, requestID: requestID))
            }
        }
        // Effective here at once; other Dispatchers pick the revision up within seconds.
        try? await gateway.policySync.push(identity.tenant, revision: saved.revision)
        return try json(.ok, ["version": saved.version, "revision": saved.revision])
    }
}
