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
    /// Successes refused this many more times (a completion that fails).
    let successFailures = Atomic<Int>(0)
    let queue: JobQueue

    init(queue: JobQueue) { self.queue = queue }

    func record(_ batch: [JobLifecycleEvent]) async throws {
        struct Down: Error {}
        if failing.load(ordering: .relaxed) { throw Down() }
        if batch.contains(where: { $0.name == .succeeded }), successFailures.wrappingSubtract(1, ordering: .relaxed).oldValue > 0 {
            throw Down()
        }
        // At the time a success is recorded, the job must not be acknowledged yet.
        for event in batch where event.name == .succeeded {
            let state = try await queue.status(tenant: event.job.tenant, id: event.job.id)?.state
            #expect(state == .running)
        }
        events.withLock { $0 += batch }
    }
}

struct FlakyHandler: KindHandler {
    typealias Contract = NoopKind
    func handle(_ payload: NoopKind.Payload, context: HandlerContext) async throws {
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
            queue: queue, handlers: [RegisteredHandler(FlakyHandler())], services: HandlerFakes().services, recorder: recorder,
            logger: TestEnvironment.logger)
        let running = Task { try await worker.run() }
        let job = JobEnvelope(tenant: tenant, kind: .noop, action: .noopRun, requester: Requester(user: "u"))
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
        final class CountingHandler: KindHandler {
            typealias Contract = NoopKind
            let runs = Atomic<Int>(0)
            func handle(_ payload: NoopKind.Payload, context: HandlerContext) async throws { runs.add(1, ordering: .relaxed) }
        }
        let handler = CountingHandler()
        let worker = try WorkerService(
            configuration: WorkerConfiguration(kinds: [.noop], concurrency: 2, tenants: [tenant], queue: queueConfiguration),
            queue: queue, handlers: [RegisteredHandler(handler)], services: HandlerFakes().services, recorder: recorder,
            logger: TestEnvironment.logger)
        let running = Task { try await worker.run() }
        let job = JobEnvelope(tenant: tenant, kind: .noop, action: .noopRun, requester: Requester(user: "u"))
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
                configuration: WorkerConfiguration(kinds: [.briefing]), queue: queue, handlers: [RegisteredHandler(FlakyHandler())],
                services: HandlerFakes().services, logger: TestEnvironment.logger)
        } throws: { error in
            (error as? FleetError)?.message.contains("no handler for job kind 'briefing'") == true
        }
    }

    /// A payload that does not fit its kind is dead-lettered before any handler runs, with its
    /// failure audited, and the worker carries on with the next job.
    @Test func undecodablePayloadIsDeadLetteredBeforeTheHandlerRuns() async throws {
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        let queue = JobQueue(redis: redis, logger: TestEnvironment.logger)
        let tenant = TestEnvironment.tenant()
        let recorder = CollectingRecorder(queue: queue)
        final class CountingHandler: KindHandler {
            typealias Contract = NoopKind
            let runs = Atomic<Int>(0)
            func handle(_ payload: NoopKind.Payload, context: HandlerContext) async throws { runs.add(1, ordering: .relaxed) }
        }
        let handler = CountingHandler()
        let worker = try WorkerService(
            configuration: WorkerConfiguration(kinds: [.noop], concurrency: 2, tenants: [tenant]), queue: queue,
            handlers: [RegisteredHandler(handler)], services: HandlerFakes().services, recorder: recorder, logger: TestEnvironment.logger)
        let running = Task { try await worker.run() }
        let bad = JobEnvelope(
            tenant: tenant, kind: .noop, action: .noopRun, payload: Array(#"{"sleep_ms":"soon"}"#.utf8), requester: Requester(user: "u"))
        let good = JobEnvelope(tenant: tenant, kind: .noop, action: .noopRun, requester: Requester(user: "u"))
        _ = try await queue.enqueue([bad, good])
        let settled = await eventually {
            let bad = try? await queue.status(tenant: tenant, id: bad.id)?.state
            let good = try? await queue.status(tenant: tenant, id: good.id)?.state
            return bad == .dead && good == .succeeded
        }
        #expect(settled)
        running.cancel()
        _ = try? await running.value
        #expect(handler.runs.load(ordering: .relaxed) == 1)
        let badEvents = recorder.events.withLock { $0.filter { $0.job.id == bad.id }.map(\.name) }
        #expect(badEvents == [.failed, .deadLettered])
        let letters = try await queue.deadLetters(tenant: tenant, kind: .noop)
        #expect(letters.first?.error.contains("sleep_ms") == true)
    }

    /// A completion that fails (its success cannot be recorded for a moment) is retried at
    /// once, not left for the visibility timeout.
    @Test func aFailedCompletionIsRetriedRatherThanLeftToTheReclaim() async throws {
        let redis = RedisClient(configuration: TestEnvironment.isolatedRedis(), logger: TestEnvironment.logger)
        let queueConfiguration = QueueConfiguration()  // a 30 s visibility timeout
        let queue = JobQueue(redis: redis, configuration: queueConfiguration, logger: TestEnvironment.logger)
        let tenant = TestEnvironment.tenant()
        let recorder = CollectingRecorder(queue: queue)
        recorder.successFailures.store(2, ordering: .relaxed)
        let worker = try WorkerService(
            configuration: WorkerConfiguration(kinds: [.noop], concurrency: 2, tenants: [tenant], queue: queueConfiguration),
            queue: queue, handlers: [RegisteredHandler(FlakyHandler())], services: HandlerFakes().services, recorder: recorder,
            logger: TestEnvironment.logger)
        let running = Task { try await worker.run() }
        let job = JobEnvelope(tenant: tenant, kind: .noop, action: .noopRun, requester: Requester(user: "u"), attempt: 2)
        _ = try await queue.enqueue(job)
        let done = await eventually { (try? await queue.status(tenant: tenant, id: job.id)?.state) == .succeeded }
        #expect(done)
        running.cancel()
        _ = try? await running.value
        #expect(recorder.events.withLock { $0.filter { $0.name == .succeeded }.count } == 1)
    }
}
