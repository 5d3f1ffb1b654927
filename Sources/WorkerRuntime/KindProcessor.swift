import Contracts
import FleetConcurrency
import JobQueue
import Logging
import Metrics
import RedisClient
import Synchronization

/// Consumes one kind: reads fairly, runs handlers within the process's slots, records lifecycle
/// events, then acknowledges; retries, dead-letters, recovers stalled jobs and moves due ones.
final class KindProcessor: Sendable {
    let consumer: JobConsumer
    let handler: RegisteredHandler
    let services: HandlerServices
    let slots: Slots
    let recorder: (any LifecycleRecorder)?
    let configuration: WorkerConfiguration
    let metrics: WorkerMetrics
    let logger: Logger
    let stop: StopSignal
    private let running = Mutex<[String: (job: DeliveredJob, since: ContinuousClock.Instant)]>([:])
    /// Tenants whose streams the sweep found holding stalled jobs, for the reader to claim.
    private let stalled = Mutex<Set<TenantID>>([])
    private let completions: GroupCommit<Finished, Void>

    /// A job whose handler succeeded, with what it produced.
    struct Finished: Sendable {
        let job: DeliveredJob
        let result: String?
    }
    /// When the reader last completed a round without a Redis error (for `/healthz`).
    let lastHealthyRound = Mutex<ContinuousClock.Instant>(.now)

    /// A job ready to run: its delivery and its handler with the payload decoded.
    typealias Prepared = (job: DeliveredJob, run: @Sendable (HandlerContext) async throws -> Void)

    init(
        consumer: JobConsumer, handler: RegisteredHandler, services: HandlerServices, slots: Slots, recorder: (any LifecycleRecorder)?,
        configuration: WorkerConfiguration, stop: StopSignal, logger: Logger
    ) {
        self.consumer = consumer
        self.handler = handler
        self.services = services
        self.slots = slots
        self.recorder = recorder
        self.configuration = configuration
        self.stop = stop
        self.logger = logger
        self.metrics = WorkerMetrics(kind: consumer.kind)
        self.completions = .sink(
            onError: { [logger] jobs, error in
                // Left to the reclaim: each runs again after the visibility timeout (handlers are
                // idempotent per job), and its events are written once.
                logger.error(
                    "could not record finished jobs; they will run again after the visibility timeout",
                    metadata: ["job.kind": "\(consumer.kind)", "jobs": "\(jobs.count)", "error": "\(error)"])
            }
        ) { [consumer, recorder, logger] jobs in
            // A completion that fails is tried again a few times before it is left to the reclaim.
            var delay = Duration.milliseconds(100)
            for attempt in 1...4 {
                do {
                    if let recorder {
                        try await recorder.record(
                            jobs.compactMap { finished in
                                finished.job.envelope.map { JobLifecycleEvent(name: .succeeded, job: $0, attempt: finished.job.attempt) }
                            })
                    }
                    _ = try await consumer.complete(jobs.map(\.job), results: jobs.map(\.result))
                    return
                } catch  where attempt < 4 {
                    logger.warning(
                        "recording finished jobs failed; retrying",
                        metadata: ["job.kind": "\(consumer.kind)", "attempt": "\(attempt)", "error": "\(error)"])
                    try? await Task.sleep(for: delay)
                    delay *= 4
                }
            }
        }
    }

    var kind: JobKind { consumer.kind }

    // MARK: - Reading and dispatch

