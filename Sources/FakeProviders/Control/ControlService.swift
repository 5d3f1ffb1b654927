// The control API of FakeProviders (its own port; JSON in and out). Tests and `scripts/up` call
// exactly these; every mutation changes a provider's data the way the real API would show it
// (history records, change numbers, etags, versions, updated times).
//
//   GET    /control/health                          → 200 {"status":"ok"}
//   GET    /control/urls                            → the startup JSON line (base URLs, clients, cloud_id)
//   GET    /control/users                           → {"users":[address, ...]} (the first has the big mailbox)
//   POST   /control/consent        {"provider":"google|atlassian|github","user":"alice@acme.test","deny"?:false}
//          who consents at the next authorize requests of that provider (default: the first user);
//          `login_hint` (Google) or `login` (GitHub) on the authorize request wins; deny → error=access_denied
//   POST   /control/clock          {"advance_seconds": N}   moves the fakes' clock → {"now": RFC 3339}
//   POST   /control/tokens/expire  {"provider","user"}      that user's access tokens expire now
//   POST   /control/tokens/revoke  {"provider","user"}      access and refresh tokens revoked (refresh → invalid_grant)
//   POST   /control/tokens/issue   {"provider","user","scopes"?:[..]} → {"access_token","refresh_token"?,"expires_in"?}
//          (no browser dance; every scope of the provider when none given)
//   POST   /control/faults         {"service":"gmail|calendar|drive|jira|github|google_oauth|atlassian_auth|github_oauth",
//                                   "path_prefix":"/gmail/v1/users/me/messages","method"?:"GET","count":N,"status"?:429,
//                                   "headers"?:{"Retry-After":"2"},"body"?:"...","delay_ms"?:0}
//          the next N matching requests get this answer (vendor-shaped body when none is given);
//          status 0 = hold delay_ms then close the connection (a timeout); no status = answer normally after delay_ms
//   DELETE /control/faults                                   clears them
//   POST   /control/gmail/{user}/messages   {"from","to":[..],"cc"?:[..],"subject","body","headers"?:{..},
//                                            "thread_id"?,"in_reply_to"?} → {"id","threadId","historyId"}
//          (in_reply_to: a Gmail id of the mailbox or a Message-ID; sets In-Reply-To/References and the thread)
//   DELETE /control/gmail/{user}/messages/{id}              permanent delete (messageDeleted history)
//   POST   /control/gmail/{user}/labels     {"id","add":[..],"remove":[..]} → {"id","labelIds","historyId"}
//   POST   /control/gmail/{user}/expire-history            every historyId issued so far → 404 on history.list
//   GET    /control/gmail/{user}/sent                      {"messages":[{id,threadId,labelIds,internalDate,headers{..},body,raw}]}
//   GET    /control/gmail/{user}/drafts                    {"drafts":[{draft_id,id,threadId,headers{..},body}]}
//   POST   /control/calendar/{user}/events  (an event as events.insert takes it; "calendarId"? query) → event
//   GET    /control/calendar/{user}/events/{id}            → event (instances too: <series>_<stamp>)
//   PATCH  /control/calendar/{user}/events/{id}  {...}     → event (patch semantics)
//   DELETE /control/calendar/{user}/events/{id}            the event becomes cancelled
//   POST   /control/calendar/{user}/invalidate-sync        410 fullSyncRequired for every sync token issued so far
//   POST   /control/drive/{user}/files      {"name","mimeType","text"?,"shared_publicly"?} → file
//   PATCH  /control/drive/{user}/files/{id} {"name"?,"text"?,"trashed"?,"shared_publicly"?} → file
//   DELETE /control/drive/{user}/files/{id}                 removed (a `removed: true` change)
//   POST   /control/jira/issues  {"summary","assignee"?,"reporter"?,"watchers"?,"duedate"?,"priority"?,"labels"?,
//                                  "type"?,"status"?,"description"?} → {"id","key"}   (people by email or accountId)
//   GET    /control/jira/issues/{key}                      → the issue (all fields) with "status" and "comments"
//   PATCH  /control/jira/issues/{key}   (same fields)      → {"id","key"}
//   DELETE /control/jira/issues/{key}
//   POST   /control/github/pulls    {"repo","title","author","requested_reviewers":[..],"head_ref"?,"body"?,"draft"?} → PR
//   PATCH  /control/github/pulls/{repo}/{number}  {"state"?,"merged"?,"title"?,"requested_reviewers"?} → PR
//   POST   /control/github/issues   {"repo","title","assignees":[..],"author"?,"body"?,"labels"?} → issue
//   GET    /control/github/comments?repo=&number=      → {"comments":[{id,user,body,created_at}]}
//   GET    /control/requests?service=gmail&since=<seq> → {"requests":[{seq,service,method,path,query,has_authorization,status}],"next_seq"}
//   POST   /control/webhooks       {"service":"github|jira","url","secret"?,"events"?:[..]} → {"id"}
//          GitHub: pull_request (opened, review_requested, edited, closed, reopened, review_request_removed), issues
//          (opened), issue_comment (created), signed X-Hub-Signature-256 (+ sha1), X-GitHub-Delivery, never retried.
//          Jira: jira:issue_created/updated (changelog)/deleted, comment_created; X-Atlassian-Webhook-Identifier
//          stable across its retries, X-Hub-Signature: sha256=... when a secret is set.
//   DELETE /control/webhooks                                 forgets every endpoint and delivery
//   GET    /control/webhooks/deliveries                      → {"deliveries":[{id,service,event,url,attempts,status}]}
//   POST   /control/webhooks/redeliver {"delivery": id}     sends it again with the same delivery id
//
// People: Gmail/Calendar/Drive paths take the user's address; Jira fields take an address or an
// accountId; GitHub fields take a login or an address.

