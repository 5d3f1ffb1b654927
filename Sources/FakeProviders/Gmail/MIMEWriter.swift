/// Writes a `MIMEPart` as RFC 2822 / MIME text (CRLF line ends), for `format=raw`.
enum MIMEWriter {
    private static let addressHeaders: Set<String> = ["from", "to", "cc", "bcc", "reply-to", "sender"]

    static func render(_ part: MIMEPart) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(part.estimatedSize + 256)
        write(part, into: &out)
        return out
    }

    private static func write(_ part: MIMEPart, into out: inout [UInt8]) {
        for (name, value) in part.headers {
            let encoded =
                addressHeaders.contains(name.lowercased())
                ? MailEncoding.encodeAddressList(value) : MailEncoding.encodeHeaderValue(value)
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: encoded.utf8)
            out.append(contentsOf: [13, 10])
        }
        out.append(contentsOf: [13, 10])
        if part.isMultipart {
            let boundary = ContentType(part.header("Content-Type") ?? "").parameters["boundary"] ?? "boundary"
            for child in part.parts {
                out.append(contentsOf: "--\(boundary)\r\n".utf8)
                write(child, into: &out)
                out.append(contentsOf: [13, 10])
            }
            out.append(contentsOf: "--\(boundary)--\r\n".utf8)
        } else if part.header("Content-Transfer-Encoding")?.lowercased() == "base64" {
            out.append(contentsOf: Base64.mimeEncode(part.body).utf8)
        } else {
            var previous: UInt8 = 0
            for byte in part.body {
                if byte == 10, previous != 13 { out.append(13) }
                out.append(byte)
                previous = byte
            }
        }
    }
}

/// A parsed `Content-Type` (or `Content-Disposition`) value: the main value and its parameters.
struct ContentType {
    let value: String
    let parameters: [String: String]

    init(_ header: String) {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        for character in header {
            if character == "\"" { quoted.toggle() }
            if character == ";", !quoted {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        value = pieces.first.map { $0.trimmingSpaces.lowercased() } ?? ""
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let key = piece[..<equals].trimmingSpaces.lowercased()
            let raw = piece[piece.index(after: equals)...].trimmingSpaces.trimmingQuotes
            parameters[key] = MailEncoding.decodeHeaderValue(raw)
        }
        self.parameters = parameters
    }
}
