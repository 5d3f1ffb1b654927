import Contracts
import Foundation
import OutboundHTTP

/// A synced item as the classifier reads it at its source: the text a sync does not keep
/// (a message's body, a ticket's description), read for one job and dropped.
public struct ItemContent: Sendable, Equatable {
    public var title: String
    public var body: String
    /// Mail: the sender and recipients as the headers name them.
    public var from: String
    public var to: [String]
    public var cc: [String]
    /// Mail: headers by lowercased name (`list-unsubscribe`, `auto-submitted`, `precedence`, ...).
    public var headers: [String: String]
    /// Drive: the file's labels.
    public var labels: [String]
    /// Jira: the security level.
    public var securityLevel: String?

    public init(
        title: String, body: String, from: String = "", to: [String] = [], cc: [String] = [], headers: [String: String] = [:],
        labels: [String] = [], securityLevel: String? = nil
    ) {
        self.title = title
        self.body = body
        self.from = from
        self.to = to
        self.cc = cc
        self.headers = headers
        self.labels = labels
        self.securityLevel = securityLevel
    }
}

/// A stored item to read: its provider id and the facts its sync kept.
public struct ItemReference: Sendable {
    public var sourceID: String
    public var type: String
    public var details: [String: JSONValue]

    public init(sourceID: String, type: String, details: [String: JSONValue]) {
        self.sourceID = sourceID
        self.type = type
        self.details = details
    }
}

/// Reads items' content at a connector's provider.
public protocol ContentReader: Sendable {
    /// The content of each of `items`, in their order; nil where the item is gone.
    func read(_ items: [ItemReference], session: ProviderSession) async throws(ConnectorFailure) -> [ItemContent?]
}

/// Text as long as a classifier reads: the first `limit` bytes, cut at a character.
enum ContentText {
    static let limit = 256 * 1024

    static func clip(_ text: String) -> String {
        guard text.utf8.count > limit else { return text }
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: limit)
        while end > text.startIndex && !text.unicodeScalars.indices.contains(end) { end = text.utf8.index(before: end) }
        return String(text[..<end])
    }

    /// The text of HTML: tags dropped, the common entities read, runs of space kept short.
    static func fromHTML(_ html: String) -> String {
        var out = ""
        out.reserveCapacity(html.utf8.count)
        var inTag = false
        for character in html {
            if character == "<" {
                inTag = true
                out.append(" ")
            } else if character == ">" {
                inTag = false
            } else if !inTag {
                out.append(character)
            }
        }
        for (entity, value) in [("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")] {
            out = out.replacingOccurrences(of: entity, with: value)
        }
        return out
    }

    /// Every `text` of an Atlassian document (ADF), in order, paragraphs on their own lines.
    static func fromDocument(_ value: JSONValue) -> String {
        var parts: [String] = []
        func walk(_ node: JSONValue) {
            switch node {
            case .string(let text): parts.append(text)
            case .object(let object):
                if case .string(let text)? = object["text"] { parts.append(text) }
                if case .array(let children)? = object["content"] {
                    children.forEach(walk)
                    if object["type"]?.stringValue == "paragraph" { parts.append("\n") }
                }
            case .array(let children): children.forEach(walk)
            default: break
            }
        }
        walk(value)
        return parts.joined(separator: " ")
    }
}

extension ProviderSession {
    /// `body` for each of `items`, at most `concurrency` at once, results in their order.
    func eachConcurrently<T: Sendable>(
        _ count: Int, concurrency: Int, _ body: @escaping @Sendable (Int) async throws(ConnectorFailure) -> T
    ) async throws(ConnectorFailure) -> [T] {
        do {
            return try await withThrowingTaskGroup(of: (Int, T).self) { group in
                var results = [T?](repeating: nil, count: count)
                var next = 0
                func add() {
                    let index = next
                    next += 1
                    group.addTask { (index, try await body(index)) }
                }
                for _ in 0..<min(max(1, concurrency), count) { add() }
                while let (index, value) = try await group.next() {
                    results[index] = value
                    if next < count { add() }
                }
                return results.map { $0! }
            }
        } catch let failure as ConnectorFailure {
            throw failure
        } catch {
            throw .retry("\(error)")
        }
    }

    /// GETs `url` as JSON; nil when the provider says it is gone.
    func getIfPresent(_ url: String) async throws(ConnectorFailure) -> JSONValue? {
        do throws(ConnectorFailure) {
            let response = try await send(OutboundRequest(url: url))
            guard let value = JSONValue.parse(response.body) else {
                throw ConnectorFailure.fail("\(Self.redacted(url)) answered what is not JSON")
            }
            return value
        } catch {
            if case .notFound = error { return nil }
            throw error
        }
    }
}