    /// Reads and dispatches until the stop signal; then waits for its jobs to finish.
    func runReader() async {
        let reclaimEvery = max(Duration.milliseconds(500), configuration.queue.visibilityTimeout / 4)
        // Stalled jobs are looked for off the reading path: a sweep over thousands of tenants'
        // streams takes many round trips, and the jobs waiting to be read must not wait for it.
        // The reader claims them (in the streams found) when it next reads, and runs them at once.
        let sweeper = Task { await self.sweepStalled(every: reclaimEvery) }
        defer { sweeper.cancel() }
        var failures = 0
        await withDiscardingTaskGroup { group in
            while !stop.isSet && !Task.isCancelled {
                await slots.acquire()
                if stop.isSet {
                    slots.release()
                    break
                }
                do {
                    let limit = 1 + slots.available
                    var jobs: [DeliveredJob] = []
                    let found = stalled.withLock { tenants in
                        defer { tenants = [] }
                        return Array(tenants)
                    }
                    if !found.isEmpty {
                        let claimed = try await consumer.reclaim(limit: limit, among: found)
                        jobs = claimed.jobs
                        if !claimed.unvisited.isEmpty { stalled.withLock { $0.formUnion(claimed.unvisited) } }
                    }
                    if jobs.isEmpty { jobs = try await consumer.fetch(limit: limit) }
                    failures = 0
                    lastHealthyRound.withLock { $0 = .now }
                    if jobs.isEmpty {
                        slots.release()
                        try await consumer.waitForWork()
                        continue
                    }
                    let runnable = try await prepare(jobs)
                    if runnable.isEmpty {
                        slots.release()
                        continue
                    }
                    for (index, prepared) in runnable.enumerated() {
                        if index > 0 { await slots.acquire() }
                        group.addTask {
                            await self.run(prepared)
                            self.slots.release()
                        }
                    }
                } catch {
                    slots.release()
                    failures += 1
                    logger.error(
                        "reading jobs failed; retrying", metadata: ["job.kind": "\(kind)", "error": "\(error)", "failures": "\(failures)"])
                    await stop.pause(.milliseconds(min(2000, 50 << min(failures, 6))))
                }
            }
        }
        // Succeeded jobs are acknowledged in group commits; finish those before returning.
        await completions.idle()
    }

