import Contracts
import Foundation

/// A `POST /v1/jobs` body, validated strictly: unknown fields, unknown kinds, wrong types and
/// payloads that do not fit their kind are refused before anything else happens.
struct JobRequest: Sendable {
    var kind: JobKind
    var action: String
    /// The payload as canonical JSON bytes.
    var payload: [UInt8]
    var classification: Classification
    var runAt: Int64?

    static let fields: Set<String> = ["kind", "action", "payload", "classification", "run_at"]

    init(json data: some DataProtocol) throws(Problem) {
        guard let value = JSONValue.parse(data) else { throw Problem.badRequest("the body is not valid JSON", slug: "malformed-json") }
        guard let object = value.objectValue else { throw Problem.badRequest("the body must be a JSON object", slug: "malformed-json") }
        try self.init(object: object, path: "")
    }

    /// Validates a job description (also used for schedule templates). `path` prefixes field
    /// names in messages.
    init(object: [String: JSONValue], path: String) throws(Problem) {
        if object.keys.contains(where: { !Self.fields.contains($0) }) {
            let unknown = Set(object.keys).subtracting(Self.fields)
            throw Problem.badRequest(
                "unknown field(s) \(unknown.sorted().map { "'\(path)\($0)'" }.joined(separator: ", ")); allowed: \(Self.fields.sorted().joined(separator: ", "))",
                slug: "unknown-field")
        }
        guard let kindName = object["kind"]?.stringValue else { throw Problem.badRequest("'\(path)kind' is required and must be a string") }
        do { kind = try JobKind(kindName) } catch { throw Problem.badRequest(error.message, slug: "unknown-kind") }
        guard let action = object["action"]?.stringValue else {
            throw Problem.badRequest("'\(path)action' is required and must be a string")
        }
        guard Self.isActionName(action) else {
            throw Problem.badRequest("'\(path)action' must be system.verb (e.g. gmail.read), not '\(action.prefix(60))'")
        }
        if let problem = PayloadRules.problem(kind: kind, action: action) {
            throw Problem.badRequest("'\(path)action' \(problem)", slug: "invalid-action")
        }
        self.action = action
        let payloadObject: [String: JSONValue]
        switch object["payload"] {
        case nil: payloadObject = [:]
        case .object(let value): payloadObject = value
        default: throw Problem.badRequest("'\(path)payload' must be a JSON object")
        }
        if let problem = PayloadRules.problem(kind: kind, payload: payloadObject) {
            throw Problem.badRequest("'\(path)payload' \(problem)", slug: "invalid-payload")
        }
        if kind == .connectorSync, let connector = payloadObject["connector"]?.stringValue, !action.hasPrefix(connector + ".") {
            throw Problem.badRequest("'\(path)payload' names connector \(connector) but the action is \(action)", slug: "invalid-payload")
        }
        payload = payloadObject.isEmpty ? Array("{}".utf8) : JSONValue.object(payloadObject).canonicalBytes
        switch object["classification"] {
        case nil: classification = Self.defaultClassification(for: action)
        case .string(let value):
            guard let parsed = Classification(rawValue: value) else {
                throw Problem.badRequest("'\(path)classification' must be one of public, internal, confidential, restricted")
            }
            classification = parsed
        default: throw Problem.badRequest("'\(path)classification' must be a string")
        }
        switch object["run_at"] {
        case nil: runAt = nil
        case .string(let value):
            guard let date = Self.parseTime(value) else {
                throw Problem.badRequest("'\(path)run_at' must be an ISO 8601 time such as 2026-11-25T08:00:00Z")
            }
            runAt = Clock.milliseconds(date)
        default: throw Problem.badRequest("'\(path)run_at' must be a string")
        }
    }

    static func isActionName(_ value: String) -> Bool {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, value.utf8.count <= 64 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        }
    }

    /// Unclassified data is restricted, except what a connector reads or writes: Gmail, GCal,
    /// Jira, GitHub (private repositories; public ones are public only when the caller says so)
    /// and GDrive default to internal (SPEC).
    static func defaultClassification(for action: String) -> Classification {
        let system = action.prefix { $0 != "." }
        return connectorSystems.contains(system) ? .internal : .restricted
    }

    static let connectorSystems: Set<Substring> = ["gmail", "gcal", "jira", "github", "gdrive"]

    static func parseTime(_ text: String) -> Date? {
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}

