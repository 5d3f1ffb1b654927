import Contracts

/// Runs jobs of one kind: gets the job's payload, decoded as its kind's type, and a context.
/// Handlers must be idempotent per job id: a job whose worker died after the handler's effects
/// but before the acknowledgement runs again (`HandlerContext` keys audit events, follow-ups and
/// writes by job and step, so a redelivery repeats nothing).
public protocol KindHandler: Sendable {
    associatedtype Contract: KindContract
    /// Does the job's work. Throwing `JobFailure` says what to do next; any other error is
    /// retried until the attempts run out.
    func handle(_ payload: Contract.Payload, context: HandlerContext) async throws
}

/// A handler as the worker registers it: its kind, and how a job of that kind is prepared
/// (its payload decoded) before it runs.
public struct RegisteredHandler: Sendable {
    public let kind: JobKind
    /// Whether the kind acts outside the fleet (and so needs the policy engine at run time).
    public let needsPolicy: Bool
    let prepare: @Sendable (JobEnvelope) throws(PayloadError) -> @Sendable (HandlerContext) async throws -> Void

    public init<Handler: KindHandler>(_ handler: Handler) {
        kind = Handler.Contract.kind
        needsPolicy = Handler.Contract.actions != nil
        prepare = { job throws(PayloadError) in
            let payload = try KindCatalog.decode(Handler.Contract.self, job)
            return { context in try await handler.handle(payload, context: context) }
        }
    }

    /// Decodes `job`'s payload and runs the handler on it (a payload that does not decode throws
    /// `PayloadError` before the handler runs).
    public func run(_ job: JobEnvelope, context: HandlerContext) async throws {
        try await prepare(job)(context)
    }
}

/// A handler's verdict on a failure.
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    public enum Disposition: Sendable, Equatable {
        /// Try again later (until the attempts run out).
        case retry
        /// Not now, without using up an attempt: the job waits this long in the delayed set and
        /// frees its worker slot at once (an engine that cannot answer, a provider asking to
        /// slow down).
        case postpone(Duration)
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
