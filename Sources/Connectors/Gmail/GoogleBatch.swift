import Contracts
import Foundation
import OutboundHTTP

/// Google's batch requests: up to 100 calls of one API in one HTTP exchange
/// (`POST /batch/<api>/<version>`, `multipart/mixed`), each call answered by a whole HTTP
/// response of its own, paired to its call by `Content-ID`. A batch saves round trips, not
/// quota: every call counts as a request of its own.
public enum GoogleBatch {
    /// The most calls Google takes in one batch.
    public static let maxCalls = 100

    /// The body of a batch of GETs of `targets` (each a path and query, e.g.
    /// `/gmail/v1/users/me/messages/1?format=metadata`), with `boundary`.
    public static func body(gets targets: [String], boundary: String) -> [UInt8] {
        var text = ""
        text.reserveCapacity(targets.count * 160)
        for (index, target) in targets.enumerated() {
            text += "--\(boundary)\r\nContent-Type: application/http\r\nContent-ID: <item\(index)>\r\n\r\nGET \(target) HTTP/1.1\r\n\r\n"
        }
        text += "--\(boundary)--\r\n"
        return Array(text.utf8)
    }

    /// The answers of a batch response, in the order of the calls; a call the response does
    /// not answer is nil.
    public static func answers(_ response: OutboundResponse, calls: Int) -> [OutboundResponse?]? {
        guard let contentType = response.header("Content-Type"), let boundary = Self.boundary(of: contentType) else { return nil }
        var answers = [OutboundResponse?](repeating: nil, count: calls)
        for part in Multipart.parts(response.body[...], boundary: boundary) {
            let (partHeaders, inner) = Multipart.headers(part)
            guard let id = partHeaders.first(where: { $0.name.lowercased() == "content-id" })?.value,
                let index = callIndex(id), (0..<calls).contains(index),
                let answer = httpResponse(inner)
            else { continue }
            answers[index] = answer
        }
        return answers
    }

    /// The `boundary` parameter of a multipart content type.
    static func boundary(of contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            return value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 ? String(value.dropFirst().dropLast()) : value
        }
        return nil
    }

    /// `<response-item7>` → 7.
    static func callIndex(_ contentID: String) -> Int? {
        var text = Substring(contentID.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("<") && text.hasSuffix(">") { text = text.dropFirst().dropLast() }
        if text.hasPrefix("response-") { text = text.dropFirst("response-".count) }
        if text.hasPrefix("item") { text = text.dropFirst(4) }
        return Int(text)
    }

    /// An HTTP/1.1 response written out in full (status line, headers, empty line, body).
    static func httpResponse(_ bytes: ArraySlice<UInt8>) -> OutboundResponse? {
        let (lines, body) = Multipart.lines(bytes)
        guard let statusLine = lines.first else { return nil }
        let words = statusLine.split(separator: " ", maxSplits: 2)
        guard words.count >= 2, words[0].hasPrefix("HTTP/"), let status = Int(words[1]) else { return nil }
        let headers = lines.dropFirst().compactMap(Multipart.header)
        return OutboundResponse(status: status, headers: headers, body: Array(body))
    }
}

/// `multipart/*` bodies (RFC 2046): parts between `--boundary` lines, each a header block, an
/// empty line and content.
enum Multipart {
    /// The parts of `body` (their header blocks and content), without the final CRLF before
    /// each delimiter.
    static func parts(_ body: ArraySlice<UInt8>, boundary: String) -> [ArraySlice<UInt8>] {
        let delimiter = Array("--\(boundary)".utf8)
        var starts: [(delimiterStart: Int, contentStart: Int)] = []
        var index = body.startIndex
        while let found = find(delimiter, in: body, from: index) {
            // A delimiter starts a line.
            guard found == body.startIndex || body[found - 1] == 10 else {
                index = found + 1
                continue
            }
            var after = found + delimiter.count
            let closing = after + 1 < body.endIndex && body[after] == 45 && body[after + 1] == 45
            while after < body.endIndex && body[after] != 10 { after += 1 }
            starts.append((found, min(after + 1, body.endIndex)))
            if closing { break }
            index = after
        }
        var parts: [ArraySlice<UInt8>] = []
        for (position, start) in starts.enumerated().dropLast() {
            var end = starts[position + 1].delimiterStart
            if end > start.contentStart && body[end - 1] == 10 { end -= 1 }
            if end > start.contentStart && body[end - 1] == 13 { end -= 1 }
            parts.append(body[start.contentStart..<max(start.contentStart, end)])
        }
        return parts
    }

    /// A part's header lines as pairs, and what follows the empty line.
    static func headers(_ part: ArraySlice<UInt8>) -> (headers: [(name: String, value: String)], content: ArraySlice<UInt8>) {
        let (lines, content) = lines(part)
        return (lines.compactMap(header), content)
    }

    /// The lines up to the first empty line (CRLF or LF), and the bytes after it.
    static func lines(_ bytes: ArraySlice<UInt8>) -> (lines: [String], rest: ArraySlice<UInt8>) {
        var lines: [String] = []
        var start = bytes.startIndex
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard bytes[index] == 10 else {
                index += 1
                continue
            }
            var end = index
            if end > start && bytes[end - 1] == 13 { end -= 1 }
            if end == start { return (lines, bytes[(index + 1)...]) }
            lines.append(String(decoding: bytes[start..<end], as: UTF8.self))
            index += 1
            start = index
        }
        if start < bytes.endIndex { lines.append(String(decoding: bytes[start...], as: UTF8.self)) }
        return (lines, bytes[bytes.endIndex...])
    }

    static func header(_ line: String) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }

    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>, from: Int) -> Int? {
        guard let first = needle.first, haystack.endIndex - from >= needle.count else { return nil }
        var index = from
        let last = haystack.endIndex - needle.count
        while index <= last {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
