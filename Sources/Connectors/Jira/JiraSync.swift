import Contracts
import Foundation

/// Jira Cloud: the issues assigned to, reported by or watched by the user, through
/// `/search/jql`, oldest update first, paged with `nextPageToken`. Incremental passes ask for
/// what changed since the last update seen (a minute of overlap: records are written once per
/// issue however often they are read). Search does not show deleted issues, so a full pass runs
/// again every `fullEvery` and removes what it no longer finds.
public struct JiraSync: ConnectorSyncer {
    let base: String
    let site: String
    let fullEvery: TimeInterval

    /// - Parameters:
    ///   - gateway: the API gateway (`https://api.atlassian.com`).
    ///   - cloudID: the site's cloud id (from the accessible resources).
    ///   - site: the site's URL, for links.
    public init(gateway: String, cloudID: String, site: String, fullEvery: TimeInterval = 86_400) {
        base = "\(gateway)/ex/jira/\(Query.encode(cloudID))/rest/api/3"
        self.site = site
        self.fullEvery = fullEvery
    }

    static let fields = "summary,status,assignee,reporter,priority,duedate,updated,created,labels,issuetype"

    struct SearchResult: Decodable {
        let issues: [Issue]?
        let nextPageToken: String?
        let isLast: Bool?
    }

    struct Issue: Decodable {
        struct Fields: Decodable {
            struct Named: Decodable { let name: String? }
            struct Status: Decodable {
                struct Category: Decodable { let key: String? }
                let name: String?
                let statusCategory: Category?
            }
            struct Person: Decodable {
                let accountId: String?
                let displayName: String?
                let emailAddress: String?
            }

            let summary: String?
            let status: Status?
            let assignee: Person?
            let reporter: Person?
            let priority: Named?
            let duedate: String?
            let updated: String?
            let created: String?
            let labels: [String]?
            let issuetype: Named?
        }

        let id: String
        let key: String
        let fields: Fields?
    }

    public func next(_ cursor: SyncCursor, session: ProviderSession) async throws(ConnectorFailure) -> SyncPage {
        var cursor = cursor
        if cursor.phase == .incremental && Date().timeIntervalSince1970 - Double(cursor.lastFullAt) / 1000 > fullEvery && cursor.page == nil
        {
            cursor = SyncCursor(phase: .full, state: ["last_update": cursor.token ?? ""], generation: Clock.milliseconds())
        }
        var jql = "(assignee = currentUser() OR reporter = currentUser() OR watcher = currentUser())"
        if cursor.phase == .incremental, let since = cursor.token.flatMap(ProviderTime.rfc3339) {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy/MM/dd HH:mm"
            jql += " AND updated >= \"\(formatter.string(from: since.addingTimeInterval(-60)))\""
        }
        jql += " ORDER BY updated ASC"
        let result = try await session.get(
            base + "/search/jql?"
                + Query.string([("jql", jql), ("maxResults", "100"), ("fields", Self.fields), ("nextPageToken", cursor.page)]),
            as: SearchResult.self)
        let issues = result.issues ?? []
        var latest = cursor.token.flatMap(ProviderTime.rfc3339) ?? cursor.state["last_update"].flatMap(ProviderTime.rfc3339)
        for issue in issues {
            if let updated = ProviderTime.jira(issue.fields?.updated), latest.map({ updated > $0 }) ?? true { latest = updated }
        }
        let changes = issues.map { ItemChange.upsert(item($0)) }
        if let next = result.nextPageToken, result.isLast != true {
            cursor.page = next
            if cursor.phase == .incremental { cursor.token = latest.map(ProviderTime.string) ?? cursor.token }
            return SyncPage(changes: changes, cursor: cursor, done: false)
        }
        let wasFull = cursor.phase == .full
        return SyncPage(
            changes: changes,
            cursor: SyncCursor(
                phase: .incremental, token: latest.map(ProviderTime.string) ?? cursor.token, generation: cursor.generation,
                lastFullAt: wasFull ? Clock.milliseconds() : cursor.lastFullAt),
            done: true)
    }

    func item(_ issue: Issue) -> SyncedItem {
        let fields = issue.fields
        func person(_ person: Issue.Fields.Person?) -> JSONValue {
            guard let person else { return .null }
            return .string(person.emailAddress ?? person.displayName ?? person.accountId ?? "")
        }
        var details: [String: JSONValue] = ["key": .string(issue.key), "labels": .array((fields?.labels ?? []).map { .string($0) })]
        if let category = fields?.status?.statusCategory?.key { details["status_category"] = .string(category) }
        if let priority = fields?.priority?.name { details["priority"] = .string(priority) }
        if let due = fields?.duedate { details["due"] = .string(due) }
        if let type = fields?.issuetype?.name { details["issue_type"] = .string(type) }
        return SyncedItem(
            type: "ticket", sourceID: issue.id, title: fields?.summary ?? issue.key,
            people: ["assignee": person(fields?.assignee), "reporter": person(fields?.reporter)],
            occurredAt: ProviderTime.jira(fields?.updated), updatedAt: ProviderTime.jira(fields?.updated),
            link: "\(site)/browse/\(issue.key)",
            status: fields?.status?.name, details: details)
    }
}
