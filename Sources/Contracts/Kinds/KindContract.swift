import Foundation
import Synchronization

/// A job kind's contract: its typed payload, the actions it performs, its validation. One
/// file per kind in this folder; `KindCatalog.contracts` lists them. The gateway's strict
/// decoding, the OpenAPI schemas (checked by a test), the workers and the Rego tests of the
/// actions all read it, so a kind's contract exists once.
public protocol KindContract: Sendable {
    associatedtype Payload: KindPayload
    /// The kind's stable wire name.
    static var kind: JobKind { get }
    /// One line on what a job of this kind does.
    static var summary: String { get }
    /// The actions a job of this kind may be submitted under (the policy decides on that
    /// action; the worker checks each action it takes again at run time). Nil: any action
    /// (`noop`, which acts on nothing).
    static var actions: Set<Action>? { get }
    /// Checks that need the payload and the action together.
    static func validate(_ payload: Payload, action: Action) throws(PayloadError)
    /// The actions a job of this kind takes with `payload` when submitted under `action`: the
    /// decision at submission covers each of them (the most restrictive answer wins), so a kind
    /// submitted under a harmless action never skips the gate of a dangerous one; the worker
    /// checks each again at run time.
    static func performs(_ payload: Payload, action: Action) -> Set<Action>
    /// The payload fields an approver may change when approving a parked job of this kind.
    static var editableOnApproval: Set<String> { get }
}

extension KindContract {
    public static func validate(_ payload: Payload, action: Action) throws(PayloadError) {}

    public static func performs(_ payload: Payload, action: Action) -> Set<Action> { [action] }

    public static var editableOnApproval: Set<String> { [] }
}

/// A kind's payload: Codable, with a schema that strict decoding and the API document follow.
public protocol KindPayload: Codable, Sendable, Equatable {
    static var schema: PayloadSchema { get }
}

/// Why a payload does not fit its kind: a sentence to show the caller after `'payload'`.
public struct PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The fields of a payload: their JSON types and limits, and which are required. Every other
/// field is refused.
public struct PayloadSchema: Sendable, Equatable {
    public enum FieldType: Sendable, Equatable {
        /// A string of at most `maxLength` bytes, one of `values` when given.
        case string(maxLength: Int = 1024, values: [String]? = nil)
        /// A calendar date, `YYYY-MM-DD`.
        case date
        /// A whole number within `range`.
        case integer(ClosedRange<Int64>)
        case boolean
        /// A JSON object (checked by the kind itself).
        case object
    }

    public struct Field: Sendable, Equatable {
        public let name: String
        public let type: FieldType
        public let required: Bool
        public let summary: String

        public init(_ name: String, _ type: FieldType, required: Bool = false, _ summary: String) {
            self.name = name
            self.type = type
            self.required = required
            self.summary = summary
        }
    }

    public let fields: [Field]
    /// `fields` in name order, the order problems are looked for in.
    private let byName: [Field]

    public init(_ fields: [Field]) {
        self.fields = fields
        self.byName = fields.sorted { $0.name < $1.name }
    }

    public var names: [String] { fields.map(\.name).sorted() }

    /// Why `object` does not fit, or nil: unknown fields, missing required ones, wrong types
    /// or values out of range, naming the first offending field (in name order).
    public func problem(in object: [String: JSONValue], kind: JobKind) -> PayloadError? {
        if let name = object.keys.filter({ name in !fields.contains { $0.name == name } }).min() {
            return PayloadError("has unknown field '\(name)' for kind \(kind); allowed: \(names.joined(separator: ", "))")
        }
        for field in byName {
            guard let value = object[field.name] else {
                if field.required { return PayloadError("needs field '\(field.name)' for kind \(kind)") }
                continue
            }
            if let problem = Self.problem(value, field) { return PayloadError("field '\(field.name)' \(problem)") }
        }
        return nil
    }

    private static func problem(_ value: JSONValue, _ field: Field) -> String? {
        switch (field.type, value) {
        case (.string(let maxLength, let values), .string(let text)):
            if text.utf8.count > maxLength { return "must be at most \(maxLength) bytes" }
            if let values, !values.contains(text) { return "must be one of \(values.joined(separator: ", "))" }
            return nil
        case (.date, .string(let text)):
            return PayloadDate.isValid(text) ? nil : "must be a date such as 2026-11-30"
        case (.integer(let range), .integer(let number)):
            if range.contains(number) { return nil }
            if range.lowerBound == 0 && number < 0 { return "must be a non-negative whole number" }
            return "must be a whole number from \(range.lowerBound) to \(range.upperBound)"
        case (.boolean, .bool), (.object, .object):
            return nil
        default:
            return "must be \(describe(field.type))"
        }
    }

    static func describe(_ type: FieldType) -> String {
        switch type {
        case .string(_, let values?): "one of \(values.joined(separator: ", "))"
        case .string: "a string"
        case .date: "a date such as 2026-11-30"
        case .integer(let range) where range.lowerBound == 0: "a non-negative whole number"
        case .integer: "a whole number"
        case .boolean: "true or false"
        case .object: "a JSON object"
        }
    }
}

/// `YYYY-MM-DD` dates in payloads.
public enum PayloadDate {
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return false }
        let digits = bytes.enumerated().filter { $0.offset != 4 && $0.offset != 7 }.map(\.element)
        guard digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        let month = Int(text.dropFirst(5).prefix(2))!
        let day = Int(text.dropFirst(8))!
        return (1...12).contains(month) && (1...31).contains(day)
    }
}

