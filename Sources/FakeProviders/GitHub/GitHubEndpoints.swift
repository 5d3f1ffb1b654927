/// The handlers of `GitHubService`.
extension GitHubService {
    /// `per_page` (default 30, at most 100) and `page` (from 1).
    static func paging(_ query: QueryItems) -> (perPage: Int, page: Int) {
        let perPage = min(100, max(1, Int(query["per_page"] ?? "30") ?? 30))
        let page = max(1, Int(query["page"] ?? "1") ?? 1)
        return (perPage, page)
    }

    /// A page of `items` as a JSON array with its `link` header (absolute URLs; none for a single page).
    func page(_ items: [JSON], call: Call, total: Int? = nil) -> ProviderResponse {
        let (perPage, page) = Self.paging(call.request.query)
        let count = total ?? items.count
        let last = max(1, (count + perPage - 1) / perPage)
        let start = (page - 1) * perPage
        let slice = start < items.count ? Array(items[start..<min(items.count, start + perPage)]) : []
        var response = ProviderResponse.json(.array(slice), contentType: "application/json; charset=utf-8")
        if let link = link(call: call, page: page, last: last) { response.headers.append(("Link", link)) }
        return response
    }

    func link(call: Call, page: Int, last: Int) -> String? {
        guard last > 1 else { return nil }
        let kept = call.request.query.items.filter { $0.name != "page" }
        func url(_ number: Int) -> String {
            let query = PercentEncoding.form(kept.map { ($0.name, $0.value) } + [("page", String(number))])
            return "<\(baseURLs[.github])\(call.request.path)?\(query)>"
        }
        var parts: [String] = []
        if page > 1 { parts.append("\(url(page - 1)); rel=\"prev\"") }
        if page < last {
            parts.append("\(url(page + 1)); rel=\"next\"")
            parts.append("\(url(last)); rel=\"last\"")
        }
        if page > 1 { parts.append("\(url(1)); rel=\"first\"") }
        return parts.joined(separator: ", ")
    }

    func currentUser(_ call: Call) -> ProviderResponse {
        guard let login = call.login, let person = store.directory.user(githubLogin: login) else {
            return Self.message(
                "Requires authentication", status: 401, documentation: "https://docs.github.com/rest/users/users#get-the-authenticated-user"
            )
        }
        var user = call.representation.user(login)
        for (key, value) in [
            ("name", JSON.string(person.name)), ("company", .string("@" + store.org)), ("blog", ""), ("location", .null),
            ("email", .string(person.email)), ("hireable", .null), ("bio", .null), ("twitter_username", .null), ("public_repos", 2),
            ("public_gists", 0), ("followers", 12), ("following", 4), ("created_at", "2016-03-14T09:12:44Z"),
            ("updated_at", .string(Timestamps.rfc3339(store.clock.nowMillis - 86_400_000))),
        ] {
            user = user.setting(key, value)
        }
        return .json(user, contentType: "application/json; charset=utf-8")
    }

    func listRepos(_ call: Call) -> ProviderResponse {
        guard call.login != nil else { return Self.message("Requires authentication", status: 401) }
        if call.parameters.first.map({ $0.lowercased() != store.org.lowercased() }) ?? false { return Self.notFound }
        return page(store.repos.map { call.representation.repo($0) }, call: call)
    }

    func resolveRepo(_ call: Call) -> GitHubRepo? {
        guard call.login != nil else { return nil }
        return store.repo(owner: call.parameters[0], name: call.parameters[1])
    }

    func getRepo(_ call: Call) -> ProviderResponse {
        guard let repo = resolveRepo(call) else { return Self.notFound }
        return .json(call.representation.repo(repo), contentType: "application/json; charset=utf-8")
    }

    static func sort(_ items: [GitHubIssue], by key: String?, direction: String?) -> [GitHubIssue] {
        let descending = (direction ?? "desc") != "asc"
        return items.sorted { a, b in
            let x: Int64
            let y: Int64
            switch key ?? "created" {
            case "updated": (x, y) = (a.updated, b.updated)
            case "comments": (x, y) = (Int64(a.comments.count), Int64(b.comments.count))
            case "popularity", "long-running": (x, y) = (Int64(a.comments.count), Int64(b.comments.count))
            default: (x, y) = (a.created, b.created)
            }
            if x == y { return descending ? a.number > b.number : a.number < b.number }
            return descending ? x > y : x < y
        }
    }

