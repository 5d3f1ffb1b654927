/// GitHub REST JSON (explicit `null`s where GitHub writes them): users, repositories, issues,
/// pull requests, comments. `api` is the API base URL.
struct GitHubRepresentation {
    let api: String
    let directory: Directory
    let store: GitHubStore
    let now: Int64

    static let web = "https://github.com"

    func userIdentity(_ login: String) -> (id: Int64, type: String) {
        if login.hasSuffix("[bot]") { return (49_699_333, "Bot") }
        if let person = directory.person(githubLogin: login) { return (person.githubId, "User") }
        return (Int64(abs(login.hashValue % 9_000_000)) + 1_000_000, "User")
    }

    func user(_ login: String?) -> JSON {
        guard let login else { return .null }
        let (id, type) = userIdentity(login)
        let url = "\(api)/users/\(login)"
        return .object([
            ("login", .string(login)), ("id", .int(id)), ("node_id", .string("MDQ6VXNlcj" + String(id))),
            ("avatar_url", .string("https://avatars.githubusercontent.com/u/\(id)?v=4")), ("gravatar_id", ""), ("url", .string(url)),
            ("html_url", .string("\(Self.web)/\(login)")), ("followers_url", .string(url + "/followers")),
            ("repos_url", .string(url + "/repos")), ("type", .string(type)), ("user_view_type", "public"), ("site_admin", false),
        ])
    }

    func repo(_ repo: GitHubRepo) -> JSON {
        let url = "\(api)/repos/\(repo.fullName)"
        return .object([
            ("id", .int(repo.id)), ("node_id", .string("R_kgDO" + String(repo.id))), ("name", .string(repo.name)),
            ("full_name", .string(repo.fullName)), ("private", true),
            (
                "owner",
                .object([
                    ("login", .string(repo.owner)), ("id", .int(store.orgId)), ("url", .string("\(api)/orgs/\(repo.owner)")),
                    ("html_url", .string("\(Self.web)/\(repo.owner)")), ("type", "Organization"), ("site_admin", false),
                ])
            ),
            ("html_url", .string("\(Self.web)/\(repo.fullName)")), ("description", .string(repo.description)), ("fork", false),
            ("url", .string(url)), ("pulls_url", .string(url + "/pulls{/number}")), ("issues_url", .string(url + "/issues{/number}")),
            ("created_at", .string(Timestamps.rfc3339(repo.created))), ("updated_at", .string(Timestamps.rfc3339(repo.pushed))),
            ("pushed_at", .string(Timestamps.rfc3339(repo.pushed))), ("homepage", .null), ("language", "Swift"), ("archived", false),
            ("disabled", false), ("visibility", "private"), ("default_branch", "main"),
        ])
    }

