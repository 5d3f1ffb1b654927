import Contracts
import FleetConcurrency
import JobQueue
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// The worker process's job engine as a `Service`: one processor per kind, sharing the
/// process's slots. On graceful shutdown it stops reading at once, lets running jobs finish for
/// up to the grace period, then interrupts the rest (they stay pending and are reclaimed).
public final class WorkerService: Service, Sendable {
    public let configuration: WorkerConfiguration
    let processors: [KindProcessor]
    let slots: Slots
    private let stop = StopSignal()
    private let logger: Logger

    public init(
        configuration: WorkerConfiguration, queue: JobQueue, handlers: [RegisteredHandler], services: HandlerServices,
        recorder: (any LifecycleRecorder)? = nil, logger: Logger
    ) throws(FleetError) {
        self.configuration = configuration
        self.logger = logger
        let slots = Slots(configuration.concurrency)
        self.slots = slots
        var processors: [KindProcessor] = []
        let consumerName = JobConsumer.uniqueName()
        for kind in configuration.kinds {
            guard let handler = handlers.first(where: { $0.kind == kind }) else {
                throw FleetError(
                    .invalidConfiguration,
                    "no handler for job kind '\(kind)'; this build handles \(handlers.map(\.kind.rawValue).sorted().joined(separator: ", "))"
                )
            }
            let consumer = JobConsumer(queue: queue, kind: kind, name: consumerName, tenants: configuration.tenants)
            processors.append(
                KindProcessor(
                    consumer: consumer, handler: handler, services: services, slots: slots, recorder: recorder,
                    configuration: configuration, stop: stop, logger: logger))
        }
        self.processors = processors
    }

    public func run() async throws {
        let stop = self.stop
        let processors = self.processors
        let processing = Task {
            await withDiscardingTaskGroup { group in
                for processor in processors {
                    group.addTask { await processor.runReader() }
                    group.addTask { await processor.runMaintenance() }
                }
            }
        }
        logger.info(
            "worker started",
            metadata: [
                "kinds": "\(configuration.kinds.map(\.rawValue).joined(separator: ","))",
                "concurrency": "\(configuration.concurrency)", "consumer": "\(processors.first?.consumer.name ?? "")",
            ])
        let grace = configuration.gracePeriod
        let logger = self.logger
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await processing.value
            } onGracefulShutdown: {
                logger.info("shutting down: no new jobs; waiting for running ones", metadata: ["grace": "\(grace)"])
                stop.set()
                Task {
                    try? await Task.sleep(for: grace)
                    logger.warning("grace period over: interrupting running jobs (they stay pending for other workers)")
                    processing.cancel()
                }
            }
        } onCancel: {
            stop.set()
            processing.cancel()
        }
        for processor in processors { processor.consumer.close() }
        logger.info("worker stopped")
    }

    /// Health for `/healthz`: every reader made a round recently.
    public func health() -> (healthy: Bool, detail: [String: String]) {
        var healthy = true
        var detail: [String: String] = ["in_flight": String(slots.inUse), "concurrency": String(slots.capacity)]
        for processor in processors {
            let age = ContinuousClock.now - processor.lastHealthyRound.withLock { $0 }
            let fresh = age < .seconds(30)
            healthy = healthy && fresh
            detail["kind.\(processor.kind.rawValue)"] = fresh ? "ok" : "no successful read for \(age)"
        }
        return (healthy, detail)
    }
}
