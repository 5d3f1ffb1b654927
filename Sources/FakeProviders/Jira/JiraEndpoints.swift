/// The handlers of `JiraService`.
extension JiraService {
    /// Parameters of a search from the query string (GET) or the JSON body (POST).
    struct SearchParameters {
        var jql = ""
        var nextPageToken: String?
        var maxResults = 50
        var fields: [String] = []
        var expand: [String] = []
        var reconcile: Set<Int64> = []

        init(_ request: ProviderRequest) throws(JQLQuery.Invalid) {
            if request.method == "POST" {
                guard let body = request.json else {
                    throw JQLQuery.Invalid(message: "Invalid request payload. Refer to the REST API documentation and try again.")
                }
                jql = body["jql"]?.stringValue ?? ""
                nextPageToken = body["nextPageToken"]?.stringValue
                if let max = body["maxResults"]?.intValue { maxResults = Int(max) }
                fields = body["fields"]?.stringArray ?? []
                expand = (body["expand"]?.stringValue ?? "").split(separator: ",").map(String.init)
                reconcile = Set((body["reconcileIssues"]?.arrayValue ?? []).compactMap(\.intValue))
            } else {
                let query = request.query
                jql = query["jql"] ?? ""
                nextPageToken = query["nextPageToken"]
                if let text = query["maxResults"] {
                    guard let max = Int(text) else { throw JQLQuery.Invalid(message: "The value '\(text)' is invalid for maxResults.") }
                    maxResults = max
                }
                fields = query.all("fields")
                expand = query.all("expand").flatMap { $0.split(separator: ",").map(String.init) }
                reconcile = Set(query.all("reconcileIssues").flatMap { $0.split(separator: ",") }.compactMap { Int64($0) })
            }
        }
    }

    func search(_ call: Call) -> ProviderResponse {
        let parameters: SearchParameters
        do { parameters = try SearchParameters(call.request) } catch { return Self.errors([error.message], status: 400) }
        let query: JQLQuery
        do { query = try JQLQuery.parse(parameters.jql) } catch { return Self.errors([error.message], status: 400) }
        guard query.bounded else {
            return Self.errors(["Unbounded JQL queries are not allowed here. Please add a search restriction to your query."], status: 400)
        }
        guard parameters.maxResults >= 0 else { return Self.errors(["maxResults must be greater than or equal to 0"], status: 400) }
        let fields = JiraRepresentation.selection(parameters.fields, defaultAll: false)
        let onlyIds = Set(fields).isSubset(of: ["id", "key"])
        let limit = min(parameters.maxResults, onlyIds ? 5000 : 100)
        let fingerprint = "\(parameters.jql)|\(fields)|\(parameters.expand)|\(parameters.reconcile.sorted())|\(call.viewer)"
        var offset = 0
        if let token = parameters.nextPageToken {
            guard let saved = store.offset(for: token, fingerprint: fingerprint) else {
                return Self.errors(["The provided next page token is invalid or expired."], status: 400)
            }
            offset = saved
        }
        let matches = sorted(matching(query, viewer: call.viewer, reconcile: parameters.reconcile), by: query.order)
        let end = min(matches.count, offset + limit)
        let page = offset < end ? Array(matches[offset..<end]) : []
        var object: [(String, JSON)] = [
            ("issues", .array(page.map { call.representation.issue($0, fields: fields, viewer: call.viewer, expand: parameters.expand) }))
        ]
        if end < matches.count {
            object.append(("nextPageToken", .string(store.saveToken(fingerprint: fingerprint, offset: end))))
            object.append(("isLast", false))
        } else {
            object.append(("isLast", true))
        }
        return .json(.object(object))
    }

    func matching(_ query: JQLQuery, viewer: String, reconcile: Set<Int64>) -> [JiraIssue] {
        let context = JQLContext(accountId: viewer, now: store.clock.nowMillis, accounts: store.accountAliases)
        return store.searchable(reconcile: reconcile).filter { query.predicate($0, context) }
    }

