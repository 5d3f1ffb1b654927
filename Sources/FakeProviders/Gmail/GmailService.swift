/// Gmail API v1 under `/gmail/v1/users/{userId}/...` (and the media upload of `messages.send`):
/// profile, messages, attachments, history, labels, threads, drafts, watch. Each call checks the
/// token and its scopes, spends the per-user quota units of the method and holds a slot of the
/// per-user concurrency cap.
struct GmailService: FakeService {
    let mailboxes: [String: Mailbox]
    let gate: GoogleGate
    let concurrency: ConcurrencyGauge?
    let clock: FakeClock
    let historyRetentionMillis: Int64

    /// One routed call.
    struct Call {
        let request: ProviderRequest
        let mailbox: Mailbox
        let principal: TokenAuthority.Principal
        let parameters: [String]

        var query: QueryItems { request.query }
    }

    /// What a route needs besides its handler.
    struct Endpoint: Sendable {
        let scopes: Set<String>
        let units: Int
        let handle: @Sendable (GmailService, Call) -> ProviderResponse
    }

    static let full = "https://mail.google.com/"
    static let readonly = "https://www.googleapis.com/auth/gmail.readonly"
    static let modify = "https://www.googleapis.com/auth/gmail.modify"
    static let metadata = "https://www.googleapis.com/auth/gmail.metadata"
    static let compose = "https://www.googleapis.com/auth/gmail.compose"
    static let send = "https://www.googleapis.com/auth/gmail.send"
    static let labelsScope = "https://www.googleapis.com/auth/gmail.labels"

    static let readScopes: Set<String> = [full, readonly, modify, metadata]
    static let draftReadScopes: Set<String> = [full, readonly, modify, compose]
    static let sendScopes: Set<String> = [full, modify, compose, send]
    static let composeScopes: Set<String> = [full, modify, compose]
    static let modifyScopes: Set<String> = [full, modify]

    static let routes = RouteTable<Endpoint>(routes: [
        Route("GET", "/profile", Endpoint(scopes: readScopes.union([compose, send, labelsScope]), units: 1) { $0.profile($1) }),
        Route("GET", "/messages", Endpoint(scopes: readScopes, units: 5) { $0.listMessages($1) }),
        Route("GET", "/messages/{id}", Endpoint(scopes: readScopes, units: 5) { $0.getMessage($1) }),
        Route("GET", "/messages/{id}/attachments/{attachmentId}", Endpoint(scopes: readScopes, units: 5) { $0.getAttachment($1) }),
        Route("POST", "/messages/send", Endpoint(scopes: sendScopes, units: 100) { $0.sendMessage($1) }),
        Route("POST", "/messages/{id}/modify", Endpoint(scopes: modifyScopes, units: 5) { $0.modifyMessage($1) }),
        Route("POST", "/messages/batchModify", Endpoint(scopes: modifyScopes, units: 50) { $0.batchModify($1) }),
        Route("POST", "/messages/{id}/trash", Endpoint(scopes: modifyScopes, units: 5) { $0.trash($1, into: true) }),
        Route("POST", "/messages/{id}/untrash", Endpoint(scopes: modifyScopes, units: 5) { $0.trash($1, into: false) }),
        Route("DELETE", "/messages/{id}", Endpoint(scopes: [full], units: 10) { $0.deleteMessage($1) }),
        Route("GET", "/history", Endpoint(scopes: readScopes, units: 2) { $0.listHistory($1) }),
        Route("GET", "/labels", Endpoint(scopes: readScopes.union([labelsScope]), units: 1) { $0.listLabels($1) }),
        Route("POST", "/labels", Endpoint(scopes: [full, modify, labelsScope], units: 5) { $0.createLabel($1) }),
        Route("GET", "/labels/{id}", Endpoint(scopes: readScopes.union([labelsScope]), units: 1) { $0.getLabel($1) }),
        Route("GET", "/threads", Endpoint(scopes: readScopes, units: 10) { $0.listThreads($1) }),
        Route("GET", "/threads/{id}", Endpoint(scopes: readScopes, units: 10) { $0.getThread($1) }),
        Route("GET", "/drafts", Endpoint(scopes: draftReadScopes, units: 5) { $0.listDrafts($1) }),
        Route("POST", "/drafts", Endpoint(scopes: composeScopes, units: 10) { $0.createDraft($1) }),
        Route("GET", "/drafts/{id}", Endpoint(scopes: draftReadScopes, units: 5) { $0.getDraft($1) }),
        Route("DELETE", "/drafts/{id}", Endpoint(scopes: composeScopes, units: 10) { $0.deleteDraft($1) }),
        Route("POST", "/drafts/send", Endpoint(scopes: composeScopes, units: 100) { $0.sendDraft($1) }),
        Route("POST", "/watch", Endpoint(scopes: readScopes, units: 100) { $0.watch($1) }),
        Route("POST", "/stop", Endpoint(scopes: readScopes, units: 50) { _, _ in .empty(204) }),
    ])

