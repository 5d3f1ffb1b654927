import Foundation

/// Header and body encodings of RFC 2045/2047: encoded words, quoted-printable, base64.
enum MailEncoding {
    /// A header value safe for RFC 2822: as is when ASCII, else one or more `=?UTF-8?B?...?=` words.
    static func encodeHeaderValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 >= 0x80 }) else { return value }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in value {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?" + Base64.encode(chunk) + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Base64.encode(chunk) + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// An address header value (`Name <a@b>, ...`) with non-ASCII display names encoded.
    static func encodeAddressList(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 >= 0x80 }) else { return value }
        return value.split(separator: ",").map { entry -> String in
            let trimmed = entry.trimmingSpaces
            guard let open = trimmed.lastIndex(of: "<") else { return trimmed }
            let name = trimmed[..<open].trimmingSpaces.trimmingQuotes
            return encodeHeaderValue(name) + " " + trimmed[open...]
        }.joined(separator: ", ")
    }

    /// Decodes RFC 2047 encoded words (`B` and `Q`, any charset treated as UTF-8 or Latin-1).
    static func decodeHeaderValue(_ value: String) -> String {
        guard value.contains("=?") else { return value }
        var out = ""
        var rest = Substring(value)
        var previousWasWord = false
        while let start = rest.range(of: "=?") {
            let before = rest[..<start.lowerBound]
            let afterStart = rest[start.upperBound...]
            let pieces = afterStart.split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
            guard pieces.count == 4, pieces[3].hasPrefix("="), let charset = pieces.first else {
                out += before + "=?"
                rest = afterStart
                previousWasWord = false
                continue
            }
            if !(previousWasWord && before.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" })) { out += before }
            let encoding = pieces[1].uppercased()
            let text = String(pieces[2])
            var bytes: [UInt8]
            if encoding == "B" {
                bytes = Base64.decode(text) ?? Array(text.utf8)
            } else {
                bytes = decodeQuotedPrintable(text.replacingUnderscores, header: true)
            }
            out += decodeCharset(bytes, charset: String(charset))
            rest = pieces[3].dropFirst()
            previousWasWord = true
        }
        return out + rest
    }

    static func decodeCharset(_ bytes: [UInt8], charset: String) -> String {
        let lower = charset.lowercased()
        if lower.contains("8859-1") || lower.contains("latin1") || lower.contains("1252") {
            return String(bytes.map { Character(Unicode.Scalar($0)) })
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes quoted-printable (soft line breaks removed).
    static func decodeQuotedPrintable(_ text: String, header: Bool = false) -> [UInt8] {
        let input = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var index = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: return byte - 48
            case 65...70: return byte - 55
            case 97...102: return byte - 87
            default: return nil
            }
        }
        while index < input.count {
            let byte = input[index]
            if byte == 61 {
                if index + 1 < input.count, input[index + 1] == 10 {
                    index += 2
                    continue
                }
                if index + 2 < input.count, input[index + 1] == 13, input[index + 2] == 10 {
                    index += 3
                    continue
                }
                if index + 2 < input.count, let high = hex(input[index + 1]), let low = hex(input[index + 2]) {
                    out.append(high << 4 | low)
                    index += 3
                    continue
                }
            }
            out.append(byte)
            index += 1
        }
        return out
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\r" || first == "\n" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" || last == "\n" { slice = slice.dropLast() }
        return String(slice)
    }

    var trimmingQuotes: String {
        var text = String(self)
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
        return text
    }

    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
