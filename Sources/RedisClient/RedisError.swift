import Contracts

/// Errors from the Redis client, each naming the operation that failed.
public struct RedisError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// Could not connect, or the connection broke mid-command; the command may not have run.
        case connection
        /// No reply within the command timeout.
        case timeout
        /// Redis answered with an error reply.
        case reply
        /// The client was shut down.
        case closed
        /// A malformed URL or option.
        case configuration
    }

    public let code: Code
    public let operation: String
    public let message: String

    public init(_ code: Code, operation: String, message: String) {
        self.code = code
        self.operation = operation
        self.message = message
    }

    static func reply(_ operation: String, _ message: String) -> RedisError {
        RedisError(.reply, operation: operation, message: message)
    }

    /// Whether retrying later may succeed (connection trouble rather than a bad command).
    public var isTransient: Bool { code == .connection || code == .timeout }

    public var description: String { "redis \(operation): \(message)" }
}

extension RedisError: DescribedError, FleetErrorConvertible {
    /// Any Redis failure, to a caller: the queue (and what lives beside it) is unavailable; the
    /// details stay in the logs.
    public var fleetError: FleetError {
        switch code {
        case .configuration: FleetError(.invalidConfiguration, message)
        case .reply:
            FleetError(
                .queueUnavailable, "the job queue (Redis) refused the request (\(message.prefix(120))); try again later", retryAfter: 5)
        case .connection, .timeout, .closed:
            FleetError(.queueUnavailable, "the job queue (Redis) cannot be reached right now; nothing was done", retryAfter: 5)
        }
    }
}