    static func matchesState(_ issue: GitHubIssue, _ state: String?) -> Bool {
        switch state ?? "open" {
        case "all": return true
        case "closed": return issue.state == "closed"
        default: return issue.state == "open"
        }
    }

    func listPulls(_ call: Call) -> ProviderResponse {
        guard let repo = resolveRepo(call) else { return Self.notFound }
        let query = call.request.query
        var pulls = store.issues(repo: repo.name).filter { $0.isPull && Self.matchesState($0, query["state"]) }
        if let head = query["head"] {
            let ref = head.split(separator: ":").last.map(String.init) ?? head
            pulls = pulls.filter { $0.pull?.headRef == ref }
        }
        if let base = query["base"] { pulls = pulls.filter { $0.pull?.baseRef == base } }
        let sorted = Self.sort(pulls, by: query["sort"], direction: query["direction"] ?? (query["sort"] == nil ? "desc" : nil))
        return page(sorted.map { call.representation.pull($0, repo: repo, full: false) }, call: call)
    }

    func getPull(_ call: Call) -> ProviderResponse {
        guard let repo = resolveRepo(call), let number = Int(call.parameters[2]), let issue = store.issue(repo: repo.name, number: number),
            issue.isPull
        else { return Self.notFound }
        return .json(call.representation.pull(issue, repo: repo, full: true), contentType: "application/json; charset=utf-8")
    }

    func requestedReviewers(_ call: Call) -> ProviderResponse {
        guard let repo = resolveRepo(call), let number = Int(call.parameters[2]),
            let pull = store.issue(repo: repo.name, number: number)?.pull
        else { return Self.notFound }
        return .json(
            .object([("users", .array(pull.requestedReviewers.map { call.representation.user($0) })), ("teams", .array([]))]),
            contentType: "application/json; charset=utf-8")
    }

    func listIssues(_ call: Call) -> ProviderResponse {
        guard let repo = resolveRepo(call) else { return Self.notFound }
        let query = call.request.query
        var issues = store.issues(repo: repo.name).filter { Self.matchesState($0, query["state"]) }
        if let assignee = query["assignee"] {
            switch assignee {
            case "none": issues = issues.filter { $0.assignees.isEmpty }
            case "*": issues = issues.filter { !$0.assignees.isEmpty }
            default: issues = issues.filter { $0.assignees.contains { $0.lowercased() == assignee.lowercased() } }
            }
        }
        if let creator = query["creator"] { issues = issues.filter { $0.author.lowercased() == creator.lowercased() } }
        if let mentioned = query["mentioned"] {
            issues = issues.filter {
                ($0.body ?? "").contains("@" + mentioned) || $0.comments.contains { $0.body.contains("@" + mentioned) }
            }
        }
        if let labels = query["labels"] {
            let wanted = labels.split(separator: ",").map { String($0).lowercased() }
            issues = issues.filter { issue in wanted.allSatisfy { label in issue.labels.contains { $0.lowercased() == label } } }
        }
        if let since = query["since"] {
            guard let bound = Timestamps.parseRFC3339(since) else {
                return Self.message(
                    "Validation Failed", status: 422, documentation: "https://docs.github.com/rest/issues/issues#list-repository-issues")
            }
            issues = issues.filter { $0.updated >= bound }
        }
        let sorted = Self.sort(issues, by: query["sort"], direction: query["direction"])
        return page(sorted.map { call.representation.issue($0, repo: repo) }, call: call)
    }

    func getIssue(_ call: Call) -> ProviderResponse {
        guard let repo = resolveRepo(call), let number = Int(call.parameters[2]), let issue = store.issue(repo: repo.name, number: number)
        else {
            return Self.notFound
        }
        return .json(call.representation.issue(issue, repo: repo), contentType: "application/json; charset=utf-8")
    }

