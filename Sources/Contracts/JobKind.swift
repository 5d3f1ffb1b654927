/// The kind of a job: which worker pool runs it. Kind strings are stable: they appear in Redis
/// keys, on the wire and in the audit log.
public struct JobKind: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// Creates a kind from its wire string; throws `FleetError.unknownKind` for a string that is
    /// not one of `JobKind.all`.
    public init(_ rawValue: String) throws(FleetError) {
        guard Self.all.contains(where: { $0.rawValue == rawValue }) else {
            throw FleetError(
                .unknownKind,
                "unknown job kind '\(rawValue.prefix(80))'; known kinds: \(Self.all.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self.rawValue = rawValue
    }

    private init(uncheckedRawValue: String) { self.rawValue = uncheckedRawValue }

    public static let connectorSync = JobKind(uncheckedRawValue: "connector-sync")
    public static let classifier = JobKind(uncheckedRawValue: "classifier")
    public static let autoResponder = JobKind(uncheckedRawValue: "auto-responder")
    public static let standup = JobKind(uncheckedRawValue: "standup")
    public static let ocipRelay = JobKind(uncheckedRawValue: "ocip-relay")
    public static let briefing = JobKind(uncheckedRawValue: "briefing")
    /// Does nothing but count itself; used by benchmarks and tests.
    public static let noop = JobKind(uncheckedRawValue: "noop")

    /// Every kind the fleet knows, in a stable order: the kind catalog's.
    public static var all: [JobKind] { KindCatalog.contracts.map { $0.kind } }

    public var description: String { rawValue }

    public static func < (lhs: JobKind, rhs: JobKind) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
