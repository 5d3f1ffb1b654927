import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@testable import Dispatcher

@Suite struct RateLimiterTests {
    /// Checks arriving together are counted in one script call per window; the totals must be
    /// those of counting them one by one: 8 pass the tenant's limit, and of those no user gets
    /// more than 5 through.
    @Test func concurrentChecksAreCountedAsIfOneByOne() async throws {
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        defer { redis.close() }
        let limiter = RateLimiter(redis: redis, tenantPerSecond: 8, userPerSecond: 5, logger: TestEnvironment.logger)
        for _ in 0..<30 {  // a loaded machine may need several tries to fit one window
            let tenant = TestEnvironment.tenant()
            // Start early in a second so that every check falls in one window.
            while Clock.milliseconds() % 1000 > 200 { try await Task.sleep(for: .milliseconds(5)) }
            let second = Clock.milliseconds() / 1000
            let outcomes = await withTaskGroup(of: (user: String, outcome: String).self) { group in
                for index in 0..<20 {
                    let user = index % 2 == 0 ? "alice" : "bob"
                    group.addTask {
                        do {
                            try await limiter.check(Identity(tenant: tenant, user: user, org: "o", team: "t", roles: [.user]))
                            return (user, "allowed")
                        } catch let error as FleetError {
                            return (user, error.code == .rateLimited && error.message.hasPrefix("tenant") ? "tenant" : "user")
                        } catch {
                            return (user, "error: \(error)")
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            guard Clock.milliseconds() / 1000 == second else { continue }  // crossed into the next window; again
            let allowed = outcomes.filter { $0.outcome == "allowed" }
            #expect(outcomes.filter { $0.outcome == "tenant" }.count == 12, "\(outcomes)")
            #expect(allowed.count + outcomes.filter { $0.outcome == "user" }.count == 8, "\(outcomes)")
            #expect(allowed.filter { $0.user == "alice" }.count <= 5 && allowed.filter { $0.user == "bob" }.count <= 5)
            #expect(allowed.count >= 5)
            return
        }
        Issue.record("no run fitted in one one-second window")
    }

    /// A tenant's second is one hash (the tenant's count and each user's) that lives two
    /// seconds; a user's requests beyond its limit are refused as the user's.
    @Test func aWindowIsOneHashPerTenantAndSecond() async throws {
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        defer { redis.close() }
        let limiter = RateLimiter(redis: redis, tenantPerSecond: 100, userPerSecond: 2, logger: TestEnvironment.logger)
        for _ in 0..<30 {
            let tenant = TestEnvironment.tenant()
            while Clock.milliseconds() % 1000 > 200 { try await Task.sleep(for: .milliseconds(5)) }
            let second = Clock.milliseconds() / 1000
            var refused: [String] = []
            for user in ["alice", "alice", "bob", "alice"] {
                do {
                    try await limiter.check(Identity(tenant: tenant, user: user, org: "o", team: "t", roles: [.user]))
                } catch {
                    refused.append("\(user) \(error.code.rawValue) \(error.message)")
                }
            }
            // The window is read before the check that it is still current: it lives two seconds.
            let window = RedisKeys.rateLimit(tenant: tenant, second: second)
            let fields: [String] = try await redis.send("HGETALL", window).array?.compactMap(\.string) ?? []
            let ttl = try await redis.send("TTL", window).int ?? -1
            guard Clock.milliseconds() / 1000 == second else { continue }
            #expect(refused.count == 1 && refused[0].hasPrefix("alice rate-limited user alice"), "\(refused)")
            var counts: [String: String] = [:]
            for index in stride(from: 0, to: fields.count - 1, by: 2) { counts[fields[index]] = fields[index + 1] }
            #expect(counts == ["t": "4", "u:alice": "3", "u:bob": "1"])
            #expect((1...2).contains(ttl), "TTL \(ttl)")
            return
        }
        Issue.record("no run fitted in one one-second window")
    }

    @Test func redisDownAnswers503AndDoesNothing() async throws {
        let fixture = try await GatewayFixture.make()
        let redis = try await PrivateRedis()
        let (app, gateway) = try fixture.application { $0.fleet.redisURL = redis.url }
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            #expect(try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status == 202)
            await redis.stop()
            let down = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
            #expect(down.status == 503)
            #expect(down.json["type"] as? String == "https://openclaw.dev/problems/queue-unavailable")
            #expect(down.headers[.retryAfter] == "5")
            // Refused before the policy decision: only the first request's decision is audited.
            let audited = try await gateway.auditStore.query(
                tenant: fixture.tenant, filter: .init(actionType: AuditEvent.ActionType.policyDecision))
            #expect(audited.records.count == 1)
            // Reads need only PostgreSQL: the audit log stays readable.
            let boss = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
            let read = try await boss.call(client, .get, "/v1/audit")
            #expect(read.status == 200, "\(read.json)")
        }
    }
}