    func respond(to request: ProviderRequest) async -> ProviderResponse {
        let segments = request.segments
        var offset = 4
        if segments.count >= 4, segments[0] == "gmail", segments[1] == "v1", segments[2] == "users" {
            offset = 4
        } else if segments.count >= 5, segments[0] == "upload", segments[1] == "gmail", segments[2] == "v1", segments[3] == "users" {
            offset = 5
        } else {
            return GoogleErrors.notFound("Not Found", style: .modern)
        }
        let userId = segments[offset - 1]
        let endpoint: Endpoint
        let parameters: [String]
        switch Self.routes.resolve(request, offset: offset) {
        case .found(let found, let values):
            endpoint = found
            parameters = values
        case .methodNotAllowed, .notFound:
            return GoogleErrors.notFound("Not Found", style: .modern)
        }
        let principal: TokenAuthority.Principal
        switch gate.authorize(request, scopes: endpoint.scopes) {
        case .failure(let refusal): return refusal.response
        case .success(let value): principal = value
        }
        guard userId == "me" || userId.lowercased() == principal.user else {
            return GoogleErrors.forbidden("Delegation denied for \(principal.user)", style: .modern)
        }
        guard let mailbox = mailboxes[principal.user] else { return GoogleErrors.notFound(style: .modern) }
        if let concurrency {
            guard concurrency.enter(principal.user) else {
                return GoogleErrors.rateLimited(
                    status: 429, reason: "rateLimitExceeded", message: "Too many concurrent requests for user", style: .modern)
            }
        }
        defer { concurrency?.leave(principal.user) }
        if let refusal = gate.spend(endpoint.units, user: principal.user) { return refusal.response }
        let response = endpoint.handle(self, Call(request: request, mailbox: mailbox, principal: principal, parameters: parameters))
        // Partial responses (`fields=`) cost a re-encode, so only requests that ask pay for it.
        guard response.status == 200, request.query.has("fields"), let value = try? JSONParser.parse(response.body) else { return response }
        return FieldMasks.apply(value, query: request.query, style: .modern)
    }

    /// Whether the token has only `gmail.metadata` among the read scopes.
    static func metadataOnly(_ principal: TokenAuthority.Principal) -> Bool {
        principal.scopes.contains(metadata) && principal.scopes.isDisjoint(with: [full, readonly, modify])
    }

    static func maxResults(_ query: QueryItems, default value: Int = 100) -> Result<Int, GateRefusal> {
        guard let text = query["maxResults"] else { return .success(value) }
        guard let number = Int(text), number >= 0 else {
            return .failure(
                GateRefusal(GoogleErrors.invalidParameter("Invalid value for maxResults", parameter: "maxResults", style: .modern)))
        }
        return .success(number == 0 ? value : min(number, 500))
    }

    // MARK: Reads

    func profile(_ call: Call) -> ProviderResponse {
        let numbers = call.mailbox.profile()
        return .json(
            .object([
                ("emailAddress", .string(call.mailbox.owner.email)), ("messagesTotal", .int(Int64(numbers.messages))),
                ("threadsTotal", .int(Int64(numbers.threads))), ("historyId", .string(String(numbers.historyId))),
            ]))
    }

    func labelResolver(_ mailbox: Mailbox) -> (String) -> String? {
        let labels = mailbox.labels()
        return { name in
            labels.first { $0.name.lowercased() == name || $0.name.lowercased().replacingSpaces == name || $0.id.lowercased() == name }?.id
        }
    }

