/// The payloads of the webhooks the fakes send: GitHub `pull_request`, `issues` and
/// `issue_comment`; Jira `jira:issue_created/updated/deleted` and `comment_created`.
extension WebhookSender {
    func githubPullRequest(
        _ action: String, issue: GitHubIssue, repo: GitHubRepo, representation: GitHubRepresentation, sender: String,
        extra: [(String, JSON)] = []
    ) {
        var payload: [(String, JSON)] = [("action", .string(action)), ("number", .int(Int64(issue.number)))]
        payload += extra
        payload += [
            ("pull_request", representation.pull(issue, repo: repo, full: true)), ("repository", representation.repo(repo)),
            ("organization", .object([("login", .string(repo.owner)), ("id", .int(representation.store.orgId))])),
            ("sender", representation.user(sender)),
        ]
        emit(.github, event: "pull_request", payload: .object(payload))
    }

    func githubIssue(_ action: String, issue: GitHubIssue, repo: GitHubRepo, representation: GitHubRepresentation, sender: String) {
        emit(
            .github, event: "issues",
            payload: .object([
                ("action", .string(action)), ("issue", representation.issue(issue, repo: repo)), ("repository", representation.repo(repo)),
                ("sender", representation.user(sender)),
            ]))
    }

    func githubComment(_ comment: GitHubComment, issue: GitHubIssue, repo: GitHubRepo, representation: GitHubRepresentation) {
        emit(
            .github, event: "issue_comment",
            payload: .object([
                ("action", "created"), ("issue", representation.issue(issue, repo: repo)),
                ("comment", representation.comment(comment, issue: issue, repo: repo)), ("repository", representation.repo(repo)),
                ("sender", representation.user(comment.author)),
            ]))
    }

    /// `jira:issue_*` with the changelog of what changed between `before` and `after`.
    func jiraIssue(
        _ event: String, typeName: String, before: JiraIssue?, after: JiraIssue, actor: String?, representation: JiraRepresentation,
        now: Int64
    ) {
        var payload: [(String, JSON)] = [
            ("timestamp", .int(now)), ("webhookEvent", .string(event)), ("issue_event_type_name", .string(typeName)),
            ("user", representation.user(actor)), ("issue", representation.issue(after, fields: JiraRepresentation.navigable, viewer: nil)),
        ]
        if let before {
            var items: [JSON] = []
            func item(_ field: String, _ from: String?, _ fromString: String?, _ to: String?, _ toString: String?) {
                items.append(
                    .object([
                        ("field", .string(field)), ("fieldtype", "jira"), ("fieldId", .string(field)),
                        ("from", from.map { .string($0) } ?? .null),
                        ("fromString", fromString.map { .string($0) } ?? .null), ("to", to.map { .string($0) } ?? .null),
                        ("toString", toString.map { .string($0) } ?? .null),
                    ]))
            }
            if before.statusId != after.statusId { item("status", before.statusId, before.status.name, after.statusId, after.status.name) }
            if before.assignee != after.assignee {
                item(
                    "assignee", before.assignee, before.assignee.flatMap { representation.directory.person(accountId: $0)?.name },
                    after.assignee,
                    after.assignee.flatMap { representation.directory.person(accountId: $0)?.name })
            }
            if before.summary != after.summary { item("summary", nil, before.summary, nil, after.summary) }
            if before.priorityId != after.priorityId {
                item(
                    "priority", before.priorityId, before.priorityId.map(JiraPriority.name), after.priorityId,
                    after.priorityId.map(JiraPriority.name))
            }
            if before.duedate != after.duedate { item("duedate", before.duedate, before.duedate, after.duedate, after.duedate) }
            if before.labels != after.labels {
                item("labels", nil, before.labels.joined(separator: " "), nil, after.labels.joined(separator: " "))
            }
            if !items.isEmpty {
                payload.append(("changelog", .object([("id", .string(String(now % 1_000_000_000))), ("items", .array(items))])))
            }
        }
        emit(.jira, event: event, payload: .object(payload))
    }

    func jiraComment(_ comment: JiraComment, issue: JiraIssue, representation: JiraRepresentation, now: Int64) {
        emit(
            .jira, event: "comment_created",
            payload: .object([
                ("timestamp", .int(now)), ("webhookEvent", "comment_created"),
                ("comment", representation.comment(comment, issueId: issue.id)),
                (
                    "issue",
                    representation.issue(issue, fields: ["summary", "status", "issuetype", "priority", "assignee", "project"], viewer: nil)
                ),
            ]))
    }
}