    /// Looks for jobs other consumers left stalled, every `interval`, and tells the reader in
    /// which streams. One consumer of the kind across the fleet does it per interval.
    private func sweepStalled(every interval: Duration) async {
        while !stop.isSet && !Task.isCancelled {
            do {
                if try await consumer.takeTurn(.stalledSweep, every: interval) {
                    let found = try await consumer.stalledTenants(pause: JobConsumer.walkPause)
                    if !found.isEmpty { stalled.withLock { $0.formUnion(found) } }
                }
            } catch {
                logger.warning("reclaiming stalled jobs failed; retrying", metadata: ["job.kind": "\(kind)", "error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Dead-letters what cannot run (undecodable, a payload that does not fit its kind, out of
    /// attempts) and marks the rest started.
    private func prepare(_ jobs: [DeliveredJob]) async throws -> [Prepared] {
        var candidates: [Prepared] = []
        for job in jobs {
            if let error = job.decodeError {
                logger.error(
                    "undecodable job dead-lettered",
                    metadata: ["job.entry": "\(job.entryID)", "tenant": "\(job.tenant)", "error": "\(error.message)"])
                try await consumer.settle(job, error: "undecodable entry: \(error.message)", outcome: .deadLetter)
                metrics.deadLettered.increment()
            } else if job.attempt > configuration.queue.maxAttempts {
                let message =
                    "delivered \(job.deliveries) times without finishing (its worker died each time); attempt \(job.attempt) of \(configuration.queue.maxAttempts)"
                try await recordEvents([
                    JobLifecycleEvent(name: .failed, job: job.envelope!, attempt: job.attempt, error: message),
                    JobLifecycleEvent(name: .deadLettered, job: job.envelope!, attempt: job.attempt, error: message),
                ])
                try await consumer.settle(job, error: message, outcome: .deadLetter)
                metrics.deadLettered.increment()
            } else {
                do throws(PayloadError) {
                    candidates.append((job, try handler.prepare(job.envelope!)))
                } catch {
                    // Dead-lettered before any handler runs: it can be fixed and replayed.
                    logger.error(
                        "job with a payload that does not fit its kind dead-lettered",
                        metadata: ["job.id": "\(job.envelope!.id)", "tenant": "\(job.tenant)", "error": "\(error.message)"])
                    try await recordEvents([
                        JobLifecycleEvent(name: .failed, job: job.envelope!, attempt: job.attempt, error: error.message),
                        JobLifecycleEvent(name: .deadLettered, job: job.envelope!, attempt: job.attempt, error: error.message),
                    ])
                    try await consumer.settle(job, error: error.message, outcome: .deadLetter)
                    metrics.deadLettered.increment()
                }
            }
        }
        if candidates.isEmpty { return [] }
        let started = try await consumer.markStarted(candidates.map(\.job))
        let startedIDs = Set(started.map(\.entryID))
        for (job, _) in candidates where !startedIDs.contains(job.entryID) {
            if let envelope = job.envelope {
                try? await recordEvents([JobLifecycleEvent(name: .cancelled, job: envelope, attempt: job.attempt)])
            }
            metrics.cancelled.increment()
        }
        return candidates.filter { startedIDs.contains($0.job.entryID) }
    }

    private func recordEvents(_ events: [JobLifecycleEvent]) async throws {
        guard let recorder, !events.isEmpty else { return }
        try await recorder.record(events)
    }

    // MARK: - Running one job

    private func run(_ prepared: Prepared) async {
        let job = prepared.job
        guard let envelope = job.envelope else { return }
        let logger = JobLogger(base: self.logger, jobID: envelope.id, kind: kind, tenant: envelope.tenant, attempt: job.attempt)
        let key = "\(job.tenant.rawValue)/\(job.entryID)"
        running.withLock { $0[key] = (job, .now) }
        metrics.inFlight.record(running.withLock { $0.count })
        defer {
            running.withLock { _ = $0.removeValue(forKey: key) }
        }
        let started = ContinuousClock.now
        var failure: JobFailure?
        var result: String?
        do {
            try await recordEvents([JobLifecycleEvent(name: .started, job: envelope, attempt: job.attempt)])
        } catch {
            // Nothing runs unaudited: put the job back without using up an attempt.
            var rng = SystemRandomNumberGenerator()
            let delay = configuration.queue.retryBackoff.delay(afterAttempt: 1, using: &rng)
            logger.error("audit log unavailable; job postponed", metadata: ["error": "\(error)", "retry.in": "\(delay)"])
            _ = try? await consumer.settle(job, error: "audit log unavailable, job not started: \(error)", outcome: .postpone(after: delay))
            return
        }
        do {
            let context = HandlerContext(job: envelope, attempt: job.attempt, logger: logger, services: services)
            try await prepared.run(context)
            result = context.result
        } catch is CancellationError where Task.isCancelled || stop.isSet {
            logger.warning("job interrupted by shutdown; it stays pending for another worker")
            return
        } catch let error as JobFailure {
            failure = error
        } catch let error as any FleetErrorConvertible where error.fleetError.isUnavailable {
            // A backing service (policy engine, database, audit, queue) is away: wait for it
            // without using up an attempt.
            failure = JobFailure(.postpone(HandlerContext.policyRetry), error.fleetError.message)
        } catch {
            if Task.isCancelled {
                logger.warning("job interrupted by shutdown; it stays pending for another worker")
                return
            }
            failure = JobFailure(.retry, "\(error)")
        }
        metrics.duration.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        do {
            if let failure {
                try await settle(job, envelope: envelope, failure: failure, logger: logger)
            } else {
                // Acknowledged in the next group commit; `runReader` waits for it before returning.
                completions.add(Finished(job: job, result: result))
                logger.debug("job succeeded")
            }
        } catch {
            logger.error("could not record the job's outcome; it stays pending and will be retried", metadata: ["error": "\(error)"])
        }
    }

    private func settle(_ job: DeliveredJob, envelope: JobEnvelope, failure: JobFailure, logger: JobLogger) async throws {
        if case .postpone = failure.disposition {} else { metrics.failed.increment() }
        var outcome: JobConsumer.FailureOutcome
        var events = [JobLifecycleEvent(name: .failed, job: envelope, attempt: job.attempt, error: failure.message)]
        switch failure.disposition {
        case .postpone(let delay):
            // Not a failure of the job: no attempt is used up and nothing is audited as failed.
            logger.warning("job postponed", metadata: ["reason": "\(failure.message)", "retry.in": "\(delay)"])
            try await consumer.settle(job, error: failure.message, outcome: .postpone(after: delay))
            metrics.retried.increment()
            return
        case .retry where job.attempt < configuration.queue.maxAttempts:
            var rng = SystemRandomNumberGenerator()
            let delay = configuration.queue.retryBackoff.delay(afterAttempt: job.attempt, using: &rng)
            outcome = .retry(after: delay)
            events.append(JobLifecycleEvent(name: .retried, job: envelope, attempt: job.attempt, error: failure.message))
            logger.warning("job failed; retrying", metadata: ["error": "\(failure.message)", "retry.in": "\(delay)"])
        case .retry, .deadLetter:
            outcome = .deadLetter
            events.append(JobLifecycleEvent(name: .deadLettered, job: envelope, attempt: job.attempt, error: failure.message))
            logger.error("job dead-lettered", metadata: ["error": "\(failure.message)"])
        case .fail:
            outcome = .fail
            logger.warning("job failed permanently", metadata: ["error": "\(failure.message)"])
        }
        try await recordEvents(events)
        try await consumer.settle(job, error: failure.message, outcome: outcome)
        switch outcome {
        case .retry, .postpone: metrics.retried.increment()
        case .deadLetter: metrics.deadLettered.increment()
        case .fail: break
        }
    }

    // MARK: - Maintenance

    /// Moves due jobs, keeps long jobs' claims and heartbeats, until the stop signal; the walks
    /// over every tenant run beside it (`runWalks`), so a long one never holds these up.
    func runMaintenance() async {
        let walks = Task { await self.runWalks() }
        defer { walks.cancel() }
        let extendEvery = max(Duration.milliseconds(200), configuration.queue.visibilityTimeout / 3)
        var lastExtend = ContinuousClock.now
        var lastHeartbeat = ContinuousClock.now - .seconds(60)
        while !stop.isSet && !Task.isCancelled {
            do {
                try await consumer.promoteDueJobs()
                let now = ContinuousClock.now
                if now - lastExtend >= extendEvery {
                    lastExtend = now
                    let long = running.withLock { $0.values.filter { now - $0.since >= extendEvery }.map(\.job) }
                    try await consumer.extendClaims(long)
                }
                if now - lastHeartbeat >= .seconds(5) {
                    lastHeartbeat = now
                    try await consumer.heartbeat()
                }
                metrics.inFlight.record(running.withLock { $0.count })
            } catch {
                logger.warning("queue maintenance failed; retrying", metadata: ["job.kind": "\(kind)", "error": "\(error)"])
                await stop.pause(.seconds(1))
            }
            await stop.pause(.milliseconds(100))
        }
        // Stopping: no new job is taken from here on.
        do { try await consumer.resign() } catch {
            logger.warning("could not deregister the consumer; it ages out", metadata: ["job.kind": "\(kind)", "error": "\(error)"])
        }
    }

    /// Samples the queue figures and removes dead consumers, when it is this consumer's turn
    /// (walks over every tenant, paced), until the stop signal.
    private func runWalks() async {
        var lastJanitor = ContinuousClock.now
        var lastStats = ContinuousClock.now - .seconds(3600)
        while !stop.isSet && !Task.isCancelled {
            do {
                let now = ContinuousClock.now
                if now - lastJanitor >= .seconds(60) {
                    lastJanitor = now
                    if try await consumer.takeTurn(.deadConsumers, every: .seconds(60)) {
                        try await consumer.removeDeadConsumers(pause: JobConsumer.walkPause)
                    }
                }
                if now - lastStats >= configuration.statsInterval {
                    lastStats = now
                    if let stats = try await consumer.fleetStats(every: configuration.statsInterval) {
                        metrics.depth.record(stats.depth)
                        metrics.lag.record(stats.lag)
                        metrics.pending.record(stats.pending)
                        metrics.delayed.record(stats.delayed)
                        metrics.deadLetters.record(stats.deadLetters)
                    }
                }
            } catch {
                logger.warning(
                    "queue figures or consumer cleanup failed; retrying", metadata: ["job.kind": "\(kind)", "error": "\(error)"])
            }
            await stop.pause(.seconds(1))
        }
    }

    /// Jobs running right now.
    var runningCount: Int { running.withLock { $0.count } }
}

extension Duration {
    var nanoseconds: Int64 {
        let parts = components
        return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }
}
