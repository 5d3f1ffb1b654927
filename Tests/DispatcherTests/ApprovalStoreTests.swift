import Admission
import AuditLog
import Contracts
import Foundation
import PostgresClient
import RedisClient
import TestSupport
import Testing

/// Approvals parked at once are stored together (one transaction, one `ZADD`), and one tenant's
/// failure stays its own.
@Suite struct ApprovalStoreTests {
    @Test func approvalsParkedTogetherAreStoredPerTenantAndAFailureIsOnlyItsTenants() async throws {
        try await TestDatabase.migrated()
        let admin = try TestDatabase.admin()
        let app = try TestDatabase.app(size: 4)
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        defer {
            admin.close()
            app.close()
        }
        let (a, b, missing) = (TestEnvironment.tenant("park"), TestEnvironment.tenant("park"), TestEnvironment.tenant("park"))
        try await TenantDirectory(database: admin).create(a)
        try await TenantDirectory(database: admin).create(b)
        let tenants = TenantDirectory(database: app)
        let store = ApprovalStore(tenants: tenants, redis: redis, ttl: .seconds(3600))
        let job = try JobDescription(json: Array(#"{"kind":"noop","action":"jira.comment","classification":"internal"}"#.utf8))
        let decision = PolicyDecision(decision: .requireApproval, policyApplied: "enterprise", reason: "writes wait for approval")
        let owners = (0..<40).map { [a, b, missing, a][$0 % 4] }
        let outcomes = await withTaskGroup(of: (Int, Result<String, any Error>).self) { group in
            for (index, tenant) in owners.enumerated() {
                group.addTask {
                    let identity = Identity(tenant: tenant, user: "u\(index)", org: "eng", team: "core")
                    do {
                        return (
                            index,
                            .success(
                                try await store.park(
                                    job, identity: identity, decision: decision, requestID: "req-\(index)", idempotencyKey: nil))
                        )
                    } catch { return (index, .failure(error)) }
                }
            }
            return await group.reduce(into: [Int: Result<String, any Error>]()) { $0[$1.0] = $1.1 }
        }
        for (index, tenant) in owners.enumerated() {
            switch outcomes[index] {
            case .success(let id):
                #expect(tenant != missing)
                let row = try await tenants.session(tenant) {
                    try await $0.query("SELECT requester_user, status, job->>'request_id' AS request FROM approvals WHERE id = $1", [id])
                }.first
                #expect(row?.string("requester_user") == "u\(index)" && row?.string("status") == "pending")
                #expect(row?.string("request") == "req-\(index)")
                #expect(!(try await redis.send(RedisCommand("ZSCORE", [RedisKeys.approvalExpiry, "\(tenant.rawValue)/\(id)"])).isNull))
            case .failure(let error):
                #expect(tenant == missing)
                #expect((error as? FleetError)?.code == .tenantNotProvisioned)
            case nil:
                Issue.record("no outcome for \(index)")
            }
        }
        for tenant in [a, b] {
            let count = try await tenants.session(tenant) { try await $0.query("SELECT count(*) AS n FROM approvals") }.first?.int("n")
            #expect(count == owners.filter { $0 == tenant }.count)
        }
        let indexed = try await redis.send(RedisCommand("ZRANGE", [RedisKeys.approvalExpiry, "0", "-1"])).array ?? []
        #expect(indexed.count == owners.filter { $0 != missing }.count)
        #expect(!indexed.contains { $0.string?.hasPrefix(missing.rawValue + "/") == true })
    }
}
