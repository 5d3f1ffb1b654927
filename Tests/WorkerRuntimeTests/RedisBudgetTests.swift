import Contracts
import RedisClient
import TestSupport
import Testing
import WorkerRuntime

/// The fleet's request budgets in Redis: processes take requests in blocks and together never
/// go over the limit.
@Suite struct RedisBudgetTests {
    @Test func processesTogetherStayUnderTheLimitAndAreToldWhenTheWindowEnds() async throws {
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        let tenant = TestEnvironment.tenant("budget")
        // Two worker processes sharing one budget of 100 requests an hour (a window the test does not cross).
        let processes = [RedisBudget(redis: redis), RedisBudget(redis: redis)]
        var granted = 0
        var waits: [Duration] = []
        for index in 0..<300 {
            if let wait = try await processes[index % 2].take(tenant, "gmail", limit: 100, per: .seconds(3600)) {
                waits.append(wait)
            } else {
                granted += 1
            }
        }
        // At most the limit; at most a block (a twentieth of it) per process left unspent.
        #expect(granted <= 100 && granted >= 90, "granted \(granted)")
        #expect(waits.count == 300 - granted)
        #expect(waits.allSatisfy { $0 > .zero && $0 <= .seconds(3600) })
        // Another tenant's budget is its own.
        #expect(try await processes[0].take(TestEnvironment.tenant("budget"), "gmail", limit: 100, per: .seconds(3600)) == nil)
        redis.close()
    }
}
