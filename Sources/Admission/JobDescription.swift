import Contracts
import Foundation

/// A job as a caller describes it (`POST /v1/jobs`, a schedule's template), checked strictly
/// against the kind catalog: unknown fields, unknown kinds, actions a kind does not perform and
/// payloads that do not fit their kind are refused before anything else happens.
public struct JobDescription: Sendable, Equatable {
    public var kind: JobKind
    public var action: Action
    /// The payload as canonical JSON bytes.
    public var payload: [UInt8]
    public var classification: Classification
    /// Milliseconds since the epoch; nil runs as soon as possible.
    public var runAt: Int64?
    /// Every action the job will take, its own first: the decision covers each.
    public var actions: [Action]

    public static let fields: Set<String> = ["kind", "action", "payload", "classification", "run_at"]

    /// The latest `run_at` accepted, from now.
    public static let furthestRunAt: Duration = .seconds(366 * 86_400)

    /// A job already checked against the catalog once (a parked approval, a follow-up).
    public init(kind: JobKind, action: Action, payload: [UInt8], classification: Classification, runAt: Int64? = nil) {
        self.kind = kind
        self.action = action
        self.payload = payload
        self.classification = classification
        self.runAt = runAt
        let object = JSONValue.parse(payload)?.objectValue ?? [:]
        actions = (try? KindCatalog.admit(kind: kind, action: action, payload: object).actions) ?? [action]
    }

    /// Parses a request body.
    public init(json data: some Collection<UInt8>) throws(FleetError) {
        guard let value = JSONValue.parse(data) else { throw FleetError(.malformedJSON, "the body is not valid JSON") }
        guard let object = value.objectValue else { throw FleetError(.malformedJSON, "the body must be a JSON object") }
        try value.refuseUnstorableText()
        try self.init(object: object, path: "")
    }

    /// Validates a job description. `path` prefixes field names in messages (`job.` in a
    /// schedule).
    public init(object: [String: JSONValue], path: String) throws(FleetError) {
        let unknown = Set(object.keys).subtracting(Self.fields)
        guard unknown.isEmpty else {
            throw FleetError(
                .unknownField,
                "unknown field(s) \(unknown.sorted().map { "'\(path)\($0)'" }.joined(separator: ", ")); allowed: \(Self.fields.sorted().joined(separator: ", "))"
            )
        }
        guard let kindName = object["kind"]?.stringValue else {
            throw FleetError(.invalidRequest, "'\(path)kind' is required and must be a string")
        }
        do { kind = try JobKind(kindName) } catch { throw FleetError(.unknownKind, error.message) }
        guard let actionName = object["action"]?.stringValue else {
            throw FleetError(.invalidRequest, "'\(path)action' is required and must be a string")
        }
        guard let action = try? Action(actionName) else {
            throw FleetError(.invalidRequest, "'\(path)action' must be system.verb (e.g. gmail.read), not '\(actionName.prefix(60))'")
        }
        self.action = action
        let payloadObject: [String: JSONValue]
        switch object["payload"] {
        case nil: payloadObject = [:]
        case .object(let value): payloadObject = value
        default: throw FleetError(.invalidRequest, "'\(path)payload' must be a JSON object")
        }
        do throws(KindRejection) {
            let admitted = try KindCatalog.admit(kind: kind, action: action, payload: payloadObject)
            payload = admitted.payload
            actions = admitted.actions
        } catch {
            switch error {
            case .unknownKind: throw FleetError(.unknownKind, "unknown job kind '\(kind)'")
            case .action(let problem): throw FleetError(.invalidAction, "'\(path)action' \(problem)")
            case .payload(let problem): throw FleetError(.invalidPayload, "'\(path)payload' \(problem.message)")
            }
        }
        let floor = Self.defaultClassification(for: action)
        switch object["classification"] {
        case nil: classification = floor
        case .string(let value):
            guard let parsed = Classification(rawValue: value) else {
                throw FleetError(.invalidRequest, "'\(path)classification' must be one of public, internal, confidential, restricted")
            }
            // SPEC: automated handling may only raise a level; lowering one is an admin
            // override with a reason, not something a job submission does.
            guard parsed >= floor else {
                throw FleetError(
                    .invalidRequest,
                    "'\(path)classification' \(parsed.rawValue) is below the default \(floor.rawValue) of \(action)'s data: a job may raise its data's level, never lower it"
                )
            }
            classification = parsed
        default: throw FleetError(.invalidRequest, "'\(path)classification' must be a string")
        }
        switch object["run_at"] {
        case nil: runAt = nil
        case .string(let value):
            guard let date = ISOTime.parse(value), date.timeIntervalSince1970 >= 0 else {
                throw FleetError(.invalidRequest, "'\(path)run_at' must be an ISO 8601 time such as 2026-11-25T08:00:00Z")
            }
            guard date.timeIntervalSinceNow <= Double(Self.furthestRunAt.milliseconds / 1000) else {
                throw FleetError(.invalidRequest, "'\(path)run_at' must be within a year from now")
            }
            runAt = Clock.milliseconds(date)
        default: throw FleetError(.invalidRequest, "'\(path)run_at' must be a string")
        }
    }

    /// Unclassified data is restricted, except what a connector reads or writes: Gmail, GCal,
    /// Jira, GitHub (private repositories; public ones are public only when the caller says so)
    /// and GDrive default to their connector's level (SPEC).
    public static func defaultClassification(for action: Action) -> Classification {
        Connector(action: action)?.defaultClassification ?? .restricted
    }

    /// The description as a JSON object (a schedule's stored template).
    public var object: [String: JSONValue] {
        var out: [String: JSONValue] = [
            "kind": .string(kind.rawValue), "action": .string(action.rawValue), "classification": .string(classification.rawValue),
            "payload": JSONValue.parse(payload) ?? .object([:]),
        ]
        if let runAt { out["run_at"] = .integer(runAt) }
        return out
    }
}

/// ISO 8601 times as the API takes and gives them.
public enum ISOTime {
    /// `2026-11-25T08:00:00Z`, with or without fractional seconds.
    public static func parse(_ text: String) -> Date? { RFC3339.parse(text) }

    /// Milliseconds since the epoch as `2026-11-25T08:00:00.000Z`.
    public static func format(milliseconds: Int64) -> String {
        RFC3339.format(Clock.date(milliseconds: milliseconds), fractional: true)
    }
}
