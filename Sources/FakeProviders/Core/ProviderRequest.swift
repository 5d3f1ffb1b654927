import Foundation

/// One request as a fake sees it: method, percent-decoded path segments, query items in order,
/// headers and the whole body.
struct ProviderRequest: Sendable {
    let method: String
    /// The path as sent (not decoded), e.g. `/gmail/v1/users/me/messages`.
    let path: String
    /// Percent-decoded path segments (no empty ones).
    let segments: [String]
    /// The query string as sent (after `?`), empty when there is none.
    let rawQuery: String
    let query: QueryItems
    /// Header names lowercased.
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    init(method: String, target: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = parts.first.map(String.init) ?? "/"
        rawQuery = parts.count > 1 ? String(parts[1]) : ""
        segments = path.split(separator: "/").map { PercentEncoding.decode(String($0), plusAsSpace: false) }
        query = QueryItems(rawQuery)
        self.headers = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        self.body = body
    }

    /// The first value of header `name` (lowercase).
    func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }

    /// The bearer token of `Authorization` (`Bearer` or GitHub's `token`), if any.
    var bearerToken: String? {
        guard let value = header("authorization") else { return nil }
        for prefix in ["Bearer ", "bearer ", "token ", "Token "] where value.hasPrefix(prefix) {
            return String(value.dropFirst(prefix.count)).trimmingCharacters(in: [" "])
        }
        return nil
    }

    /// The user and password of `Authorization: Basic`.
    var basicCredentials: (user: String, password: String)? {
        guard let value = header("authorization"), value.lowercased().hasPrefix("basic "),
            let decoded = Base64.decode(String(value.dropFirst(6)))
        else { return nil }
        let text = String(decoding: decoded, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// The body parsed as `application/x-www-form-urlencoded`.
    var form: QueryItems { QueryItems(String(decoding: body, as: UTF8.self)) }

    /// The body parsed as JSON (nil when it is not).
    var json: JSON? { try? JSONParser.parse(body) }

    var contentType: String { header("content-type")?.lowercased() ?? "" }
}

/// Query or form items in the order sent; repeated names keep every value.
struct QueryItems: Sendable {
    let items: [(name: String, value: String)]

    init(_ text: String) {
        items = text.split(separator: "&").compactMap { pair in
            guard !pair.isEmpty else { return nil }
            let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentEncoding.decode(String(halves[0]), plusAsSpace: true)
            let value = halves.count > 1 ? PercentEncoding.decode(String(halves[1]), plusAsSpace: true) : ""
            return (name, value)
        }
    }

    subscript(name: String) -> String? { items.first { $0.name == name }?.value }

    /// Every value of `name`, also comma-separated ones.
    func all(_ name: String) -> [String] { items.filter { $0.name == name }.map(\.value) }

    func has(_ name: String) -> Bool { items.contains { $0.name == name } }

    /// A boolean parameter (`true`/`false`), `nil` when absent.
    func bool(_ name: String) -> Bool? {
        guard let value = self[name] else { return nil }
        return value.lowercased() == "true" || value == "1"
    }

    var isEmpty: Bool { items.isEmpty }
}

/// Percent-encoding for paths, queries and forms.
enum PercentEncoding {
    static func decode(_ text: String, plusAsSpace: Bool) -> String {
        guard text.utf8.contains(where: { $0 == 37 || (plusAsSpace && $0 == 43) }) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            if byte == 37, let high = bytes.next(), let low = bytes.next(), let h = hexValue(high), let l = hexValue(low) {
                out.append(h << 4 | l)
            } else if byte == 43, plusAsSpace {
                out.append(32)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: return byte - 48
        case 65...70: return byte - 55
        case 97...102: return byte - 87
        default: return nil
        }
    }

    /// Encodes everything but unreserved characters (RFC 3986).
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 65...90, 97...122, 48...57, 45, 46, 95, 126: out.append(Character(Unicode.Scalar(byte)))
            default: out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    /// A form body or query string from pairs.
    static func form(_ pairs: [(String, String)]) -> String {
        pairs.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&")
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