/// The control port: steers the fakes (consent, clock, tokens, faults), changes their data, and
/// shows what clients did. The routes are listed at the top of this file.
struct ControlService: FakeService {
    let world: FakeWorld

    typealias Handler = @Sendable (ControlService, ProviderRequest, [String]) -> ProviderResponse

    static let routes = RouteTable<Handler>(routes: [
        Route("GET", "/control/health", { _, _, _ in .json(.object([("status", "ok")])) }),
        Route("GET", "/control/urls", { service, _, _ in service.urls() }),
        Route(
            "GET", "/control/users",
            { service, _, _ in .json(.object([("users", .array(service.world.directory.users.map { .string($0.email) }))])) }),
        Route("POST", "/control/consent", { service, request, _ in service.consent(request) }),
        Route("POST", "/control/clock", { service, request, _ in service.clock(request) }),
        Route("POST", "/control/tokens/expire", { service, request, _ in service.tokens(request, action: "expire") }),
        Route("POST", "/control/tokens/revoke", { service, request, _ in service.tokens(request, action: "revoke") }),
        Route("POST", "/control/tokens/issue", { service, request, _ in service.tokens(request, action: "issue") }),
        Route("POST", "/control/faults", { service, request, _ in service.addFault(request) }),
        Route("DELETE", "/control/faults", { service, _, _ in service.clearFaults() }),
        Route("GET", "/control/requests", { service, request, _ in service.requests(request) }),
        Route("POST", "/control/gmail/{user}/messages", { $0.gmailAdd($1, $2) }),
        Route("DELETE", "/control/gmail/{user}/messages/{id}", { $0.gmailDelete($1, $2) }),
        Route("POST", "/control/gmail/{user}/labels", { $0.gmailLabels($1, $2) }),
        Route("POST", "/control/gmail/{user}/expire-history", { $0.gmailExpire($1, $2) }),
        Route("GET", "/control/gmail/{user}/sent", { $0.gmailSent($1, $2) }),
        Route("GET", "/control/gmail/{user}/drafts", { $0.gmailDrafts($1, $2) }),
        Route("POST", "/control/calendar/{user}/events", { $0.calendarInsert($1, $2) }),
        Route("GET", "/control/calendar/{user}/events/{id}", { $0.calendarGet($1, $2) }),
        Route("PATCH", "/control/calendar/{user}/events/{id}", { $0.calendarPatch($1, $2) }),
        Route("DELETE", "/control/calendar/{user}/events/{id}", { $0.calendarDelete($1, $2) }),
        Route("POST", "/control/calendar/{user}/invalidate-sync", { $0.calendarInvalidate($1, $2) }),
        Route("POST", "/control/drive/{user}/files", { $0.driveCreate($1, $2) }),
        Route("PATCH", "/control/drive/{user}/files/{id}", { $0.driveUpdate($1, $2) }),
        Route("DELETE", "/control/drive/{user}/files/{id}", { $0.driveDelete($1, $2) }),
        Route("POST", "/control/jira/issues", { service, request, _ in service.jiraCreate(request) }),
        Route("GET", "/control/jira/issues/{key}", { $0.jiraGet($1, $2) }),
        Route("PATCH", "/control/jira/issues/{key}", { $0.jiraUpdate($1, $2) }),
        Route("DELETE", "/control/jira/issues/{key}", { $0.jiraDelete($1, $2) }),
        Route("POST", "/control/github/pulls", { service, request, _ in service.githubCreatePull(request) }),
        Route("PATCH", "/control/github/pulls/{repo}/{number}", { $0.githubUpdatePull($1, $2) }),
        Route("POST", "/control/github/issues", { service, request, _ in service.githubCreateIssue(request) }),
        Route("GET", "/control/github/comments", { service, request, _ in service.githubComments(request) }),
        Route("POST", "/control/webhooks", { service, request, _ in service.webhookRegister(request) }),
        Route("DELETE", "/control/webhooks", { service, _, _ in service.webhookClear() }),
        Route("GET", "/control/webhooks/deliveries", { service, _, _ in service.webhookDeliveries() }),
        Route("POST", "/control/webhooks/redeliver", { service, request, _ in service.webhookRedeliver(request) }),
    ])

    func respond(to request: ProviderRequest) async -> ProviderResponse {
        switch Self.routes.resolve(request) {
        case .found(let handler, let parameters): return handler(self, request, parameters)
        case .methodNotAllowed: return Self.error("method not allowed", status: 405)
        case .notFound: return Self.error("no control route \(request.method) \(request.path)", status: 404)
        }
    }

