import AuditLog
import Connectors
import Contracts
import Foundation
import JobQueue
import Policy
import RedisClient
import TestSupport
import Testing

@testable import FakeProviders

/// The connector-sync kind in real `Workers` processes: the policy from the tenant's documents in
/// a real engine, the job from Redis, the audit to PostgreSQL.
@Suite struct ConnectorSyncProcessTests {
    @Test func aWorkerKilledMidSyncIsFollowedByOneThatResumesWithNoItemTwice() async throws {
        try await withConnectorFixture({ $0.gmailMessages = 1_200 }) { fixture in
            try await fixture.connect(.gmail)
            var configuration = TestEnvironment.isolatedRedis()
            configuration.commandTimeout = .seconds(2)
            let redisURL = "redis://\(configuration.host):\(configuration.port)/\(configuration.database)"
            let redis = RedisClient(configuration: configuration, logger: TestEnvironment.logger)
            let queue = JobQueue(redis: redis, logger: TestEnvironment.logger)
            let boss = Identity(tenant: fixture.tenant, user: "boss", org: "", team: "", roles: [.enterpriseAdmin])
            _ = try await PolicyStore(tenants: fixture.directory, redis: redis).save(
                by: boss, scope: .enterprise, scopeID: "*", domain: .actions,
                content: .object([
                    "default": .object(["autonomy": .string("block")]), "gmail.read": .object(["autonomy": .string("autonomous")]),
                ]),
                changeReason: "test setup")
            // Every message read takes a while, so the kill surely lands mid-pass (the rest of the
            // pass takes about ten seconds, time enough for a starved test to see the first page).
            try await fixture.control(
                "POST", "/control/faults",
                [
                    "service": .string("gmail"), "path_prefix": .string("/gmail/v1/users/me/messages/"), "count": .int(100_000),
                    "delay_ms": .int(60),
                ])
            func spawn() throws -> ChildProcess {
                try ChildProcess(
                    executable: TestEnvironment.binDirectory.appendingPathComponent("Workers").path,
                    arguments: [
                        "--redis-url", redisURL, "--kinds", "connector-sync", "--tenants", fixture.tenant.rawValue, "--metrics-port=-1",
                        "--database-url", TestDatabase.appURL, "--opa-url", TestEnvironment.opaURL, "--visibility-timeout-ms", "1000",
                        "--log-level", "warning",
                    ],
                    // Many tests share one policy engine and two cores: a slow decision is not a failure here.
                    environment: fixture.environment.merging(["OC_OPA_TIMEOUT_MS": "20000"]) { $1 })
            }
            let job = fixture.job(.gmail)
            _ = try await queue.enqueue(job)
            let doomed = try spawn()
            // The first page (500 messages) is stored with its cursor; the second is under way.
            let midway = await eventually(timeout: .seconds(180)) { (try? await fixture.items(.gmail).count) ?? 0 >= 500 }
            #expect(midway, "\(doomed.output)")
            doomed.signal(SIGKILL)
            #expect(await doomed.waitForExit() == 128 + SIGKILL)
            let before = try await fixture.items(.gmail).count
            try await fixture.control("DELETE", "/control/faults")

            let survivor = try spawn()
            defer {
                survivor.signal(SIGTERM)
                _ = survivor.waitForExitBlocking(timeout: 20)
            }
            let finished = await eventually(timeout: .seconds(180)) {
                (try? await queue.status(tenant: fixture.tenant, id: job.id))?.state == .succeeded
            }
            #expect(finished, "\(survivor.output)")
            let items = try await fixture.items(.gmail)
            // 1,200 messages, a few of them in spam or trash (not listed).
            #expect(items.count > 1_000 && items.count <= 1_200)
            #expect(before < items.count, "the sync ended before the kill; nothing was tested")
            #expect(Set(items).count == items.count)
            // The resumed run read from the stored cursor: the first page's messages were not read again.
            let status = try await queue.status(tenant: fixture.tenant, id: job.id)
            let result = status?.result.flatMap { JSONValue.parse(Array($0.utf8)) }
            if case .object(let fields) = result {
                #expect(fields["full"] == .bool(true))
                #expect((fields["upserted"]?.integerValue ?? 0) <= Int64(items.count - before) + 500, "\(fields)")
            } else {
                Issue.record("no result: \(String(describing: status))")
            }
            // Every message read is in the trail once, although two workers read the interrupted page.
            let audited = try await AuditStore(database: try TestDatabase.app()).query(
                tenant: fixture.tenant, filter: .init(actionType: "data_access"), limit: 100
            ).records
            #expect(!audited.isEmpty)
            #expect(Set(audited.map(\.event.eventKey)).count == audited.count)
            let total = audited.compactMap { record -> Int64? in
                guard case .object(let detail) = JSONValue.parse(Array(record.event.actionDetail.utf8)) else { return nil }
                return detail["items_read"]?.integerValue
            }.reduce(0, +)
            #expect(total == items.count, "\(audited.map(\.event.actionDetail))")
            redis.close()
        }
    }
}
