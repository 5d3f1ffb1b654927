import Contracts
import Foundation
import OutboundHTTP

/// GitHub: pull requests the user authored or is asked to review and issues assigned to them,
/// through search (newest update first, 100 a page). Each search's first page is asked with
/// `If-None-Match`: a 304 (which costs no rate limit) means nothing changed. Pages are read
/// until one is older than the last pass. Search shows closed and merged ones too, so a state
/// change is seen.
public struct GitHubSync: ConnectorSyncer {
    let api: String
    let login: String

    public init(api: String, login: String) {
        self.api = api
        self.login = login
    }

    /// The searches, by what they mean for the user.
    var searches: [(role: String, query: String)] {
        [
            ("authored", "is:pr author:\(login)"), ("review_requested", "is:pr review-requested:\(login)"),
            ("assigned", "is:issue assignee:\(login)"),
        ]
    }

    struct SearchResult: Decodable {
        let items: [Item]?
    }

    struct Item: Decodable {
        struct User: Decodable { let login: String? }
        struct PullRequest: Decodable { let merged_at: String? }
        struct Label: Decodable { let name: String? }

        let number: Int
        let title: String?
        let state: String?
        let html_url: String?
        let repository_url: String?
        let updated_at: String?
        let created_at: String?
        let user: User?
        let assignees: [User]?
        let pull_request: PullRequest?
        let draft: Bool?
        let labels: [Label]?
    }

    public func next(_ cursor: SyncCursor, session: ProviderSession) async throws(ConnectorFailure) -> SyncPage {
        var cursor = cursor
        let since = cursor.phase == .incremental ? cursor.token.flatMap(ProviderTime.rfc3339) : nil
        var found: [String: (Item, Set<String>)] = [:]
        var latest = since
        for (role, query) in searches {
            var url: String? =
                "\(api)/search/issues?" + Query.string([("q", query), ("sort", "updated"), ("order", "desc"), ("per_page", "100")])
            var first = true
            pages: while let pageURL = url {
                var headers: [(name: String, value: String)] = []
                if first, cursor.phase == .incremental, let etag = cursor.state["etag:\(role)"] { headers.append(("If-None-Match", etag)) }
                let response = try await session.send(OutboundRequest(url: pageURL, headers: headers))
                if response.status == 304 { break }
                if first, let etag = response.header("etag") { cursor.state["etag:\(role)"] = etag }
                first = false
                let result = try ProviderSession.decode(SearchResult.self, response, from: pageURL)
                for item in result.items ?? [] {
                    let updated = ProviderTime.rfc3339(item.updated_at)
                    if let since, let updated, updated < since.addingTimeInterval(-60) { break pages }
                    if let updated, latest.map({ updated > $0 }) ?? true { latest = updated }
                    let id = Self.sourceID(item)
                    found[id, default: (item, [])].1.insert(role)
                    found[id]?.0 = item
                }
                url = Self.nextLink(response.header("link"))
            }
        }
        let changes = found.values.sorted { $0.0.number < $1.0.number }.map { ItemChange.upsert(Self.record($0.0, roles: $0.1)) }
        let wasFull = cursor.phase == .full
        cursor.phase = .incremental
        cursor.page = nil
        cursor.token = latest.map(ProviderTime.string) ?? cursor.token
        if wasFull { cursor.lastFullAt = Clock.milliseconds() }
        return SyncPage(changes: changes, cursor: cursor, done: true)
    }

    /// `owner/repo#number`.
    static func sourceID(_ item: Item) -> String {
        let repo = (item.repository_url ?? "").components(separatedBy: "/repos/").last ?? ""
        return "\(repo)#\(item.number)"
    }

    /// The `rel="next"` URL of a `link` header.
    static func nextLink(_ header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ",") where part.contains("rel=\"next\"") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">") else { continue }
            return String(part[part.index(after: open)..<close])
        }
        return nil
    }

    static func record(_ item: Item, roles: Set<String>) -> SyncedItem {
        let isPull = item.pull_request != nil
        var details: [String: JSONValue] = [
            "number": .integer(Int64(item.number)), "repo": .string(sourceID(item).components(separatedBy: "#").first ?? ""),
            "labels": .array((item.labels ?? []).compactMap { $0.name.map { .string($0) } }),
        ]
        for role in roles { details[role] = .bool(true) }
        if let merged = item.pull_request?.merged_at { details["merged_at"] = .string(merged) }
        if item.draft == true { details["draft"] = .bool(true) }
        let state = item.pull_request?.merged_at != nil ? "merged" : (item.state ?? "open")
        return SyncedItem(
            type: isPull ? "pull_request" : "issue", sourceID: sourceID(item), title: item.title ?? "",
            people: [
                "author": .string(item.user?.login ?? ""),
                "assignees": .array((item.assignees ?? []).compactMap { $0.login.map { .string($0) } }),
            ],
            occurredAt: ProviderTime.rfc3339(item.updated_at), updatedAt: ProviderTime.rfc3339(item.updated_at), link: item.html_url,
            status: state, details: details)
    }
}