/// What each kind accepts in its payload (field: type), and which fields it requires.
enum PayloadRules {
    enum FieldType {
        case string, integer, boolean, object
    }

    struct Rule {
        let fields: [String: FieldType]
        /// Sorted, so the first one missing is named the same way every time.
        let required: [String]

        init(_ fields: [String: FieldType], required: [String] = []) {
            self.fields = fields
            self.required = required.sorted()
        }
    }

    static let rules: [JobKind: Rule] = [
        .noop: Rule(["sleep_ms": .integer, "fail_attempts": .integer, "fail_until_ms": .integer, "poison": .boolean, "record": .boolean]),
        .connectorSync: Rule(["connector": .string, "account": .string, "full": .boolean], required: ["connector"]),
        .classifier: Rule(["source": .string, "item_id": .string], required: ["source", "item_id"]),
        .autoResponder: Rule(["channel": .string, "message_id": .string], required: ["channel", "message_id"]),
        .standup: Rule(["date": .string]),
        .briefing: Rule(["date": .string]),
        .ocipRelay: Rule(["envelope": .object], required: ["envelope"]),
    ]

    static let connectors: Set<String> = ["gmail", "gcal", "jira", "github", "gdrive"]

    static let connectorReads: Set<String> = ["gmail.read", "gcal.read", "jira.read", "github.read", "gdrive.read"]

    /// The actions a job of each kind may be admitted under: the policy decides on the action,
    /// so a kind is never admitted under an action it does not perform. `noop` acts on nothing
    /// outside the fleet and takes any action name (tests and benchmarks).
    static let actions: [JobKind: Set<String>] = [
        .connectorSync: connectorReads,
        .classifier: connectorReads.union(["model.call"]),
        .autoResponder: ["autorespond.send", "gmail.send", "model.call"],
        .standup: connectorReads.union(["model.call"]),
        .briefing: connectorReads.union(["model.call"]),
        .ocipRelay: ["ocip.send", "ocip.reply"],
    ]

    /// Why a job of `kind` may not be admitted under `action`, or nil.
    static func problem(kind: JobKind, action: String) -> String? {
        guard let allowed = actions[kind], !allowed.contains(action) else { return nil }
        return "'\(action)' is not an action of kind \(kind); it performs: \(allowed.sorted().joined(separator: ", "))"
    }

    /// Why `payload` does not fit `kind`, or nil.
    static func problem(kind: JobKind, payload: [String: JSONValue]) -> String? {
        guard let rule = rules[kind] else { return "is not accepted for kind \(kind)" }
        if payload.isEmpty && rule.required.isEmpty { return nil }
        for field in payload.keys.sorted() where rule.fields[field] == nil {
            return "has unknown field '\(field)' for kind \(kind); allowed: \(rule.fields.keys.sorted().joined(separator: ", "))"
        }
        for field in rule.required where payload[field] == nil {
            return "needs field '\(field)' for kind \(kind)"
        }
        for (field, value) in payload.sorted(by: { $0.key < $1.key }) {
            guard let type = rule.fields[field] else { continue }
            let fits: Bool
            switch (type, value) {
            case (.string, .string): fits = true
            case (.integer, .integer(let number)): fits = number >= 0
            case (.boolean, .bool): fits = true
            case (.object, .object): fits = true
            default: fits = false
            }
            if !fits { return "field '\(field)' must be \(describe(type))" }
        }
        if kind == .connectorSync, let connector = payload["connector"]?.stringValue, !connectors.contains(connector) {
            return "field 'connector' must be one of \(connectors.sorted().joined(separator: ", "))"
        }
        if kind == .noop, let sleep = payload["sleep_ms"]?.integerValue, sleep > 600_000 {
            return "field 'sleep_ms' must be at most 600000"
        }
        return nil
    }

    static func describe(_ type: FieldType) -> String {
        switch type {
        case .string: "a string"
        case .integer: "a non-negative whole number"
        case .boolean: "true or false"
        case .object: "a JSON object"
        }
    }
}
