/// A step in a job's life, written to the audit log by the worker before the step is
/// acknowledged in Redis.
public struct JobLifecycleEvent: Sendable, Equatable {
    public enum Name: String, Sendable, CaseIterable {
        case started = "job.started"
        case succeeded = "job.succeeded"
        case failed = "job.failed"
        case retried = "job.retried"
        case deadLettered = "job.dead_lettered"
        case cancelled = "job.cancelled"
        /// Put back from the dead letters by an operator (a new generation of attempts).
        case replayed = "job.replayed"
        /// Its allowed decision is audited, but the job never reached the queue.
        case notQueued = "job.not_queued"
    }

    public var name: Name
    public var job: JobEnvelope
    /// The delivery's attempt number (redeliveries after a crash count).
    public var attempt: Int
    public var error: String?
    /// Milliseconds since the epoch.
    public var at: Int64

    public init(name: Name, job: JobEnvelope, attempt: Int, error: String? = nil, at: Int64 = Clock.milliseconds()) {
        self.name = name
        self.job = job
        self.attempt = attempt
        self.error = error
        self.at = at
    }

    /// Deduplication key: one row per job, replay, retry generation and step, however often
    /// the same delivery is processed (a redelivery repeats the keys it already wrote).
    public var eventKey: String { "\(job.id)/\(job.generation)/\(name.rawValue)" }
}
