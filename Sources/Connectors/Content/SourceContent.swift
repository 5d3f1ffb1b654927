import Contracts
import Foundation
import OutboundHTTP

/// Jira: an issue's summary, description (its Atlassian document's text) and security level.
public struct JiraContent: ContentReader {
    let base: String
    let concurrency: Int

    public init(gateway: String, cloudID: String, concurrency: Int = 4) {
        base = "\(gateway)/ex/jira/\(Query.encode(cloudID))/rest/api/3"
        self.concurrency = concurrency
    }

    public func read(_ items: [ItemReference], session: ProviderSession) async throws(ConnectorFailure) -> [ItemContent?] {
        let base = self.base
        return try await session.eachConcurrently(items.count, concurrency: concurrency) { index throws(ConnectorFailure) in
            let url = base + "/issue/" + Query.encode(items[index].sourceID) + "?fields=summary,description,security,labels"
            guard let issue = try await session.getIfPresent(url)?.objectValue, let fields = issue["fields"]?.objectValue else {
                return nil
            }
            let security = fields["security"]?.objectValue?["name"]?.stringValue
            return ItemContent(
                title: fields["summary"]?.stringValue ?? "",
                body: ContentText.clip(fields["description"].map(ContentText.fromDocument) ?? ""),
                securityLevel: security)
        }
    }
}

/// GitHub: an issue's or pull request's title and body (`owner/repo#12`).
public struct GitHubContent: ContentReader {
    let api: String
    let concurrency: Int

    public init(api: String, concurrency: Int = 4) {
        self.api = api
        self.concurrency = concurrency
    }

    public func read(_ items: [ItemReference], session: ProviderSession) async throws(ConnectorFailure) -> [ItemContent?] {
        let api = self.api
        return try await session.eachConcurrently(items.count, concurrency: concurrency) { index throws(ConnectorFailure) in
            let parts = items[index].sourceID.split(separator: "#", maxSplits: 1)
            guard parts.count == 2, let number = Int(parts[1]) else { return nil }
            let repo = parts[0].split(separator: "/").map { Query.encode(String($0)) }.joined(separator: "/")
            guard let issue = try await session.getIfPresent("\(api)/repos/\(repo)/issues/\(number)")?.objectValue else { return nil }
            return ItemContent(title: issue["title"]?.stringValue ?? "", body: ContentText.clip(issue["body"]?.stringValue ?? ""))
        }
    }
}

/// Calendar: an event's summary, description and location.
public struct CalendarContent: ContentReader {
    let base: String
    let concurrency: Int

    public init(host: String, concurrency: Int = 4) {
        base = host + "/calendar/v3/calendars/primary/events/"
        self.concurrency = concurrency
    }

    public func read(_ items: [ItemReference], session: ProviderSession) async throws(ConnectorFailure) -> [ItemContent?] {
        let base = self.base
        return try await session.eachConcurrently(items.count, concurrency: concurrency) { index throws(ConnectorFailure) in
            guard let event = try await session.getIfPresent(base + Query.encode(items[index].sourceID))?.objectValue,
                event["status"]?.stringValue != "cancelled"
            else { return nil }
            let body = [event["description"]?.stringValue, event["location"]?.stringValue].compactMap { $0 }.joined(separator: "\n")
            return ItemContent(title: event["summary"]?.stringValue ?? "", body: ContentText.clip(body))
        }
    }
}

/// Drive: a file's name and labels, and a Google document's text (exported as plain text).
public struct DriveContent: ContentReader {
    let base: String
    let concurrency: Int
    let exportLimit: Int

    public init(host: String, concurrency: Int = 4, exportLimit: Int = 1 << 20) {
        base = host + "/drive/v3/files/"
        self.concurrency = concurrency
        self.exportLimit = exportLimit
    }

    public func read(_ items: [ItemReference], session: ProviderSession) async throws(ConnectorFailure) -> [ItemContent?] {
        let (base, limit) = (self.base, exportLimit)
        return try await session.eachConcurrently(items.count, concurrency: concurrency) { index throws(ConnectorFailure) -> ItemContent? in
            let id = Query.encode(items[index].sourceID)
            guard let file = try await session.getIfPresent(base + id + "?fields=name,mimeType,trashed,labelInfo")?.objectValue,
                file["trashed"] != .bool(true)
            else { return nil }
            let labels = (file["labelInfo"]?.objectValue?["labels"]?.arrayValue ?? []).compactMap { label -> String? in
                label.objectValue?["name"]?.stringValue ?? label.objectValue?["id"]?.stringValue
            }
            var body = ""
            if file["mimeType"]?.stringValue == "application/vnd.google-apps.document" {
                do throws(ConnectorFailure) {
                    let text = try await session.send(
                        OutboundRequest(url: base + id + "/export?mimeType=text/plain", maxResponseBytes: limit))
                    body = String(decoding: text.body, as: UTF8.self)
                } catch {
                    if case .notFound = error { return nil }
                    throw error
                }
            }
            return ItemContent(title: file["name"]?.stringValue ?? "", body: ContentText.clip(body), labels: labels)
        }
    }
}
