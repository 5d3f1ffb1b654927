import Contracts
import JobQueue
import RedisClient
import Synchronization
import TestSupport
import Testing

@testable import WorkerRuntime

/// Collects lifecycle events and can be told to fail, to check what the runtime records and
/// in which order relative to Redis.
final class CollectingRecorder: LifecycleRecorder {
    let events = Mutex<[JobLifecycleEvent]>([])
    let failing = Atomic<Bool>(false)
    let queue: JobQueue

    init(queue: JobQueue) { self.queue = queue }

    func record(_ batch: [JobLifecycleEvent]) async throws {
        struct Down: Error {}
        if failing.load(ordering: .relaxed) { throw Down() }
        // At the time a success is recorded, the job must not be acknowledged yet.
        for event in batch where event.name == .succeeded {
            let state = try await queue.status(tenant: event.job.tenant, id: event.job.id)?.state
            #expect(state == .running)
        }
        events.withLock { $0 += batch }
    }
}

struct FlakyHandler: JobHandler {
    let kind = JobKind.noop
    func handle(_ job: JobEnvelope, context: JobContext) async throws {
        if context.attempt == 1 { throw JobFailure(.retry, "first attempt fails") }
    }
}

@Suite struct WorkerServiceTests {
    @Test func lifecycleEventsAreRecordedBeforeAcknowledgement() async throws {
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        var queueConfiguration = QueueConfiguration()
        queueConfiguration.retryBackoff = RetryBackoff(base: .milliseconds(20), maximum: .milliseconds(50))
        let queue = JobQueue(redis: redis, configuration: queueConfiguration, logger: TestEnvironment.logger)
        let tenant = TestEnvironment.tenant()
        let recorder = CollectingRecorder(queue: queue)
        let worker = try WorkerService(
            configuration: WorkerConfiguration(kinds: [.noop], concurrency: 4, tenants: [tenant], queue: queueConfiguration),
            queue: queue, handlers: [FlakyHandler()], recorder: recorder, logger: TestEnvironment.logger)
        let running = Task { try await worker.run() }
        let job = JobEnvelope(tenant: tenant, kind: .noop, action: "noop.run", requester: Requester(user: "u"))
        _ = try await queue.enqueue(job)
        let done = await eventually { (try? await queue.status(tenant: tenant, id: job.id)?.state) == .succeeded }
        #expect(done)
        running.cancel()
        _ = try? await running.value
        let names = recorder.events.withLock { $0.map(\.name) }
        #expect(names == [.started, .failed, .retried, .started, .succeeded])
        let keys = recorder.events.withLock { $0.map(\.eventKey) }
        #expect(Set(keys).count == keys.count)
    }

    @Test func auditOutageKeepsJobsFromStarting() async throws {
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        var queueConfiguration = QueueConfiguration()
        queueConfiguration.retryBackoff = RetryBackoff(base: .milliseconds(20), maximum: .milliseconds(50))
        let queue = JobQueue(redis: redis, configuration: queueConfiguration, logger: TestEnvironment.logger)
        let tenant = TestEnvironment.tenant()
        let recorder = CollectingRecorder(queue: queue)
        recorder.failing.store(true, ordering: .relaxed)
        final class CountingHandler: JobHandler {
            let kind = JobKind.noop
            let runs = Atomic<Int>(0)
            func handle(_ job: JobEnvelope, context: JobContext) async throws { runs.add(1, ordering: .relaxed) }
        }
        let handler = CountingHandler()
        let worker = try WorkerService(
            configuration: WorkerConfiguration(kinds: [.noop], concurrency: 2, tenants: [tenant], queue: queueConfiguration),
            queue: queue, handlers: [handler], recorder: recorder, logger: TestEnvironment.logger)
        let running = Task { try await worker.run() }
        let job = JobEnvelope(tenant: tenant, kind: .noop, action: "noop.run", requester: Requester(user: "u"))
        _ = try await queue.enqueue(job)
        let retrying = await eventually { (try? await queue.status(tenant: tenant, id: job.id)?.state) == .retrying }
        #expect(retrying)
        #expect(handler.runs.load(ordering: .relaxed) == 0)
        recorder.failing.store(false, ordering: .relaxed)
        let done = await eventually { (try? await queue.status(tenant: tenant, id: job.id)?.state) == .succeeded }
        #expect(done)
        running.cancel()
        _ = try? await running.value
    }

    @Test func unknownKindIsAClearConfigurationError() throws {
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        let queue = JobQueue(redis: redis, logger: TestEnvironment.logger)
        #expect {
            _ = try WorkerService(
                configuration: WorkerConfiguration(kinds: [.briefing]), queue: queue, handlers: [FlakyHandler()],
                logger: TestEnvironment.logger)
        } throws: { error in
            (error as? FleetError)?.message.contains("no handler for job kind 'briefing'") == true
        }
    }
}