    func listMessages(_ call: Call) -> ProviderResponse {
        let query = call.query
        let q = query["q"] ?? ""
        if !q.isEmpty, Self.metadataOnly(call.principal) {
            return GoogleErrors.forbidden("Metadata scope does not support 'q' parameter", style: .modern)
        }
        let max: Int
        switch Self.maxResults(query) {
        case .failure(let refusal): return refusal.response
        case .success(let value): max = value
        }
        let labelIds = query.all("labelIds").flatMap { $0.split(separator: ",").map(String.init) }
        let includeSpamTrash = query.bool("includeSpamTrash") ?? false
        let search = MailSearch(q, now: clock.nowMillis, labelNamed: labelResolver(call.mailbox))
        let skipSpamTrash = !includeSpamTrash && !search.reachesSpamTrash && !labelIds.contains("TRASH") && !labelIds.contains("SPAM")
        let fingerprint = "\(q)|\(labelIds)|\(includeSpamTrash)"
        let predicate = search.predicate
        guard
            let page = call.mailbox.list(
                fingerprint: fingerprint, maxResults: max, pageToken: query["pageToken"],
                matching: { message in
                    if skipSpamTrash, message.has("SPAM") || message.has("TRASH") { return false }
                    for label in labelIds where !message.has(label) { return false }
                    return q.isEmpty || predicate(message)
                })
        else { return GoogleErrors.invalidParameter("Invalid pageToken", parameter: "pageToken", style: .modern) }
        var object = JSONObjectBuilder()
        if !page.messages.isEmpty { object.set("messages", .array(page.messages.map(\.reference))) }
        object.setIfPresent("nextPageToken", page.nextPageToken)
        object.set("resultSizeEstimate", page.estimate)
        return .json(object.json)
    }

    func getMessage(_ call: Call) -> ProviderResponse {
        let id = call.parameters[0]
        let formatText = call.query["format"] ?? "full"
        guard let format = GmailFormat(rawValue: formatText.lowercased()) else {
            return GoogleErrors.invalidParameter("Invalid value at 'format' (\(formatText))", parameter: "format", style: .modern)
        }
        if format == .full || format == .raw, Self.metadataOnly(call.principal) {
            return GoogleErrors.forbidden("Metadata scope doesn't allow format \(format.rawValue.uppercased())", style: .modern)
        }
        let headers = call.query.all("metadataHeaders").flatMap { $0.split(separator: ",").map(String.init) }
        guard let found = call.mailbox.lookup(id, format: format) else { return GoogleErrors.notFound(style: .modern) }
        if let cached = found.cached, headers.isEmpty || format != .metadata { return .jsonBytes(cached) }
        let bytes = JSONWriter.bytes(GmailRepresentation.message(found.message, format: format, metadataHeaders: headers))
        if headers.isEmpty || format != .metadata {
            call.mailbox.remember(id, revision: found.revision, format: format, bytes: bytes)
        }
        return .jsonBytes(bytes)
    }

    func getAttachment(_ call: Call) -> ProviderResponse {
        guard let message = call.mailbox.message(call.parameters[0]) else { return GoogleErrors.notFound(style: .modern) }
        guard let part = message.root.attachment(call.parameters[1]) else {
            return GoogleErrors.badRequest("Invalid attachment token", style: .modern)
        }
        return .json(GmailRepresentation.attachment(part))
    }

    func listHistory(_ call: Call) -> ProviderResponse {
        let query = call.query
        guard let startText = query["startHistoryId"] else {
            return GoogleErrors.badRequest("Missing startHistoryId", reason: "invalidArgument", style: .modern)
        }
        guard let start = UInt64(startText) else {
            return GoogleErrors.invalidParameter("Invalid startHistoryId", parameter: "startHistoryId", style: .modern)
        }
        let max: Int
        switch Self.maxResults(query) {
        case .failure(let refusal): return refusal.response
        case .success(let value): max = value
        }
        let types = Set(query.all("historyTypes").flatMap { $0.split(separator: ",").map(String.init) })
        switch call.mailbox.history(
            start: start, types: types, labelId: query["labelId"], maxResults: max, pageToken: query["pageToken"],
            now: clock.nowMillis, retentionMillis: historyRetentionMillis)
        {
        case .tooOld: return GoogleErrors.notFound(style: .modern)
        case .invalidPageToken: return GoogleErrors.invalidParameter("Invalid pageToken", parameter: "pageToken", style: .modern)
        case .page(let records, let next, let historyId):
            var object = JSONObjectBuilder()
            if !records.isEmpty { object.set("history", .array(records.map(\.json))) }
            object.setIfPresent("nextPageToken", next)
            object.set("historyId", String(historyId))
            return .json(object.json)
        }
    }