    func listComments(_ call: Call) -> ProviderResponse {
        guard let repo = resolveRepo(call), let number = Int(call.parameters[2]), let issue = store.issue(repo: repo.name, number: number)
        else {
            return Self.notFound
        }
        var comments = issue.comments
        if let since = call.request.query["since"].flatMap(Timestamps.parseRFC3339) { comments = comments.filter { $0.updated >= since } }
        return page(comments.sorted { $0.id < $1.id }.map { call.representation.comment($0, issue: issue, repo: repo) }, call: call)
    }

    func addComment(_ call: Call) -> ProviderResponse {
        guard let repo = resolveRepo(call), let number = Int(call.parameters[2]), store.issue(repo: repo.name, number: number) != nil,
            let login = call.login
        else { return Self.notFound }
        guard let body = call.request.json else {
            return Self.message(
                "Problems parsing JSON", status: 400, documentation: "https://docs.github.com/rest/issues/comments#create-an-issue-comment")
        }
        guard let text = body["body"]?.stringValue, !text.isEmpty else {
            return .json(
                .object([
                    ("message", "Invalid request.\n\nFor 'links/0/schema', nil is not an object."),
                    ("errors", .array([.object([("resource", "IssueComment"), ("code", "missing_field"), ("field", "body")])])),
                    ("documentation_url", "https://docs.github.com/rest/issues/comments#create-an-issue-comment"), ("status", "422"),
                ]), status: 422, contentType: "application/json; charset=utf-8")
        }
        guard let (issue, comment) = store.comment(repo: repo.name, number: number, author: login, body: text, at: store.clock.nowMillis)
        else {
            return Self.notFound
        }
        webhooks.githubComment(comment, issue: issue, repo: repo, representation: call.representation)
        var response = ProviderResponse.json(
            call.representation.comment(comment, issue: issue, repo: repo), status: 201, contentType: "application/json; charset=utf-8")
        response.headers.append(("Location", "\(baseURLs[.github])/repos/\(repo.fullName)/issues/comments/\(comment.id)"))
        return response
    }

    func searchIssues(_ call: Call) -> ProviderResponse {
        guard let q = call.request.query["q"], !q.trimmingSpaces.isEmpty else {
            return .json(
                .object([
                    ("message", "Validation Failed"),
                    ("errors", .array([.object([("resource", "Search"), ("field", "q"), ("code", "missing")])])),
                    ("documentation_url", "https://docs.github.com/v3/search"), ("status", "422"),
                ]), status: 422, contentType: "application/json; charset=utf-8")
        }
        let (perPage, pageNumber) = Self.paging(call.request.query)
        guard pageNumber * perPage <= 1000 || (pageNumber - 1) * perPage < 1000 else {
            return Self.message(
                "Only the first 1000 search results are available", status: 422, documentation: "https://docs.github.com/v3/search/")
        }
        let search = GitHubSearch(q, me: call.login ?? "")
        var hits = store.allIssues().filter { search.matches($0.issue, repo: $0.repo) }
        if call.login == nil { hits = [] }
        let sortKey = call.request.query["sort"]
        let descending = (call.request.query["order"] ?? "desc") != "asc"
        hits.sort { a, b in
            let x: Int64
            let y: Int64
            switch sortKey {
            case "created": (x, y) = (a.issue.created, b.issue.created)
            case "comments": (x, y) = (Int64(a.issue.comments.count), Int64(b.issue.comments.count))
            default: (x, y) = (a.issue.updated, b.issue.updated)
            }
            return x == y ? a.issue.id > b.issue.id : (descending ? x > y : x < y)
        }
        let capped = Array(hits.prefix(1000))
        let start = (pageNumber - 1) * perPage
        let slice = start < capped.count ? Array(capped[start..<min(capped.count, start + perPage)]) : []
        var response = ProviderResponse.json(
            .object([
                ("total_count", .int(Int64(hits.count))), ("incomplete_results", false),
                ("items", .array(slice.map { call.representation.issue($0.issue, repo: $0.repo, score: true) })),
            ]), contentType: "application/json; charset=utf-8")
        let last = max(1, (capped.count + perPage - 1) / perPage)
        if let link = link(call: call, page: pageNumber, last: last) { response.headers.append(("Link", link)) }
        return response
    }
}