    static func error(_ message: String, status: Int = 400) -> ProviderResponse {
        .json(.object([("error", .string(message))]), status: status)
    }

    static let ok = ProviderResponse.json(.object([("status", "ok")]))

    /// The JSON body as an object, or the 400 saying it is not one.
    static func body(_ request: ProviderRequest) -> Result<JSON, GateRefusal> {
        guard let json = request.json, json.objectValue != nil else {
            return .failure(GateRefusal(error("the body must be a JSON object")))
        }
        return .success(json)
    }

    func urls() -> ProviderResponse {
        guard let urls = world.urls.withLock({ $0 }) else { return Self.error("not started", status: 503) }
        return .json(urls.json)
    }

    func consent(_ request: ProviderRequest) -> ProviderResponse {
        guard case .success(let body) = Self.body(request),
            let provider = body["provider"]?.stringValue.flatMap(OAuthProvider.init(rawValue:)),
            let user = body["user"]?.stringValue, let person = world.directory.user(user)
        else { return Self.error("needs a provider (google, atlassian, github) and a known user") }
        world.consent.set(provider, user: person.email, deny: body["deny"]?.boolValue ?? false)
        return Self.ok
    }

    func clock(_ request: ProviderRequest) -> ProviderResponse {
        guard case .success(let body) = Self.body(request),
            let seconds = body["advance_seconds"].flatMap({ value -> Double? in
                if case .double(let d) = value { return d }
                return value.intValue.map(Double.init)
            })
        else { return Self.error("needs advance_seconds") }
        world.clock.advance(seconds: seconds)
        return .json(.object([("now", .string(Timestamps.rfc3339Millis(world.clock.nowMillis)))]))
    }

    static let allScopes: [OAuthProvider: [String]] = [
        .google: [
            GmailService.full, GmailService.readonly, GmailService.modify, GmailService.compose, GmailService.send,
            "https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/drive", "openid", "email", "profile",
        ],
        .atlassian: ["read:jira-work", "write:jira-work", "read:jira-user", "offline_access"],
        .github: [],
    ]

    func tokens(_ request: ProviderRequest, action: String) -> ProviderResponse {
        guard case .success(let body) = Self.body(request),
            let provider = body["provider"]?.stringValue.flatMap(OAuthProvider.init(rawValue:)),
            let user = body["user"]?.stringValue, let person = world.directory.user(user)
        else { return Self.error("needs a provider (google, atlassian, github) and a known user") }
        let authority = world.authority(provider)
        switch action {
        case "expire": authority.expireAccessTokens(of: person.email)
        case "revoke": authority.revokeAll(of: person.email)
        default:
            let client = world.oauthSetup(provider).client
            let issued = authority.issueDirect(
                user: person.email, clientId: client.clientId, scopes: body["scopes"]?.stringArray ?? Self.allScopes[provider] ?? [])
            var object = JSONObjectBuilder()
            object.set("access_token", issued.accessToken)
            object.setIfPresent("refresh_token", issued.refreshToken)
            object.setIfPresent("expires_in", issued.expiresIn)
            object.set("scope", issued.scopes.joined(separator: provider == .github ? "," : " "))
            return .json(object.json)
        }
        return Self.ok
    }

    func addFault(_ request: ProviderRequest) -> ProviderResponse {
        guard case .success(let body) = Self.body(request), let service = body["service"]?.stringValue.flatMap(ServiceKind.init(rawValue:)),
            service != .control
        else { return Self.error("needs a service: gmail, calendar, drive, jira, github, google_oauth, atlassian_auth, github_oauth") }
        let headers = (body["headers"]?.objectValue ?? []).compactMap { pair -> (name: String, value: String)? in
            if let text = pair.1.stringValue { return (pair.0, text) }
            return pair.1.intValue.map { (pair.0, String($0)) }
        }
        let status = body["status"].flatMap { $0.isNull ? nil : $0.intValue }.map(Int.init)
        if let status, status != 0, !(100...599).contains(status) { return Self.error("status must be 0 or 100...599") }
        world.faults.add(
            FaultInjector.Fault(
                service: service, pathPrefix: body["path_prefix"]?.stringValue ?? "/", method: body["method"]?.stringValue?.uppercased(),
                remaining: Int(body["count"]?.intValue ?? 1), status: status, headers: headers, body: body["body"]?.stringValue,
                delayMillis: Int(body["delay_ms"]?.intValue ?? 0)))
        return Self.ok
    }

    func clearFaults() -> ProviderResponse {
        world.faults.clear()
        return Self.ok
    }

    func requests(_ request: ProviderRequest) -> ProviderResponse {
        var service: ServiceKind?
        if let name = request.query["service"] {
            guard let kind = ServiceKind(rawValue: name) else { return Self.error("unknown service \(name)") }
            service = kind
        }
        let since = Int64(request.query["since"] ?? "0") ?? 0
        let entries = world.requestLog.entries(service: service, since: since)
        return .json(.object([("requests", .array(entries.map(\.json))), ("next_seq", .int(world.requestLog.nextSeq))]))
    }
}
