import Contracts

/// An error from PostgreSQL or from talking to it, naming the operation.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Cannot connect, or the connection broke.
        case connection
        /// The server rejected the statement (see `sqlState`).
        case server
        /// The client was shut down.
        case closed
        /// A malformed URL or option.
        case configuration
    }

    public let code: Code
    public let operation: String
    public let message: String
    /// The SQLSTATE of a server error (e.g. `23505` unique violation, `42501` insufficient privilege).
    public let sqlState: String?
    /// The constraint a server error names (e.g. the unique index a `23505` violated).
    public let constraint: String?

    public init(_ code: Code, operation: String, message: String, sqlState: String? = nil, constraint: String? = nil) {
        self.code = code
        self.operation = operation
        self.message = message
        self.sqlState = sqlState
        self.constraint = constraint
    }

    public var description: String {
        "postgres \(operation): \(message)" + (sqlState.map { " (SQLSTATE \($0))" } ?? "")
    }

    /// A permission error (`42501`), or a trigger refusing a change to the audit log (`P0001`
    /// raised by our triggers).
    public var isPermissionDenied: Bool { sqlState == "42501" }
}

extension PostgresError: DescribedError, FleetErrorConvertible {
    public var fleetError: FleetError {
        switch code {
        case .connection, .closed: FleetError(.databaseUnavailable, "the database cannot be reached right now", retryAfter: 5)
        case .configuration: FleetError(.invalidConfiguration, message)
        case .server: FleetError(.databaseError, description)
        }
    }
}
