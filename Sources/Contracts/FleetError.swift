/// An error a user or operator can meet, with a stable code and a message that says what to do.
///
/// The one error vocabulary of the fleet: domain code throws these (or errors that convert to
/// them, `FleetErrorConvertible`); the gateway maps the code to an HTTP status and a
/// problem+json `type` in one place, and the command line prints the message as one line.
public struct FleetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable error codes. Their raw values are the problem+json `type` slugs.
    public enum Code: String, Sendable, CaseIterable {
        case invalidRequest = "invalid-request"
        case malformedJSON = "malformed-json"
        case unknownField = "unknown-field"
        case invalidTenant = "invalid-tenant"
        case unknownKind = "unknown-kind"
        case invalidAction = "invalid-action"
        case invalidJob = "invalid-job"
        case invalidPayload = "invalid-payload"
        case invalidPolicy = "invalid-policy"
        case bodyTooLarge = "body-too-large"
        case requestTimeout = "request-timeout"
        case unauthorized = "unauthorized"
        case forbidden = "forbidden"
        case policyDenied = "policy-denied"
        case notFound = "not-found"
        case conflict = "conflict"
        case tenantNotProvisioned = "tenant-not-provisioned"
        case policyWidensParent = "policy-widens-parent"
        case rateLimited = "rate-limited"
        case queueUnavailable = "queue-unavailable"
        case databaseUnavailable = "database-unavailable"
        case auditUnavailable = "audit-unavailable"
        case policyUnavailable = "policy-unavailable"
        case identityProviderUnavailable = "identity-provider-unavailable"
        case connectorUnavailable = "connector-unavailable"
        /// Something this deployment is not set up for (a connector's OAuth client, a key).
        case notConfigured = "not-configured"
        case redisError = "redis-error"
        case databaseError = "database-error"
        case invalidConfiguration = "invalid-configuration"
        case auditIntegrity = "audit-integrity"
        case timeout = "timeout"
        case `internal` = "internal"
    }

    public let code: Code
    public let message: String
    /// Extra members of the problem document (e.g. `policy` of a denial).
    public var details: [String: String]
    /// Seconds after which a retry may succeed (`Retry-After`), for throttling and outages.
    public var retryAfter: Int?

    public init(_ code: Code, _ message: String, details: [String: String] = [:], retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.details = details
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Whether the failure is the fleet's own fault (a bug, a broken invariant, a bad
    /// deployment setting) rather than a refusal of what was asked or a service that is away.
    public var isInternal: Bool {
        switch code {
        case .redisError, .databaseError, .invalidConfiguration, .auditIntegrity, .internal: true
        default: false
        }
    }

    /// Whether the failure is a backing service that may come back (retrying may succeed).
    public var isUnavailable: Bool {
        switch code {
        case .queueUnavailable, .databaseUnavailable, .auditUnavailable, .policyUnavailable, .identityProviderUnavailable,
            .connectorUnavailable, .timeout:
            true
        default: false
        }
    }
}

/// An error of a lower layer (a client, a parser) that knows which `FleetError` it is to a user.
public protocol FleetErrorConvertible: Error {
    var fleetError: FleetError { get }
}

extension FleetError: FleetErrorConvertible {
    public var fleetError: FleetError { self }
}

extension FleetError {
    public static func invalidRequest(_ message: String) -> FleetError { FleetError(.invalidRequest, message) }
    public static func unauthorized(_ message: String) -> FleetError { FleetError(.unauthorized, message) }
    public static func forbidden(_ message: String) -> FleetError { FleetError(.forbidden, message) }
    public static func notFound(_ message: String) -> FleetError { FleetError(.notFound, message) }
    public static func conflict(_ message: String) -> FleetError { FleetError(.conflict, message) }
}

/// An error that says in words what went wrong (and, for people, what to do).
public protocol DescribedError: Error {
    var message: String { get }
}

extension FleetError: DescribedError {}

extension Error {
    /// The message of an error for people: its own words where it has them.
    public var message: String { (self as? any DescribedError)?.message ?? "\(self)" }
}
