/// An error a user or operator can meet, with a stable code and a message that says what to do.
///
/// The code maps to an HTTP status and a problem+json `type` at the gateway and to a one-line
/// message on the command line.
public struct FleetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable error codes. Their raw values appear in problem+json `type` URIs.
    public enum Code: String, Sendable, CaseIterable {
        case invalidTenant = "invalid-tenant"
        case unknownKind = "unknown-kind"
        case invalidJob = "invalid-job"
        case invalidPayload = "invalid-payload"
        case notFound = "not-found"
        case conflict = "conflict"
        case redisUnavailable = "redis-unavailable"
        case redisError = "redis-error"
        case databaseUnavailable = "database-unavailable"
        case databaseError = "database-error"
        case policyUnavailable = "policy-unavailable"
        case policyDenied = "policy-denied"
        case unauthorized = "unauthorized"
        case forbidden = "forbidden"
        case rateLimited = "rate-limited"
        case invalidConfiguration = "invalid-configuration"
        case auditIntegrity = "audit-integrity"
        case timeout = "timeout"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
