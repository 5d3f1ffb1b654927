/// Jira Cloud REST v3: OAuth 2.0 (3LO) under `/ex/jira/{cloudid}/rest/api/3` with Bearer tokens,
/// and the site paths `/rest/api/3` with Basic `email:api_token`. Search (`/search/jql`; the old
/// `/search` answers 410), issues, comments (ADF), transitions, watchers, `myself`.
struct JiraService: FakeService {
    let store: JiraStore
    let authority: TokenAuthority
    let cloudId: String
    let apiToken: String
    let baseURLs: BaseURLs
    let burst: SlidingWindowLimiter?
    let resources: AccessibleResources
    let webhooks: WebhookSender

    static let readScopes: Set<String> = [
        "read:jira-work", "read:issue:jira", "read:issue-details:jira", "read:jql:jira", "read:comment:jira",
    ]
    static let writeScopes: Set<String> = ["write:jira-work", "write:comment:jira", "write:issue:jira"]
    static let userScopes: Set<String> = ["read:jira-user", "read:me", "read:account", "read:jira-work"]

    /// One routed call.
    struct Call {
        let request: ProviderRequest
        let parameters: [String]
        let viewer: String
        let representation: JiraRepresentation
    }

    struct Endpoint: Sendable {
        let scopes: Set<String>
        let handle: @Sendable (JiraService, Call) -> ProviderResponse
    }

    static let routes = RouteTable<Endpoint>(routes: [
        Route("GET", "/search/jql", Endpoint(scopes: readScopes) { $0.search($1) }),
        Route("POST", "/search/jql", Endpoint(scopes: readScopes) { $0.search($1) }),
        Route("POST", "/search/approximate-count", Endpoint(scopes: readScopes) { $0.approximateCount($1) }),
        Route("GET", "/search", Endpoint(scopes: readScopes) { _, _ in JiraService.searchRemoved }),
        Route("POST", "/search", Endpoint(scopes: readScopes) { _, _ in JiraService.searchRemoved }),
        Route("GET", "/issue/{key}", Endpoint(scopes: readScopes) { $0.getIssue($1) }),
        Route("GET", "/issue/{key}/comment", Endpoint(scopes: readScopes) { $0.listComments($1) }),
        Route("POST", "/issue/{key}/comment", Endpoint(scopes: writeScopes) { $0.addComment($1) }),
        Route("GET", "/issue/{key}/comment/{id}", Endpoint(scopes: readScopes) { $0.getComment($1) }),
        Route("GET", "/issue/{key}/transitions", Endpoint(scopes: readScopes) { $0.listTransitions($1) }),
        Route("POST", "/issue/{key}/transitions", Endpoint(scopes: writeScopes) { $0.transition($1) }),
        Route("GET", "/issue/{key}/watchers", Endpoint(scopes: readScopes) { $0.watchers($1) }),
        Route("GET", "/myself", Endpoint(scopes: userScopes) { $0.myself($1) }),
        Route("GET", "/user", Endpoint(scopes: userScopes) { $0.userByAccount($1) }),
        Route("GET", "/project/{key}", Endpoint(scopes: readScopes) { $0.project($1) }),
    ])

    static let searchRemoved = ProviderResponse.json(
        .object([
            (
                "errorMessages",
                .array([
                    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
                ])
            ), ("errors", .object([])),
        ]), status: 410)

    static func errors(_ messages: [String], fields: [(String, JSON)] = [], status: Int) -> ProviderResponse {
        .json(.object([("errorMessages", .array(messages.map { .string($0) })), ("errors", .object(fields))]), status: status)
    }

    static let notAuthenticated = errors(["Client must be authenticated to access this resource."], status: 401)
    static let issueNotFound = errors(["Issue does not exist or you do not have permission to see it."], status: 404)

    func respond(to request: ProviderRequest) async -> ProviderResponse {
        let segments = request.segments
        if segments == ["oauth", "token", "accessible-resources"], request.method == "GET" { return resources.respond(to: request) }
        var offset: Int
        var viewer: String
        var base: String
        var scopes: Set<String>?
        if segments.count >= 6, segments[0] == "ex", segments[1] == "jira", segments[3] == "rest", segments[4] == "api" {
            switch authority.validate(request.bearerToken) {
            case .failure: return .json(.object([("code", 401), ("message", "Unauthorized")]), status: 401)
            case .success(let principal):
                guard segments[2] == cloudId else { return .json(.object([("code", 404), ("message", "Not Found")]), status: 404) }
                guard let person = store.directory.user(principal.user) else { return Self.notAuthenticated }
                viewer = person.accountId
                scopes = principal.scopes
            }
            guard segments[5] == "3" || (segments[5] == "2" && segments.count == 7 && segments[6] == "search") else {
                return Self.errors(["null for uri: \(request.path)"], status: 404)
            }
            if segments[5] == "2" { return Self.searchRemoved }
            offset = 6
            base = baseURLs[.jira] + "/ex/jira/" + cloudId
        } else if segments.count >= 3, segments[0] == "rest", segments[1] == "api" {
            if segments[2] == "2", segments.count == 4, segments[3] == "search" { return Self.searchRemoved }
            guard segments[2] == "3" else { return Self.errors(["null for uri: \(request.path)"], status: 404) }
            guard let credentials = request.basicCredentials, credentials.password == apiToken,
                let person = store.directory.user(credentials.user)
            else { return Self.notAuthenticated }
            viewer = person.accountId
            offset = 3
            base = baseURLs[.jira]
        } else {
            return Self.errors(["null for uri: \(request.path)"], status: 404)
        }
        guard case .found(let endpoint, let parameters) = Self.routes.resolve(request, offset: offset) else {
            return Self.errors(["null for uri: \(request.path)"], status: 404)
        }
        if let scopes, scopes.isDisjoint(with: endpoint.scopes) {
            return .json(.object([("code", 401), ("message", "Unauthorized; scope does not match")]), status: 401)
        }
        if let burst {
            let key = viewer + " " + request.method + " " + request.segments[offset...].prefix(2).joined(separator: "/")
            let outcome = burst.spend(1, key: key, now: store.clock.nowMillis)
            if !outcome.allowed {
                var response = Self.errors(["Rate limit exceeded."], status: 429)
                let retry = max(1, (outcome.retryAtMillis - store.clock.nowMillis + 999) / 1000)
                let reset = String(Timestamps.rfc3339(store.clock.nowMillis + retry * 1000).prefix(16)) + "Z"
                response.headers += [
                    ("Retry-After", String(retry)), ("X-RateLimit-Reset", reset), ("X-RateLimit-Limit", String(burst.limit)),
                    ("X-RateLimit-Remaining", "0"), ("RateLimit-Reason", "jira-burst-based"),
                ]
                return response
            }
        }
        let representation = JiraRepresentation(base: base, directory: store.directory, store: store)
        return endpoint.handle(self, Call(request: request, parameters: parameters, viewer: viewer, representation: representation))
    }
}