    func label(_ name: String, repo: GitHubRepo) -> JSON {
        let colors = ["d73a4a", "a2eeef", "7057ff", "0e8a16", "fbca04", "e4e669"]
        return .object([
            ("id", .int(Int64(4_000_000_000) + Int64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFFFF))),
            ("node_id", .string("LA_kwDO" + name)), ("url", .string("\(api)/repos/\(repo.fullName)/labels/\(name)")),
            ("name", .string(name)), ("color", .string(colors[name.utf8.count % colors.count])), ("default", false), ("description", .null),
        ])
    }

    /// An issue (a pull request as the issues endpoints show it, with its `pull_request` marker).
    func issue(_ issue: GitHubIssue, repo: GitHubRepo, score: Bool = false) -> JSON {
        let url = "\(api)/repos/\(repo.fullName)/issues/\(issue.number)"
        var o: [(String, JSON)] = [
            ("url", .string(url)), ("repository_url", .string("\(api)/repos/\(repo.fullName)")),
            ("labels_url", .string(url + "/labels{/name}")), ("comments_url", .string(url + "/comments")),
            ("events_url", .string(url + "/events")),
            ("html_url", .string("\(Self.web)/\(repo.fullName)/\(issue.isPull ? "pull" : "issues")/\(issue.number)")),
            ("id", .int(issue.id)),
            ("node_id", .string((issue.isPull ? "PR_kwDO" : "I_kwDO") + String(issue.id))), ("number", .int(Int64(issue.number))),
            ("title", .string(issue.title)), ("user", user(issue.author)), ("labels", .array(issue.labels.map { label($0, repo: repo) })),
            ("state", .string(issue.state)), ("locked", false), ("assignee", issue.assignees.first.map { user($0) } ?? .null),
            ("assignees", .array(issue.assignees.map { user($0) })), ("milestone", .null), ("comments", .int(Int64(issue.comments.count))),
            ("created_at", .string(Timestamps.rfc3339(issue.created))), ("updated_at", .string(Timestamps.rfc3339(issue.updated))),
            ("closed_at", issue.closedAt.map { .string(Timestamps.rfc3339($0)) } ?? .null), ("author_association", "MEMBER"),
            ("active_lock_reason", .null),
        ]
        if let pull = issue.pull {
            o.append(("draft", .bool(pull.draft)))
            o.append(
                (
                    "pull_request",
                    .object([
                        ("url", .string("\(api)/repos/\(repo.fullName)/pulls/\(issue.number)")),
                        ("html_url", .string("\(Self.web)/\(repo.fullName)/pull/\(issue.number)")),
                        ("diff_url", .string("\(Self.web)/\(repo.fullName)/pull/\(issue.number).diff")),
                        ("patch_url", .string("\(Self.web)/\(repo.fullName)/pull/\(issue.number).patch")),
                        ("merged_at", pull.mergedAt.map { .string(Timestamps.rfc3339($0)) } ?? .null),
                    ])
                ))
        }
        o.append(("body", issue.body.map { .string($0) } ?? .null))
        o.append(("reactions", .object([("url", .string(url + "/reactions")), ("total_count", 0), ("+1", 0), ("-1", 0)])))
        o.append(("timeline_url", .string(url + "/timeline")))
        o.append(("performed_via_github_app", .null))
        o.append(("state_reason", issue.stateReason.map { .string($0) } ?? .null))
        if score { o.append(("score", .double(1.0))) }
        return .object(o)
    }

    /// A pull request; `full` adds what only `GET /pulls/{n}` shows (`merged`, `mergeable`, counts).
    func pull(_ issue: GitHubIssue, repo: GitHubRepo, full: Bool) -> JSON {
        guard let pull = issue.pull else { return .null }
        let url = "\(api)/repos/\(repo.fullName)/pulls/\(issue.number)"
        let owner = repo.owner
        func ref(_ name: String, sha: String, login: String) -> JSON {
            .object([
                ("label", .string("\(owner):\(name)")), ("ref", .string(name)), ("sha", .string(sha)), ("user", user(login)),
                ("repo", self.repo(repo)),
            ])
        }
        var o: [(String, JSON)] = [
            ("url", .string(url)), ("id", .int(pull.pullId)), ("node_id", .string("PR_kwDO" + String(pull.pullId))),
            ("html_url", .string("\(Self.web)/\(repo.fullName)/pull/\(issue.number)")),
            ("diff_url", .string("\(Self.web)/\(repo.fullName)/pull/\(issue.number).diff")),
            ("patch_url", .string("\(Self.web)/\(repo.fullName)/pull/\(issue.number).patch")),
            ("issue_url", .string("\(api)/repos/\(repo.fullName)/issues/\(issue.number)")), ("number", .int(Int64(issue.number))),
            ("state", .string(issue.state)), ("locked", false), ("title", .string(issue.title)), ("user", user(issue.author)),
            ("body", issue.body.map { .string($0) } ?? .null), ("created_at", .string(Timestamps.rfc3339(issue.created))),
            ("updated_at", .string(Timestamps.rfc3339(issue.updated))),
            ("closed_at", issue.closedAt.map { .string(Timestamps.rfc3339($0)) } ?? .null),
            ("merged_at", pull.mergedAt.map { .string(Timestamps.rfc3339($0)) } ?? .null),
            ("merge_commit_sha", pull.mergeCommitSha.map { .string($0) } ?? .null),
            ("assignee", issue.assignees.first.map { user($0) } ?? .null), ("assignees", .array(issue.assignees.map { user($0) })),
            ("requested_reviewers", .array(pull.requestedReviewers.map { user($0) })), ("requested_teams", .array([])),
            ("labels", .array(issue.labels.map { label($0, repo: repo) })), ("milestone", .null), ("draft", .bool(pull.draft)),
            ("commits_url", .string(url + "/commits")), ("review_comments_url", .string(url + "/comments")),
            ("comments_url", .string("\(api)/repos/\(repo.fullName)/issues/\(issue.number)/comments")),
            ("head", ref(pull.headRef, sha: pull.headSha, login: issue.author)),
            ("base", ref(pull.baseRef, sha: pull.baseSha, login: owner)),
            ("author_association", "MEMBER"), ("auto_merge", .null), ("active_lock_reason", .null),
        ]
        if full {
            let computed = now >= pull.mergeableAt
            o.append(("merged", .bool(pull.merged)))
            o.append(("mergeable", pull.merged || issue.state == "closed" ? .null : (computed ? .bool(true) : .null)))
            o.append(("rebaseable", computed && !pull.merged ? .bool(true) : .null))
            o.append(("mergeable_state", .string(pull.merged ? "unknown" : (computed ? (pull.draft ? "draft" : "clean") : "unknown"))))
            o.append(("merged_by", pull.mergedBy.map { user($0) } ?? .null))
            o.append(("comments", .int(Int64(issue.comments.count))))
            o.append(("review_comments", 0))
            o.append(("maintainer_can_modify", false))
            o.append(("commits", .int(Int64(pull.commits))))
            o.append(("additions", .int(Int64(pull.additions))))
            o.append(("deletions", .int(Int64(pull.deletions))))
            o.append(("changed_files", .int(Int64(pull.changedFiles))))
        }
        return .object(o)
    }

    func comment(_ comment: GitHubComment, issue: GitHubIssue, repo: GitHubRepo) -> JSON {
        let url = "\(api)/repos/\(repo.fullName)/issues/comments/\(comment.id)"
        return .object([
            ("url", .string(url)),
            (
                "html_url",
                .string("\(Self.web)/\(repo.fullName)/\(issue.isPull ? "pull" : "issues")/\(issue.number)#issuecomment-\(comment.id)")
            ),
            ("issue_url", .string("\(api)/repos/\(repo.fullName)/issues/\(issue.number)")), ("id", .int(comment.id)),
            ("node_id", .string("IC_kwDO" + String(comment.id))), ("user", user(comment.author)),
            ("created_at", .string(Timestamps.rfc3339(comment.created))), ("updated_at", .string(Timestamps.rfc3339(comment.updated))),
            ("author_association", "MEMBER"), ("body", .string(comment.body)),
            ("reactions", .object([("url", .string(url + "/reactions")), ("total_count", 0), ("+1", 0), ("-1", 0)])),
            ("performed_via_github_app", .null),
        ])
    }
}
