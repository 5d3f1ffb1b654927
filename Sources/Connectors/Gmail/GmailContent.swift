import Contracts
import Foundation
import OutboundHTTP

/// Reads messages whole (`format=full`) in batch requests: headers, and the text of the body
/// (its `text/plain` parts, or the text of its HTML when it has none; attachments are not read).
public struct GmailContent: ContentReader {
    let host: String
    let batchSize: Int
    let concurrency: Int

    public init(host: String, batchSize: Int = 50, concurrency: Int = 4) {
        self.host = host
        self.batchSize = batchSize
        self.concurrency = concurrency
    }

    struct Message: Decodable {
        let id: String
        let payload: Part?
    }

    struct Part: Decodable {
        struct Header: Decodable {
            let name: String
            let value: String
        }

        struct Body: Decodable { let data: String? }

        let mimeType: String?
        let filename: String?
        let headers: [Header]?
        let body: Body?
        let parts: [Part]?
    }

    public func read(_ items: [ItemReference], session: ProviderSession) async throws(ConnectorFailure) -> [ItemContent?] {
        let path = "/gmail/v1/users/me/messages/"
        let ids = items.map(\.sourceID)
        return try await session.batchGetAll(
            host: host, batchPath: "/batch/gmail/v1", ids.map { path + Query.encode($0) + "?format=full" }, batchSize: batchSize,
            concurrency: concurrency
        ) { index, answer throws(ConnectorFailure) in
            guard let answer else { return nil }
            return Self.content(try ProviderSession.decode(Message.self, answer, from: path + ids[index]))
        }
    }

    static func content(_ message: Message) -> ItemContent {
        var headers: [String: String] = [:]
        for header in message.payload?.headers ?? [] where headers[header.name.lowercased()] == nil {
            headers[header.name.lowercased()] = header.value
        }
        var plain: [String] = []
        var html: [String] = []
        func walk(_ part: Part) {
            let type = (part.mimeType ?? "").lowercased()
            if let children = part.parts {
                children.forEach(walk)
                return
            }
            guard part.filename?.isEmpty ?? true, let data = part.body?.data, let bytes = Base64URL.decode(data) else { return }
            if type == "text/plain" {
                plain.append(String(decoding: bytes, as: UTF8.self))
            } else if type == "text/html" {
                html.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        if let payload = message.payload { walk(payload) }
        let body = plain.isEmpty ? html.map(ContentText.fromHTML).joined(separator: "\n") : plain.joined(separator: "\n")
        return ItemContent(
            title: headers["subject"] ?? "", body: ContentText.clip(body), from: headers["from"] ?? "",
            to: Addresses.split(headers["to"] ?? ""), cc: Addresses.split(headers["cc"] ?? ""), headers: headers)
    }
}

/// Base64 with the URL-safe alphabet, padded or not (Gmail's `body.data`).
public enum Base64URL {
    public static func decode(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard = standard.filter { !$0.isWhitespace }
        while standard.utf8.count % 4 != 0 { standard.append("=") }
        return Data(base64Encoded: standard).map { Array($0) }
    }
}
