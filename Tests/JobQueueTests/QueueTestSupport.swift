import Contracts
import RedisClient
import TestSupport

@testable import JobQueue

/// A queue on a Redis database of its own, plus helpers to make jobs.
struct QueueFixture {
    let redis: RedisClient
    let queue: JobQueue
    let tenant: TenantID

    init(configure: (inout QueueConfiguration) -> Void = { _ in }) {
        var configuration = QueueConfiguration()
        configuration.visibilityTimeout = .milliseconds(500)
        configure(&configuration)
        redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        queue = JobQueue(redis: redis, configuration: configuration, logger: TestEnvironment.logger)
        tenant = TestEnvironment.tenant()
    }

    func job(
        tenant: TenantID? = nil, payload: String = "{}", idempotencyKey: String? = nil, runAt: Int64? = nil
    ) -> JobEnvelope {
        JobEnvelope(
            tenant: tenant ?? self.tenant, kind: .noop, action: .noopRun, payload: Array(payload.utf8),
            requester: Requester(user: "u1", org: "eng", team: "core", roles: [.user]), idempotencyKey: idempotencyKey,
            runAt: runAt)
    }

    func consumer(tenants: [TenantID]? = nil, name: String = JobConsumer.uniqueName()) -> JobConsumer {
        JobConsumer(queue: queue, kind: .noop, name: name, tenants: tenants)
    }

    /// Reads until `count` jobs arrived or `timeout` passed.
    func drain(_ consumer: JobConsumer, count: Int, timeout: Duration = .seconds(10)) async throws -> [DeliveredJob] {
        var jobs: [DeliveredJob] = []
        let deadline = ContinuousClock.now + timeout
        while jobs.count < count && ContinuousClock.now < deadline {
            let batch = try await consumer.fetch(limit: count - jobs.count)
            if batch.isEmpty { try await consumer.waitForWork(timeout: .milliseconds(100)) }
            jobs += batch
        }
        return jobs
    }

    func state(_ id: String, tenant: TenantID? = nil) async throws -> JobState? {
        try await queue.status(tenant: tenant ?? self.tenant, id: id)?.state
    }
}
