import Admission
import AuditLog
import Contracts
import Foundation
import Policy

/// Reads and changes a tenant's policy documents: every change versioned with a reason,
/// checked against its parents, audited in the transaction that stores it, and loaded into
/// this Dispatcher's engine at once (the others follow within a sync interval).
struct PolicyService: Sendable {
    let store: PolicyStore
    let sync: PolicySync
    let admission: AdmissionService

    /// The documents `identity` may read, and the tenant's revision loaded here.
    func list(_ identity: Identity) async throws -> (revision: Int64, documents: [PolicyStore.Stored]) {
        let documents = try await store.current(identity.tenant).filter { PolicyStore.mayRead(identity, $0) }
        return (sync.revision(of: identity.tenant), documents)
    }

    func save(
        _ identity: Identity, scope: PolicyScope, scopeID: String, domain: PolicyDomain, content: JSONValue, changeReason: String,
        requestID: String
    ) async throws -> (version: Int, revision: Int64) {
        guard scope != .enterprise || scopeID == "*" else { throw FleetError.invalidRequest("the enterprise scope id is '*'") }
        guard !scopeID.isEmpty, scopeID.utf8.count <= 128 else { throw FleetError.invalidRequest("scope id must be 1-128 characters") }
        let saved = try await store.save(
            by: identity, scope: scope, scopeID: scopeID, domain: domain, content: content, changeReason: changeReason
        ) { version in
            try await admission.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "policy:\(scope.rawValue):\(scopeID):\(domain.rawValue):\(version):\(JobID.make())",
                    userID: identity.user, actionType: AuditEvent.ActionType.policyChange,
                    actionDetail: String(
                        decoding: JSONValue.object([
                            "scope": .string(scope.rawValue), "scope_id": .string(scopeID), "domain": .string(domain.rawValue),
                            "version": .integer(Int64(version)), "content": content,
                        ]).canonicalData, as: UTF8.self),
                    policyApplied: "\(scope.rawValue):\(scopeID)/\(domain.rawValue)", policyReason: changeReason, outcome: .success,
                    requestID: requestID))
        }
        // Effective here at once; other Dispatchers pick the revision up within seconds.
        try? await sync.push(identity.tenant, revision: saved.revision)
        return saved
    }
}
