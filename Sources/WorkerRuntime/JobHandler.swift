import Contracts
import Logging
import RedisClient

/// Runs jobs of one kind. Handlers must be idempotent per job id: a job whose worker died after
/// the handler's effects but before the acknowledgement runs again.
public protocol JobHandler: Sendable {
    /// The kind this handler runs.
    var kind: JobKind { get }
    /// Does the job's work. Throwing `JobFailure` says whether to retry; any other error is
    /// retried until the attempts run out.
    func handle(_ job: JobEnvelope, context: JobContext) async throws
}

/// What a handler gets besides the job.
public struct JobContext: Sendable {
    /// Logs with the job id, kind, tenant and attempt as metadata.
    public let logger: JobLogger
    /// This delivery's attempt number.
    public let attempt: Int
    /// The fleet's Redis, for handlers that keep state there (only under the job's tenant prefix).
    public let redis: RedisClient

    public init(logger: JobLogger, attempt: Int, redis: RedisClient) {
        self.logger = logger
        self.attempt = attempt
        self.redis = redis
    }
}

/// A handler's verdict on a failure.
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    public enum Disposition: Sendable {
        /// Try again later (until the attempts run out).
        case retry
        /// Never going to work as is (bad payload): dead-letter it so it can be fixed and replayed.
        case deadLetter
        /// Refused (e.g. policy denied the action): record it as failed; replaying is pointless.
        case fail
    }

    public let disposition: Disposition
    public let message: String

    public init(_ disposition: Disposition, _ message: String) {
        self.disposition = disposition
        self.message = message
    }

    public var description: String { message }
}

/// Receives job lifecycle events before the corresponding Redis step is acknowledged
/// (the audit writer in production).
public protocol LifecycleRecorder: Sendable {
    /// Durably records `events`; returns only once they are committed.
    func record(_ events: [JobLifecycleEvent]) async throws
}
