import Contracts
import JobQueue
import RedisClient
import Synchronization
import TestSupport
import Testing

@testable import WorkerRuntime

@Suite struct SlotsAndGroupCommitTests {
    @Test func slotsBoundConcurrency() async {
        let slots = Slots(3)
        final class Peak: Sendable { let state = Mutex((now: 0, max: 0)) }
        let peak = Peak()
        await withDiscardingTaskGroup { group in
            for _ in 0..<30 {
                group.addTask {
                    await slots.acquire()
                    peak.state.withLock {
                        $0.now += 1
                        $0.max = max($0.max, $0.now)
                    }
                    try? await Task.sleep(for: .milliseconds(5))
                    peak.state.withLock { $0.now -= 1 }
                    slots.release()
                }
            }
        }
        #expect(peak.state.withLock { $0.max } == 3)
        #expect(slots.available == 3)
    }

    @Test func groupCommitBatchesConcurrentSubmissions() async throws {
        final class Batches: Sendable { let all = Mutex<[[Int]]>([]) }
        let batches = Batches()
        let commit = GroupCommit<Int> { items in
            try await Task.sleep(for: .milliseconds(10))
            batches.all.withLock { $0.append(items) }
        }
        try await withThrowingDiscardingTaskGroup { group in
            for index in 0..<200 { group.addTask { try await commit.submit(index) } }
        }
        let all = batches.all.withLock { $0 }
        #expect(all.flatMap { $0 }.sorted() == Array(0..<200))
        #expect(all.count < 50)
    }

    @Test func groupCommitReportsFailuresToEveryWaiter() async {
        struct Broken: Error {}
        let commit = GroupCommit<Int> { _ in throw Broken() }
        await #expect(throws: Broken.self) { try await commit.submit(1) }
    }
}

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