    func sorted(_ issues: [JiraIssue], by order: [(field: String, descending: Bool)]) -> [JiraIssue] {
        guard !order.isEmpty else { return issues.sorted { $0.id > $1.id } }
        return issues.sorted { a, b in
            for (field, descending) in order {
                let left: String
                let right: String
                if let x = JQLEvaluation.dateValue(field, a) ?? (field == "key" || field == "issuekey" || field == "id" ? a.id : nil),
                    let y = JQLEvaluation.dateValue(field, b) ?? (field == "key" || field == "issuekey" || field == "id" ? b.id : nil)
                {
                    if x != y { return descending ? x > y : x < y }
                    continue
                }
                left = JQLEvaluation.values(field, a).first ?? ""
                right = JQLEvaluation.values(field, b).first ?? ""
                if left != right { return descending ? left > right : left < right }
            }
            return a.id > b.id
        }
    }

    func approximateCount(_ call: Call) -> ProviderResponse {
        guard let jql = call.request.json?["jql"]?.stringValue else { return Self.errors(["jql must not be null"], status: 400) }
        do {
            let query = try JQLQuery.parse(jql)
            return .json(.object([("count", .int(Int64(matching(query, viewer: call.viewer, reconcile: []).count)))]))
        } catch {
            return Self.errors([error.message], status: 400)
        }
    }

    func getIssue(_ call: Call) -> ProviderResponse {
        guard let issue = store.issue(call.parameters[0]) else { return Self.issueNotFound }
        let fields = JiraRepresentation.selection(call.request.query.all("fields"), defaultAll: true)
        let expand = call.request.query.all("expand").flatMap { $0.split(separator: ",").map(String.init) }
        return .json(call.representation.issue(issue, fields: fields.isEmpty ? ["id"] : fields, viewer: call.viewer, expand: expand))
    }

    func listComments(_ call: Call) -> ProviderResponse {
        guard let issue = store.issue(call.parameters[0]) else { return Self.issueNotFound }
        let expand = (call.request.query["expand"] ?? "").split(separator: ",").contains("properties")
        var ordered = issue.comments
        if call.request.query["orderBy"] == "-created" { ordered.reverse() }
        let comments = ordered.map { call.representation.comment($0, issueId: issue.id, expandProperties: expand) }
        return .json(
            .object([
                ("startAt", 0), ("maxResults", .int(Int64(max(5000, comments.count)))), ("total", .int(Int64(comments.count))),
                ("comments", .array(comments)),
            ]))
    }

    func getComment(_ call: Call) -> ProviderResponse {
        guard let issue = store.issue(call.parameters[0]), let comment = issue.comments.first(where: { $0.id == call.parameters[1] }) else {
            return Self.issueNotFound
        }
        let expand = (call.request.query["expand"] ?? "").split(separator: ",").contains("properties")
        return .json(call.representation.comment(comment, issueId: issue.id, expandProperties: expand))
    }

    static let adfRequired = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"

    func addComment(_ call: Call) -> ProviderResponse {
        guard let body = call.request.json else {
            return Self.errors(["Unexpected character encountered while parsing the request body."], status: 400)
        }
        guard let document = body["body"], !document.isNull else {
            return Self.errors([], fields: [("comment", "Comment body can not be empty!")], status: 400)
        }
        guard ADF.isDocument(document) else { return Self.errors([], fields: [("comment", .string(Self.adfRequired))], status: 400) }
        guard store.issue(call.parameters[0]) != nil else { return Self.issueNotFound }
        var properties: [(String, JSON)] = []
        for property in body["properties"]?.arrayValue ?? [] {
            guard let key = property["key"]?.stringValue, !key.isEmpty, key.utf8.count <= 255, let value = property["value"] else {
                return Self.errors(["The property key must be 1 to 255 characters, with a value."], status: 400)
            }
            properties.append((key, value))
        }
        let now = store.clock.nowMillis
        var made: JiraComment?
        let updated = store.update(call.parameters[0]) { issue, nextComment in
            let comment = JiraComment(
                id: String(nextComment), author: call.viewer, body: document, created: now, updated: now, properties: properties)
            nextComment += 1
            issue.comments.append(comment)
            made = comment
        }
        guard let issue = updated, let comment = made else { return Self.issueNotFound }
        webhooks.jiraComment(comment, issue: issue, representation: siteRepresentation, now: now)
        return .json(call.representation.comment(comment, issueId: issue.id), status: 201)
    }

