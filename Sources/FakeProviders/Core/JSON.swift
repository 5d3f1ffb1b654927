/// A JSON value with objects kept in insertion order, so answers list their fields the way the
/// vendors do, and so that "absent" (Google) and `null` (Jira, GitHub) are different things.
enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: return false
        }
    }

    /// The value of `key` when this is an object.
    subscript(key: String) -> JSON? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var intValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9e15: return Int64(value)
        default: return nil
        }
    }

    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var arrayValue: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var objectValue: [(String, JSON)]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Strings of an array of strings (other elements skipped).
    var stringArray: [String]? { arrayValue?.compactMap(\.stringValue) }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// This object with `key` set to `value` (replacing an existing field in place).
    func setting(_ key: String, _ value: JSON) -> JSON {
        guard case .object(var fields) = self else { return self }
        if let index = fields.firstIndex(where: { $0.0 == key }) {
            fields[index].1 = value
        } else {
            fields.append((key, value))
        }
        return .object(fields)
    }

    /// This object without `key`.
    func removing(_ key: String) -> JSON {
        guard case .object(let fields) = self else { return self }
        return .object(fields.filter { $0.0 != key })
    }
}

/// Builds an object field by field, leaving out absent optionals (Google's rule for unset fields).
struct JSONObjectBuilder {
    private(set) var fields: [(String, JSON)] = []

    init() { fields.reserveCapacity(16) }

    mutating func set(_ key: String, _ value: JSON) { fields.append((key, value)) }
    mutating func set(_ key: String, _ value: String) { fields.append((key, .string(value))) }
    mutating func set(_ key: String, _ value: Int) { fields.append((key, .int(Int64(value)))) }
    mutating func set(_ key: String, _ value: Int64) { fields.append((key, .int(value))) }
    mutating func set(_ key: String, _ value: Bool) { fields.append((key, .bool(value))) }
    mutating func set(_ key: String, strings: [String]) { fields.append((key, .array(strings.map { .string($0) }))) }

    /// Sets `key` only when `value` is present.
    mutating func setIfPresent(_ key: String, _ value: String?) { if let value { fields.append((key, .string(value))) } }
    mutating func setIfPresent(_ key: String, _ value: JSON?) { if let value { fields.append((key, value)) } }
    mutating func setIfPresent(_ key: String, _ value: Bool?) { if let value { fields.append((key, .bool(value))) } }
    mutating func setIfPresent(_ key: String, _ value: Int64?) { if let value { fields.append((key, .int(value))) } }

    /// Sets `key` to the value or to an explicit `null` (Jira's and GitHub's rule).
    mutating func setOrNull(_ key: String, _ value: String?) { fields.append((key, value.map { .string($0) } ?? .null)) }
    mutating func setOrNull(_ key: String, _ value: JSON?) { fields.append((key, value ?? .null)) }

    var json: JSON { .object(fields) }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByNilLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSON...) { self = .array(elements) }
    init(nilLiteral: ()) { self = .null }
}