    func listLabels(_ call: Call) -> ProviderResponse {
        .json(.object([("labels", .array(call.mailbox.labels().map(\.json)))]))
    }

    func getLabel(_ call: Call) -> ProviderResponse {
        guard let label = call.mailbox.labels().first(where: { $0.id == call.parameters[0] }) else {
            return GoogleErrors.notFound(style: .modern)
        }
        let counts = call.mailbox.counts(label: label.id)
        var json = label.json
        json = json.setting("messagesTotal", .int(Int64(counts.total))).setting("messagesUnread", .int(Int64(counts.unread)))
        json = json.setting("threadsTotal", .int(Int64(counts.threadsTotal))).setting("threadsUnread", .int(Int64(counts.threadsUnread)))
        return .json(json)
    }

    func createLabel(_ call: Call) -> ProviderResponse {
        guard let name = call.request.json?["name"]?.stringValue, !name.isEmpty else {
            return GoogleErrors.badRequest("Invalid label name", reason: "invalidArgument", style: .modern)
        }
        guard let label = call.mailbox.createLabel(name: name) else {
            return GoogleErrors.response(
                code: 409, message: "Label name exists or conflicts",
                items: [.init(reason: "failedPrecondition", message: "Label name exists or conflicts")],
                status: "FAILED_PRECONDITION", style: .modern)
        }
        return .json(label.json)
    }

    func listThreads(_ call: Call) -> ProviderResponse {
        let query = call.query
        let max: Int
        switch Self.maxResults(query) {
        case .failure(let refusal): return refusal.response
        case .success(let value): max = value
        }
        let q = query["q"] ?? ""
        let labelIds = query.all("labelIds").flatMap { $0.split(separator: ",").map(String.init) }
        let search = MailSearch(q, now: clock.nowMillis, labelNamed: labelResolver(call.mailbox))
        let includeSpamTrash = query.bool("includeSpamTrash") ?? false || search.reachesSpamTrash
        var seen: Set<String> = []
        let predicate = search.predicate
        // Threads are listed by their newest matching message; each thread once.
        guard
            let page = call.mailbox.list(
                fingerprint: "threads|\(q)|\(labelIds)", maxResults: max, pageToken: query["pageToken"],
                matching: { message in
                    if !includeSpamTrash, message.has("SPAM") || message.has("TRASH") { return false }
                    for label in labelIds where !message.has(label) { return false }
                    guard q.isEmpty || predicate(message) else { return false }
                    return seen.insert(message.threadId).inserted
                })
        else { return GoogleErrors.invalidParameter("Invalid pageToken", parameter: "pageToken", style: .modern) }
        var object = JSONObjectBuilder()
        if !page.messages.isEmpty {
            object.set(
                "threads",
                .array(
                    page.messages.map { message in
                        .object([
                            ("id", .string(message.threadId)), ("snippet", .string(message.snippet)),
                            ("historyId", .string(String(message.historyId))),
                        ])
                    }))
        }
        object.setIfPresent("nextPageToken", page.nextPageToken)
        object.set("resultSizeEstimate", page.estimate)
        return .json(object.json)
    }

    func getThread(_ call: Call) -> ProviderResponse {
        guard let messages = call.mailbox.thread(call.parameters[0]), !messages.isEmpty else {
            return GoogleErrors.notFound(style: .modern)
        }
        let format = GmailFormat(rawValue: (call.query["format"] ?? "full").lowercased()) ?? .full
        let headers = call.query.all("metadataHeaders")
        return .json(
            .object([
                ("id", .string(call.parameters[0])), ("historyId", .string(String(messages.map(\.historyId).max() ?? 0))),
                ("messages", .array(messages.map { GmailRepresentation.message($0, format: format, metadataHeaders: headers) })),
            ]))
    }

    func watch(_ call: Call) -> ProviderResponse {
        guard call.request.json?["topicName"]?.stringValue != nil else {
            return GoogleErrors.badRequest("Invalid topicName", reason: "invalidArgument", style: .modern)
        }
        return .json(
            .object([
                ("historyId", .string(String(call.mailbox.historyId))),
                ("expiration", .string(String(clock.nowMillis + 7 * 86_400_000))),
            ]))
    }
}

extension String {
    var replacingSpaces: String { String(map { $0 == " " ? "-" : $0 }) }
}
