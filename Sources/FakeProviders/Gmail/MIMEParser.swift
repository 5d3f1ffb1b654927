/// Parses RFC 2822 / MIME text (what clients send in `raw`) into a `MIMEPart`, decoding encoded
/// words in headers and the transfer encoding of bodies.
enum MIMEParser {
    static func parse(_ bytes: [UInt8]) -> MIMEPart { parse(ArraySlice(bytes), depth: 0) }

    private static func parse(_ bytes: ArraySlice<UInt8>, depth: Int) -> MIMEPart {
        let (headerBytes, body) = split(bytes)
        let headers = parseHeaders(headerBytes)
        let contentTypeHeader = headers.first { $0.name.lowercased() == "content-type" }?.value ?? "text/plain; charset=us-ascii"
        let contentType = ContentType(contentTypeHeader)
        let mimeType = contentType.value.isEmpty ? "text/plain" : contentType.value
        let disposition = ContentType(headers.first { $0.name.lowercased() == "content-disposition" }?.value ?? "")
        let filename = disposition.parameters["filename"] ?? contentType.parameters["name"] ?? ""
        var part = MIMEPart(headers: headers, mimeType: mimeType, filename: filename)
        if mimeType.hasPrefix("multipart/"), let boundary = contentType.parameters["boundary"], depth < 20 {
            part.parts = splitParts(body, boundary: boundary).map { parse($0, depth: depth + 1) }
            return part
        }
        let encoding = headers.first { $0.name.lowercased() == "content-transfer-encoding" }?.value.lowercased().trimmingSpaces ?? "7bit"
        let text = String(decoding: body, as: UTF8.self)
        var content: [UInt8]
        switch encoding {
        case "base64": content = Base64.decode(text) ?? Array(body)
        case "quoted-printable": content = MailEncoding.decodeQuotedPrintable(text)
        default: content = Array(body)
        }
        if mimeType.hasPrefix("text/"), let charset = contentType.parameters["charset"], !charset.lowercased().contains("utf") {
            content = Array(MailEncoding.decodeCharset(content, charset: charset).utf8)
        }
        part.body = content
        return part
    }

    /// Header block and body, split at the first empty line.
    static func split(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        var index = bytes.startIndex
        if bytes.first == 13 || bytes.first == 10 {
            // No headers at all.
            let skip = bytes.first == 13 ? 2 : 1
            return (bytes[bytes.startIndex..<bytes.startIndex], bytes.dropFirst(skip))
        }
        while index < bytes.endIndex {
            if bytes[index] == 10 {
                let next = index + 1
                if next < bytes.endIndex, bytes[next] == 10 { return (bytes[..<index], bytes[(next + 1)...]) }
                if next + 1 < bytes.endIndex, bytes[next] == 13, bytes[next + 1] == 10 { return (bytes[..<index], bytes[(next + 2)...]) }
            }
            index += 1
        }
        return (bytes, bytes[bytes.endIndex...])
    }

    static func parseHeaders(_ bytes: ArraySlice<UInt8>) -> [(name: String, value: String)] {
        let text = String(decoding: bytes, as: UTF8.self)
        var headers: [(name: String, value: String)] = []
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = String(line)
            if line.hasSuffix("\r") { line.removeLast() }
            if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingSpaces
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]).trimmingSpaces, String(line[line.index(after: colon)...]).trimmingSpaces))
        }
        return headers.map { ($0.name, MailEncoding.decodeHeaderValue($0.value)) }
    }

    /// The bodies between `--boundary` lines (preamble and epilogue dropped).
    static func splitParts(_ body: ArraySlice<UInt8>, boundary: String) -> [ArraySlice<UInt8>] {
        let marker = Array(("--" + boundary).utf8)
        var starts: [(lineStart: Int, contentStart: Int, closing: Bool)] = []
        var index = body.startIndex
        var lineStart = body.startIndex
        while index <= body.endIndex {
            if index == body.endIndex || body[index] == 10 {
                let line = body[lineStart..<index]
                if line.starts(with: marker) {
                    let closing = line.dropFirst(marker.count).starts(with: [45, 45])
                    starts.append((lineStart, min(index + 1, body.endIndex), closing))
                    if closing { break }
                }
                lineStart = index + 1
            }
            index += 1
        }
        var parts: [ArraySlice<UInt8>] = []
        for (position, start) in starts.enumerated() where !start.closing {
            var end = position + 1 < starts.count ? starts[position + 1].lineStart : body.endIndex
            // The line break before a boundary belongs to the boundary.
            if end > start.contentStart, body[end - 1] == 10 { end -= 1 }
            if end > start.contentStart, body[end - 1] == 13 { end -= 1 }
            parts.append(body[start.contentStart..<max(start.contentStart, end)])
        }
        return parts
    }
}
