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
        let fraction = Int(microseconds - seconds * 1_000_000)
        // Civil date from days since the epoch (Howard Hinnant's algorithm): no libc, no allocation.
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        var out = [UInt8]()
        out.reserveCapacity(32)
        func put(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(48 + rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        put(year, 4)
        out.append(UInt8(ascii: "-"))
        put(month, 2)
        out.append(UInt8(ascii: "-"))
        put(day, 2)
        out.append(UInt8(ascii: " "))
        put(secondOfDay / 3600, 2)
        out.append(UInt8(ascii: ":"))
        put(secondOfDay / 60 % 60, 2)
        out.append(UInt8(ascii: ":"))
        put(secondOfDay % 60, 2)
        out.append(UInt8(ascii: "."))
        put(fraction, 6)
        out.append(contentsOf: "+00".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}

/// An array parameter (`text[]`, `bigint[]`, `bytea[]`, ...) for `unnest`-based batch inserts:
/// one statement and a fixed number of parameters however many rows.
public struct PostgresArray: PostgresBindable {
    public let elements: [String?]
    public init(_ elements: [String?]) { self.elements = elements }
    public init<T: PostgresBindable>(_ values: [T]) { self.elements = values.map { $0.postgresText } }

    public var postgresText: String? {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(elements.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard var element else {
                out.append(contentsOf: "NULL".utf8)
                continue
            }
            out.append(UInt8(ascii: "\""))
            element.withUTF8 { bytes in
                // Runs without a quote or backslash are copied whole.
                var start = 0
                for index in bytes.indices where bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "\\") {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                    out.append(UInt8(ascii: "\\"))
                    start = index
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// Lower-case hexadecimal.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            digits.withUnsafeBufferPointer { digits in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digits[Int(byte >> 4)]
                    out[2 * index + 1] = digits[Int(byte & 15)]
                }
            }
            return bytes.count * 2
        }
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        Array(text.utf8).withUnsafeBytes { decode(bytes: $0) }
    }

    /// Decodes hex bytes, with or without PostgreSQL's `\x` prefix.
    public static func decode(bytes raw: UnsafeRawBufferPointer) -> [UInt8]? {
        var utf8 = raw[...]
        if utf8.count >= 2 && utf8[utf8.startIndex] == UInt8(ascii: "\\") && utf8[utf8.startIndex + 1] == UInt8(ascii: "x") {
            utf8 = utf8.dropFirst(2)
        }
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
        var index = utf8.startIndex
        while index < utf8.endIndex {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}
