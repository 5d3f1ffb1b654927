import Foundation

/// A value that can be bound to a statement parameter. Values are sent in PostgreSQL's text
/// format, always as parameters, never spliced into SQL.
public protocol PostgresBindable: Sendable {
    /// The parameter's text, or nil for NULL.
    var postgresText: String? { get }
}

extension String: PostgresBindable {
    public var postgresText: String? { self }
}

extension Int: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Int64: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Int32: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Double: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Bool: PostgresBindable {
    public var postgresText: String? { self ? "t" : "f" }
}

extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public var postgresText: String? { self?.postgresText }
}

/// Bytes bound as `bytea` (hex format).
public struct PostgresBytes: PostgresBindable, Equatable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var postgresText: String? { "\\x" + Hex.encode(bytes) }
}

/// A timestamp bound as `timestamptz` with microsecond precision.
public struct PostgresTimestamp: PostgresBindable, Equatable {
    /// Microseconds since the epoch.
    public let microseconds: Int64
    public init(microseconds: Int64) { self.microseconds = microseconds }
    public init(_ date: Date) { self.microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    public var postgresText: String? { Self.format(microseconds) }

    static func format(_ microseconds: Int64) -> String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let fraction = microseconds - seconds * 1_000_000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let micro = String(fraction)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 6 - micro.count) + micro + "+00"
    }
}

/// An array parameter (`text[]`, `bigint[]`, `bytea[]`, ...) for `unnest`-based batch inserts:
/// one statement and a fixed number of parameters however many rows.
public struct PostgresArray: PostgresBindable {
    public let elements: [String?]
    public init(_ elements: [String?]) { self.elements = elements }
    public init<T: PostgresBindable>(_ values: [T]) { self.elements = values.map(\.postgresText) }

    public var postgresText: String? {
        var out = "{"
        out.reserveCapacity(elements.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(",") }
            guard let element else {
                out.append("NULL")
                continue
            }
            out.append("\"")
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { out.append("\\") }
                out.unicodeScalars.append(character)
            }
            out.append("\"")
        }
        out.append("}")
        return out
    }
}

/// Lower-case hexadecimal.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        if utf8.starts(with: Array("\\x".utf8)) { utf8.removeFirst(2) }
        guard utf8.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}
