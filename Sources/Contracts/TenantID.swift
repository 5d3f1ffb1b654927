/// A validated tenant identifier: `[a-z0-9][a-z0-9-]{0,62}`.
///
/// Tenant ids end up inside Redis keys, PostgreSQL schema names and log metadata, so they are
/// validated once, here, before they reach any of those.
public struct TenantID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// Creates a tenant id, or throws `FleetError.invalidTenant` when `rawValue` is not of the
    /// form `[a-z0-9][a-z0-9-]{0,62}`.
    public init(_ rawValue: String) throws(FleetError) {
        guard Self.isValid(rawValue) else {
            throw FleetError(
                .invalidTenant,
                "tenant id '\(rawValue.prefix(80))' is invalid: use 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit"
            )
        }
        self.rawValue = rawValue
    }

    /// Whether `value` is a well-formed tenant id.
    public static func isValid(_ value: String) -> Bool {
        let bytes = value.utf8
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        guard isLowerAlnum(first) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// The PostgreSQL schema (and role) that holds this tenant's state tables: `t_` plus the id
    /// with `-` as `_`; ids too long for PostgreSQL's 63-byte names are shortened with a hash.
    public var schemaName: String {
        let plain = "t_" + String(decoding: rawValue.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
        if plain.utf8.count <= 63 { return plain }
        var hash: UInt32 = 2_166_136_261
        for byte in rawValue.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return String(plain.prefix(54)) + "_" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    public var description: String { rawValue }

    public static func < (lhs: TenantID, rhs: TenantID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(String.self)
        try self.init(value)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

@inline(__always)
func isLowerAlnum(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
}
