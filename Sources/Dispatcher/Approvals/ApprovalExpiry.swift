import Admission
import AuditLog
import Contracts
import Foundation
import PostgresClient

/// Expires approvals whose time is up, each in its own transaction with its audit entry (if the
/// audit cannot be written it stays pending and is tried again).
struct ApprovalExpiry: Sendable {
    let store: ApprovalStore
    let admission: AdmissionService
    let index: TenantIndex

    init(store: ApprovalStore, admission: AdmissionService, index: TenantIndex) {
        self.store = store
        self.admission = admission
        self.index = index
    }

    /// Puts every pending approval of `tenants` (none given: every tenant) back in the expiry
    /// index where it is missing.
    func reindex(tenants: [TenantID] = []) async throws {
        try await index.restore(RedisKeys.approvalExpiry, tenants: tenants, from: ApprovalStore.pendingIndexQuery)
    }

    /// Expires the approvals past their time; one that fails is tried again a little later.
    func sweepOnce() async throws {
        try await index.sweep(RedisKeys.approvalExpiry, retryDelay: GatewayDuties.retryDelay) { tenant, id, _ in
            try await index.tenants.session(tenant) { connection in try await markExpired(connection, tenant: tenant, id: id) }
            return .done
        }
    }

    /// Marks a pending approval expired and audits it, in the caller's transaction.
    func markExpired(_ connection: PostgresConnection, tenant: TenantID, id: String) async throws {
        guard let expired = try await store.markExpired(connection, id: id) else { return }
        try await admission.record(
            AuditEvent(
                tenant: tenant, eventKey: "approval:\(id):expired", userID: expired.requester, actionType: "approval.expired",
                actionDetail: JSONText.object(["approval_id": id, "action": expired.action]), policyResult: "expired", outcome: .denied,
                requestID: id))
    }
}