/// Every kind the fleet knows.
public enum KindCatalog {
    /// One entry per kind, in a stable order.
    public static let contracts: [any KindContract.Type] = [
        ConnectorSyncKind.self, ClassifierKind.self, AutoResponderKind.self, StandupKind.self, OCIPRelayKind.self,
        BriefingKind.self, NoopKind.self,
    ]

    public static func contract(for kind: JobKind) -> (any KindContract.Type)? {
        contracts.first { $0.kind == kind }
    }

    /// A job description checked against its kind's contract: the action is one the kind
    /// performs, the payload fits the schema and decodes as the kind's payload type.
    public struct Admitted: Sendable, Equatable {
        /// The payload as canonical JSON bytes.
        public var payload: [UInt8]
        /// Every action the job will take (`KindContract.performs`), its own action first.
        public var actions: [Action]
    }

    public static func admit(kind: JobKind, action: Action, payload: [String: JSONValue]) throws(KindRejection) -> Admitted {
        guard let contract = contract(for: kind) else { throw .unknownKind }
        return try admit(contract, action: action, payload: payload)
    }

    private static func admit<C: KindContract>(
        _ contract: C.Type, action: Action, payload: [String: JSONValue]
    ) throws(KindRejection)
        -> Admitted
    {
        if let allowed = C.actions, !allowed.contains(action) {
            throw .action(
                "'\(action)' is not an action of kind \(C.kind); it performs: \(allowed.sorted().map(\.rawValue).joined(separator: ", "))")
        }
        if let problem = C.Payload.schema.problem(in: payload, kind: C.kind) { throw .payload(problem) }
        let bytes = payload.isEmpty ? Array("{}".utf8) : JSONValue.object(payload).canonicalBytes
        let key = bytes.count <= AdmittedKey.largestPayload ? AdmittedKey(kind: C.kind, action: action, payload: bytes) : nil
        if let key, let actions = admittedPayloads.withLock({ $0[key] }) { return Admitted(payload: bytes, actions: actions) }
        let decoded: C.Payload
        do {
            decoded = try decodeBytes(C.self, bytes)
        } catch {
            throw .payload(PayloadError("does not fit kind \(C.kind): \(error)"))
        }
        do throws(PayloadError) {
            try C.validate(decoded, action: action)
        } catch {
            throw .payload(error)
        }
        let actions = [action] + C.performs(decoded, action: action).subtracting([action]).sorted()
        if let key {
            admittedPayloads.withLock {
                if $0.count >= AdmittedKey.most { $0.removeAll(keepingCapacity: true) }
                $0[key] = actions
            }
        }
        return KindCatalog.Admitted(payload: bytes, actions: actions)
    }

    /// A small payload admitted before for a kind and action: admission is a function of the
    /// three (the catalog does not change while the process runs), and decoding a payload
    /// with `JSONDecoder` cost more than the rest of a request's parsing. Jobs of a kind mostly
    /// repeat a few small payloads (`{"connector": "gmail"}`).
    private struct AdmittedKey: Hashable {
        let kind: JobKind
        let action: Action
        let payload: [UInt8]
        /// Payloads larger than this are not remembered.
        static let largestPayload = 256
        /// Entries kept at most (all forgotten when full).
        static let most = 4096
    }

    /// The actions of the small payloads admitted so far.
    private static let admittedPayloads = Mutex<[AdmittedKey: [Action]]>([:])

    /// Decodes a queued job's payload as its kind's type; what does not decode is refused with
    /// the reason (the worker dead-letters it before any handler runs).
    public static func decode<C: KindContract>(_ contract: C.Type, _ job: JobEnvelope) throws(PayloadError) -> C.Payload {
        if job.payload == emptyObject, let known = knownEmpty(C.self) { return known }
        let payload: [String: JSONValue]
        switch JSONValue.parse(job.payload) {
        case .object(let object): payload = object
        default: throw PayloadError("payload of \(job.kind) job \(job.id) is not a JSON object")
        }
        if let problem = C.Payload.schema.problem(in: payload, kind: C.kind) {
            throw PayloadError("payload of \(job.kind) job \(job.id) \(problem.message)")
        }
        do {
            return try decodeBytes(C.self, payload.isEmpty ? emptyObject : job.payload)
        } catch {
            throw PayloadError("payload of \(job.kind) job \(job.id) does not decode: \(error)")
        }
    }

    private static let emptyObject = Array("{}".utf8)

    /// Empty payloads decoded once per kind: most jobs of some kinds (and every benchmark job)
    /// carry none, and a decoder per job costs more than the rest of their admission.
    private static let emptyPayloads = Mutex<[ObjectIdentifier: any Sendable]>([:])

    private static func knownEmpty<C: KindContract>(_ contract: C.Type) -> C.Payload? {
        emptyPayloads.withLock { $0[ObjectIdentifier(C.self)] } as? C.Payload
    }

    private static func decodeBytes<C: KindContract>(_ contract: C.Type, _ bytes: [UInt8]) throws -> C.Payload {
        guard bytes == emptyObject else { return try JSONDecoder().decode(C.Payload.self, from: Data(bytes)) }
        if let known = knownEmpty(C.self) { return known }
        let decoded = try JSONDecoder().decode(C.Payload.self, from: Data(bytes))
        emptyPayloads.withLock { $0[ObjectIdentifier(C.self)] = decoded }
        return decoded
    }
}

/// Why a job description is refused by its kind's contract.
public enum KindRejection: Error, Sendable, Equatable {
    case unknownKind
    /// The kind does not perform the action (the sentence says what it performs).
    case action(String)
    case payload(PayloadError)
}
