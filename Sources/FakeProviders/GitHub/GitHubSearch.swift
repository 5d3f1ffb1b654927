/// The qualifiers of `GET /search/issues` a connector uses: `is:`/`type:`/`state:`, `author:`,
/// `assignee:`, `review-requested:`, `user-review-requested:@me`, `involves:`, `mentions:`,
/// `repo:`, `org:`/`user:`, `label:`, `head:`, `base:`, `no:assignee`, `created:`/`updated:`
/// comparisons, `archived:`, and free words in the title and body (`in:title`, `in:body`).
struct GitHubSearch {
    private var checks: [(GitHubIssue, GitHubRepo) -> Bool] = []

    init(_ query: String, me: String) {
        for token in MailSearch.tokens(query) {
            var text = token
            var negated = false
            if text.hasPrefix("-"), text.count > 1 {
                negated = true
                text.removeFirst()
            }
            let check = Self.check(text, me: me)
            checks.append(negated ? { !check($0, $1) } : check)
        }
    }

    func matches(_ issue: GitHubIssue, repo: GitHubRepo) -> Bool { checks.allSatisfy { $0(issue, repo) } }

    private static func check(_ token: String, me: String) -> (GitHubIssue, GitHubRepo) -> Bool {
        guard let colon = token.firstIndex(of: ":") else {
            let word = token.lowercased()
            return { issue, _ in issue.title.lowercased().contains(word) || (issue.body ?? "").lowercased().contains(word) }
        }
        let name = token[..<colon].lowercased()
        var value = String(token[token.index(after: colon)...])
        if value == "@me" { value = me }
        let lower = value.lowercased()
        switch name {
        case "is", "type", "state":
            switch lower {
            case "pr", "pull-request": return { issue, _ in issue.isPull }
            case "issue": return { issue, _ in !issue.isPull }
            case "open": return { issue, _ in issue.state == "open" }
            case "closed": return { issue, _ in issue.state == "closed" }
            case "merged": return { issue, _ in issue.pull?.merged == true }
            case "unmerged": return { issue, _ in issue.isPull && issue.pull?.merged != true && issue.state == "closed" }
            case "draft": return { issue, _ in issue.pull?.draft == true }
            case "public": return { _, _ in false }
            case "private": return { _, _ in true }
            default: return { _, _ in true }
            }
        case "author": return { issue, _ in issue.author.lowercased() == lower }
        case "assignee": return { issue, _ in issue.assignees.contains { $0.lowercased() == lower } }
        case "review-requested", "user-review-requested":
            return { issue, _ in issue.pull?.requestedReviewers.contains { $0.lowercased() == lower } ?? false }
        case "reviewed-by": return { _, _ in false }
        case "mentions": return { issue, _ in (issue.body ?? "").lowercased().contains("@" + lower) }
        case "commenter": return { issue, _ in issue.comments.contains { $0.author.lowercased() == lower } }
        case "involves":
            return { issue, _ in
                issue.author.lowercased() == lower || issue.assignees.contains { $0.lowercased() == lower }
                    || (issue.pull?.requestedReviewers.contains { $0.lowercased() == lower } ?? false)
                    || issue.comments.contains { $0.author.lowercased() == lower } || (issue.body ?? "").lowercased().contains("@" + lower)
            }
        case "repo": return { _, repo in repo.fullName.lowercased() == lower }
        case "org", "user": return { _, repo in repo.owner.lowercased() == lower }
        case "label": return { issue, _ in issue.labels.contains { $0.lowercased() == lower.trimmingQuotes } }
        case "head": return { issue, _ in issue.pull?.headRef.lowercased() == lower }
        case "base": return { issue, _ in issue.pull?.baseRef.lowercased() == lower }
        case "no":
            switch lower {
            case "assignee": return { issue, _ in issue.assignees.isEmpty }
            case "label": return { issue, _ in issue.labels.isEmpty }
            default: return { _, _ in true }
            }
        case "archived": return { _, _ in lower == "false" }
        case "in": return { _, _ in true }
        case "created", "updated", "closed":
            let ops = [">=", "<=", ">", "<"]
            let op = ops.first { lower.hasPrefix($0) } ?? "="
            let date = String(lower.dropFirst(op == "=" ? 0 : op.count))
            guard let bound = Timestamps.parseRFC3339(date) ?? Timestamps.parseDate(String(date.prefix(10))) else {
                return { _, _ in false }
            }
            return { issue, _ in
                let actual = name == "created" ? issue.created : name == "updated" ? issue.updated : (issue.closedAt ?? -1)
                switch op {
                case ">=": return actual >= bound
                case "<=": return actual <= bound + 86_399_999
                case ">": return actual > bound + (date.count <= 10 ? 86_399_999 : 0)
                case "<": return actual < bound
                default: return actual >= bound && actual < bound + 86_400_000
                }
            }
        default: return { _, _ in true }
        }
    }
}
