/// Control routes for Jira.
extension ControlService {
    /// An account id from an address, a display name or an account id.
    func accountId(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        if let person = world.directory.person(text) { return person.accountId }
        if world.directory.person(accountId: text) != nil { return text }
        return world.directory.staff.first { $0.name.lowercased() == text.lowercased() }?.accountId
    }

    /// Applies the control fields to an issue.
    func apply(_ body: JSON, to issue: inout JiraIssue, now: Int64) -> String? {
        if let summary = body["summary"]?.stringValue { issue.summary = summary }
        if let value = body["assignee"] {
            if value.isNull {
                issue.assignee = nil
            } else if let id = accountId(value.stringValue) {
                issue.assignee = id
            } else {
                return "unknown assignee"
            }
        }
        if let value = body["reporter"]?.stringValue {
            guard let id = accountId(value) else { return "unknown reporter" }
            issue.reporter = id
        }
        if let list = body["watchers"]?.stringArray {
            let ids = list.compactMap { accountId($0) }
            guard ids.count == list.count else { return "unknown watcher" }
            issue.watchers = ids
        }
        if let value = body["duedate"] { issue.duedate = value.stringValue }
        if let value = body["priority"] {
            if value.isNull {
                issue.priorityId = nil
            } else if let id = value.stringValue.flatMap(JiraPriority.named) {
                issue.priorityId = id
            } else {
                return "unknown priority"
            }
        }
        if let labels = body["labels"]?.stringArray { issue.labels = labels }
        if let type = body["type"]?.stringValue {
            guard let parsed = JiraIssueType(rawValue: type.capitalized) else { return "unknown type" }
            issue.issueType = parsed
        }
        if let status = body["status"]?.stringValue {
            guard let parsed = JiraStatus.named(status) else { return "unknown status" }
            issue.statusId = parsed.id
            issue.statusChanged = now
            issue.resolutionDate = parsed.categoryKey == "done" ? now : nil
        }
        if let description = body["description"] {
            issue.description = description.stringValue.map(ADF.document) ?? (description.isNull ? nil : description)
        }
        return nil
    }

    func jiraCreate(_ request: ProviderRequest) -> ProviderResponse {
        guard case .success(let body) = Self.body(request), body["summary"]?.stringValue != nil else {
            return Self.error("needs a summary")
        }
        let now = world.clock.nowMillis
        let (id, key) = world.jira.allocate()
        let reporter = accountId(body["reporter"]?.stringValue) ?? world.directory.users.first?.accountId
        var issue = JiraIssue(
            id: id, key: key, projectKey: world.jira.projectKey, summary: "", description: nil, issueType: .task,
            statusId: JiraStatus.toDo.id,
            priorityId: "3", assignee: nil, reporter: reporter, creator: reporter, watchers: reporter.map { [$0] } ?? [], labels: [],
            duedate: nil,
            created: now, updated: now, resolutionDate: nil, statusChanged: now, comments: [])
        if let problem = apply(body, to: &issue, now: now) { return Self.error(problem) }
        world.jira.insert(issue)
        world.webhooks.jiraIssue(
            "jira:issue_created", typeName: "issue_created", before: nil, after: issue, actor: reporter, representation: siteRepresentation,
            now: now)
        return .json(.object([("id", .string(String(id))), ("key", .string(key))]))
    }

    func jiraUpdate(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard case .success(let body) = Self.body(request) else { return Self.error("the body must be a JSON object") }
        let now = world.clock.nowMillis
        var problem: String?
        guard let before = world.jira.issue(parameters[0]) else { return Self.error("no issue \(parameters[0])", status: 404) }
        guard let issue = world.jira.update(parameters[0], { issue, _ in problem = apply(body, to: &issue, now: now) }) else {
            return Self.error("no issue \(parameters[0])", status: 404)
        }
        if let problem { return Self.error(problem) }
        world.webhooks.jiraIssue(
            "jira:issue_updated", typeName: "issue_generic", before: before, after: issue, actor: issue.reporter,
            representation: siteRepresentation,
            now: now)
        return .json(.object([("id", .string(String(issue.id))), ("key", .string(issue.key))]))
    }

    func jiraDelete(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let issue = world.jira.issue(parameters[0]), world.jira.delete(parameters[0]) else {
            return Self.error("no issue \(parameters[0])", status: 404)
        }
        world.webhooks.jiraIssue(
            "jira:issue_deleted", typeName: "issue_deleted", before: nil, after: issue, actor: issue.reporter,
            representation: siteRepresentation,
            now: world.clock.nowMillis)
        return Self.ok
    }

    private var siteRepresentation: JiraRepresentation {
        JiraRepresentation(base: world.baseURLs[.jira], directory: world.directory, store: world.jira)
    }

    func jiraGet(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let issue = world.jira.issue(parameters[0]) else { return Self.error("no issue \(parameters[0])", status: 404) }
        let representation = JiraRepresentation(base: world.baseURLs[.jira], directory: world.directory, store: world.jira)
        var json = representation.issue(issue, fields: JiraRepresentation.navigable, viewer: nil)
        json = json.setting("status", .string(issue.status.name))
        let comments: [JSON] = issue.comments.map { comment in
            .object([
                ("id", .string(comment.id)),
                ("author", .string(world.directory.person(accountId: comment.author)?.email ?? comment.author)),
                ("body", comment.body), ("text", .string(ADF.text(comment.body))), ("created", .string(Timestamps.jira(comment.created))),
            ])
        }
        return .json(json.setting("comments", .array(comments)))
    }
}