    func listTransitions(_ call: Call) -> ProviderResponse {
        guard let issue = store.issue(call.parameters[0]) else { return Self.issueNotFound }
        var transitions = call.representation.transitions(issue)
        if let only = call.request.query["transitionId"] { transitions = transitions.filter { $0["id"]?.stringValue == only } }
        return .json(.object([("expand", "transitions"), ("transitions", .array(transitions))]))
    }

    func transition(_ call: Call) -> ProviderResponse {
        guard let body = call.request.json else { return Self.errors(["Can not deserialize the request body."], status: 400) }
        guard let id = body["transition"]?["id"]?.stringValue ?? body["transition"]?["id"]?.intValue.map({ String($0) }) else {
            return Self.errors(["Missing 'transition' identifier"], status: 400)
        }
        guard let issue = store.issue(call.parameters[0]) else { return Self.issueNotFound }
        guard let transition = issue.issueType.workflow.available(from: issue.statusId).first(where: { $0.id == id }) else {
            return Self.errors(["Transition id '\(id)' is not valid for this issue."], status: 400)
        }
        let comments = (body["update"]?["comment"]?.arrayValue ?? []).compactMap { $0["add"]?["body"] }
        for document in comments where !ADF.isDocument(document) {
            return Self.errors([], fields: [("comment", .string(Self.adfRequired))], status: 400)
        }
        let now = store.clock.nowMillis
        let viewer = call.viewer
        let updated = store.update(issue.key) { issue, nextComment in
            issue.statusId = transition.to
            issue.statusChanged = now
            issue.resolutionDate = issue.status.categoryKey == "done" ? now : nil
            for document in comments {
                issue.comments.append(JiraComment(id: String(nextComment), author: viewer, body: document, created: now, updated: now))
                nextComment += 1
            }
        }
        if let updated {
            webhooks.jiraIssue(
                "jira:issue_updated", typeName: "issue_generic", before: issue, after: updated, actor: viewer,
                representation: siteRepresentation,
                now: now)
        }
        return .empty(204)
    }

    /// Links in webhook payloads point at the site, whatever path the triggering call used.
    var siteRepresentation: JiraRepresentation { JiraRepresentation(base: baseURLs[.jira], directory: store.directory, store: store) }

    func watchers(_ call: Call) -> ProviderResponse {
        guard let issue = store.issue(call.parameters[0]) else { return Self.issueNotFound }
        return .json(
            .object([
                ("self", .string("\(call.representation.base)/rest/api/3/issue/\(issue.key)/watchers")),
                ("isWatching", .bool(issue.watchers.contains(call.viewer))), ("watchCount", .int(Int64(issue.watchers.count))),
                ("watchers", .array(issue.watchers.map { call.representation.user($0) })),
            ]))
    }

    func myself(_ call: Call) -> ProviderResponse { .json(call.representation.user(call.viewer)) }

    func userByAccount(_ call: Call) -> ProviderResponse {
        guard let account = call.request.query["accountId"], store.directory.person(accountId: account) != nil else {
            return Self.errors(["Specified user does not exist or you do not have required permissions"], status: 404)
        }
        return .json(call.representation.user(account))
    }

    func project(_ call: Call) -> ProviderResponse {
        guard call.parameters[0].uppercased() == store.projectKey || call.parameters[0] == "10000" else {
            return Self.errors(["No project could be found with key '\(call.parameters[0])'."], status: 404)
        }
        return .json(call.representation.project())
    }
}
