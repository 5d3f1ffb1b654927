/// A Redis reply, copied out of hiredis into Swift values (the hiredis reply is freed at once).
public enum RedisValue: Sendable, Equatable {
    case null
    case integer(Int64)
    /// A bulk string: binary safe.
    case bulk([UInt8])
    /// A simple status such as `OK`.
    case status(String)
    /// An error reply; the connection stays usable.
    case error(String)
    case array([RedisValue])

    /// The value as UTF-8 text (bulk or status), nil otherwise.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The raw bytes of a bulk or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): bytes
        case .status(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The value as an integer (integer replies, or bulk strings holding one).
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// The error text of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// Returns `self`, or throws a `RedisError` for an error reply.
    @discardableResult
    public func orThrow(_ operation: @autoclosure () -> String = "command") throws(RedisError) -> RedisValue {
        if case .error(let message) = self { throw RedisError.reply(operation(), message) }
        return self
    }
}
