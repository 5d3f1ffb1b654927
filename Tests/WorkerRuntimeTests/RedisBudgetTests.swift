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
        // Two worker processes sharing one budget of 100 requests per window. Windows are aligned
        // to the epoch: the test takes one of about an hour with at least ten minutes left, so
        // it does not cross into the next (budgets start afresh there).
        let processes = [RedisBudget(redis: redis), RedisBudget(redis: redis)]
        let now = Clock.milliseconds()
        let window = [3600, 5400, 7000, 8000].map { Duration.seconds($0) }.first { now % $0.milliseconds < $0.milliseconds - 600_000 }!
        var granted = 0
        var waits: [Duration] = []
        for index in 0..<300 {
            if let wait = try await processes[index % 2].take(tenant, "gmail", limit: 100, per: window) {
                waits.append(wait)
            } else {
                granted += 1
            }
        }
        // At most the limit; at most a block (a twentieth of it) per process left unspent.
        #expect(granted <= 100 && granted >= 90, "granted \(granted)")
        #expect(waits.count == 300 - granted)
        #expect(waits.allSatisfy { $0 > .zero && $0 <= window })
        // Another tenant's budget is its own.
        #expect(try await processes[0].take(TestEnvironment.tenant("budget"), "gmail", limit: 100, per: window) == nil)
        redis.close()
    }
}
