import AuditLog
import Contracts
import Foundation
import PostgresClient
import RedisClient
import TestSupport
import Testing

@testable import Admission

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

    /// One batch spanning tenants, one of them without a schema: the transaction fails as a
    /// whole, each tenant's approvals are then stored on their own, and only the tenant without a
    /// schema is refused.
    @Test func aBatchAcrossTenantsWithOneFailingStoresTheOthers() async throws {
        try await TestDatabase.migrated()
        let admin = try TestDatabase.admin()
        let app = try TestDatabase.app()
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        defer {
            admin.close()
            app.close()
        }
        let (a, b, missing) = (TestEnvironment.tenant("batch"), TestEnvironment.tenant("batch"), TestEnvironment.tenant("batch"))
        try await TenantDirectory(database: admin).create(a)
        try await TenantDirectory(database: admin).create(b)
        let tenants = TenantDirectory(database: app)
        let batch = [a, missing, b, a].enumerated().map { index, tenant in
            ApprovalStore.Parked(
                tenant: tenant, id: "ap-\(index)", expires: 4_000_000_000_000,
                values: [
                    "ap-\(index)", #"{"kind":"noop"}"#, "noop", "jira.comment", "u\(index)", "eng", "core", "enterprise", "approve",
                    "2096-10-02 07:06:40+00",
                ])
        }
        let results = await ApprovalStore.store(batch, tenants: tenants, redis: redis)
        #expect(results.map { if case .success = $0 { true } else { false } } == [true, false, true, true])
        if case .failure(let error) = results[1] { #expect((error as? FleetError)?.code == .tenantNotProvisioned) }
        for (tenant, ids) in [(a, ["ap-0", "ap-3"]), (b, ["ap-2"])] {
            let rows = try await tenants.session(tenant) { try await $0.query("SELECT id FROM approvals ORDER BY id") }
            #expect(rows.map { $0.string("id") } == ids)
        }
        let indexed = try await redis.send(RedisCommand("ZRANGE", [RedisKeys.approvalExpiry, "0", "-1"])).array?.compactMap(\.string)
        #expect(Set(indexed ?? []) == ["\(a.rawValue)/ap-0", "\(b.rawValue)/ap-2", "\(a.rawValue)/ap-3"])
    }
}
