/// Control routes for GitHub.
extension ControlService {
    /// A login from a login or an address.
    func login(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        if let person = world.directory.person(text) { return person.githubLogin }
        if text.hasSuffix("[bot]") || world.directory.person(githubLogin: text) != nil { return text }
        return nil
    }

    private var representation: GitHubRepresentation {
        GitHubRepresentation(api: world.baseURLs[.github], directory: world.directory, store: world.githubStore, now: world.clock.nowMillis)
    }

    func githubCreatePull(_ request: ProviderRequest) -> ProviderResponse {
        guard case .success(let body) = Self.body(request), let repoName = body["repo"]?.stringValue,
            let title = body["title"]?.stringValue,
            let author = login(body["author"]?.stringValue)
        else { return Self.error("needs repo, title and a known author") }
        let reviewers = (body["requested_reviewers"]?.stringArray ?? []).compactMap { login($0) }
        let name = repoName.split(separator: "/").last.map(String.init) ?? repoName
        let head = body["head_ref"]?.stringValue ?? "feature/" + title.lowercased().split(separator: " ").prefix(5).joined(separator: "-")
        guard
            let pull = world.githubStore.create(
                repo: name, title: title, body: body["body"]?.stringValue, author: author, assignees: [],
                labels: body["labels"]?.stringArray ?? [],
                created: world.clock.nowMillis, pull: (head: head, reviewers: reviewers, draft: body["draft"]?.boolValue ?? false)),
            let repo = world.githubStore.repo(owner: world.githubStore.org, name: name)
        else { return Self.error("unknown repo \(repoName)", status: 404) }
        let representation = self.representation
        world.webhooks.githubPullRequest("opened", issue: pull, repo: repo, representation: representation, sender: author)
        for reviewer in reviewers {
            world.webhooks.githubPullRequest(
                "review_requested", issue: pull, repo: repo, representation: representation, sender: author,
                extra: [("requested_reviewer", representation.user(reviewer))])
        }
        return .json(representation.pull(pull, repo: repo, full: true))
    }

    func githubUpdatePull(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard case .success(let body) = Self.body(request), let number = Int(parameters[1]) else {
            return Self.error("the body must be a JSON object")
        }
        let now = world.clock.nowMillis
        let reviewers = body["requested_reviewers"]?.stringArray.map { $0.compactMap { login($0) } }
        let before = world.githubStore.issue(repo: parameters[0], number: number)
        guard
            let updated = world.githubStore.update(
                repo: parameters[0], number: number,
                { issue, state in
                    guard issue.pull != nil else { return }
                    if let title = body["title"]?.stringValue { issue.title = title }
                    if let text = body["body"]?.stringValue { issue.body = text }
                    if let reviewers { issue.pull?.requestedReviewers = reviewers }
                    if body["merged"]?.boolValue == true {
                        issue.state = "closed"
                        issue.closedAt = now
                        issue.pull?.merged = true
                        issue.pull?.mergedAt = now
                        let merger = issue.pull?.requestedReviewers.first ?? issue.author
                        issue.pull?.mergedBy = merger
                        issue.pull?.mergeCommitSha = GitHubStore.sha(&state.random)
                        issue.pull?.requestedReviewers = []
                    } else if let newState = body["state"]?.stringValue {
                        issue.state = newState == "closed" ? "closed" : "open"
                        issue.closedAt = newState == "closed" ? now : nil
                    }
                    issue.updated = now
                    issue.pull?.headSha = GitHubStore.sha(&state.random)
                    issue.pull?.mergeableAt = now + 1500
                }),
            updated.isPull, let repo = world.githubStore.repo(owner: world.githubStore.org, name: parameters[0])
        else { return Self.error("no pull request \(parameters[0])#\(parameters[1])", status: 404) }
        let representation = self.representation
        let sender = updated.author
        if let before {
            if before.title != updated.title {
                world.webhooks.githubPullRequest(
                    "edited", issue: updated, repo: repo, representation: representation, sender: sender,
                    extra: [("changes", .object([("title", .object([("from", .string(before.title))]))]))])
            }
            let old = Set(before.pull?.requestedReviewers ?? [])
            let new = Set(updated.pull?.requestedReviewers ?? [])
            if updated.pull?.merged != true {
                for added in new.subtracting(old).sorted() {
                    world.webhooks.githubPullRequest(
                        "review_requested", issue: updated, repo: repo, representation: representation, sender: sender,
                        extra: [("requested_reviewer", representation.user(added))])
                }
                for removed in old.subtracting(new).sorted() {
                    world.webhooks.githubPullRequest(
                        "review_request_removed", issue: updated, repo: repo, representation: representation, sender: sender,
                        extra: [("requested_reviewer", representation.user(removed))])
                }
            }
            if before.state != updated.state {
                world.webhooks.githubPullRequest(
                    updated.state == "closed" ? "closed" : "reopened", issue: updated, repo: repo, representation: representation,
                    sender: updated.pull?.mergedBy ?? sender)
            }
        }
        return .json(representation.pull(updated, repo: repo, full: true))
    }

    func githubCreateIssue(_ request: ProviderRequest) -> ProviderResponse {
        guard case .success(let body) = Self.body(request), let repoName = body["repo"]?.stringValue, let title = body["title"]?.stringValue
        else { return Self.error("needs repo and title") }
        let name = repoName.split(separator: "/").last.map(String.init) ?? repoName
        let author = login(body["author"]?.stringValue) ?? world.directory.colleagues.first?.githubLogin ?? "octocat"
        guard
            let issue = world.githubStore.create(
                repo: name, title: title, body: body["body"]?.stringValue, author: author,
                assignees: (body["assignees"]?.stringArray ?? []).compactMap { login($0) }, labels: body["labels"]?.stringArray ?? [],
                created: world.clock.nowMillis, pull: nil),
            let repo = world.githubStore.repo(owner: world.githubStore.org, name: name)
        else { return Self.error("unknown repo \(repoName)", status: 404) }
        world.webhooks.githubIssue("opened", issue: issue, repo: repo, representation: representation, sender: author)
        return .json(representation.issue(issue, repo: repo))
    }

    func githubComments(_ request: ProviderRequest) -> ProviderResponse {
        guard let repoName = request.query["repo"], let number = request.query["number"].flatMap({ Int($0) }) else {
            return Self.error("needs repo and number")
        }
        let name = repoName.split(separator: "/").last.map(String.init) ?? repoName
        guard let issue = world.githubStore.issue(repo: name, number: number) else {
            return Self.error("no issue \(repoName)#\(number)", status: 404)
        }
        let comments: [JSON] = issue.comments.map {
            .object([
                ("id", .int($0.id)), ("user", .string($0.author)), ("body", .string($0.body)),
                ("created_at", .string(Timestamps.rfc3339($0.created))),
            ])
        }
        return .json(.object([("comments", .array(comments))]))
    }
}
