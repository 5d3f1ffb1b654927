import Crypto

/// The GitHub REST API: repositories, pull requests, issues (with PRs), comments, issue search,
/// `/user`, `/rate_limit` and the OAuth app token endpoints. Every answer carries the five
/// `x-ratelimit-*` headers; GETs carry an ETag and answer `If-None-Match` with a 304 that does
/// not count against the limit; lists page with absolute `link` URLs.
struct GitHubService: FakeService {
    let store: GitHubStore
    let authority: TokenAuthority
    let limiter: GitHubRateLimiter
    let baseURLs: BaseURLs
    let client: OAuthClientRegistration
    let mode: FakeProvidersConfiguration.GitHubTokenMode
    let webhooks: WebhookSender

    static let versions: Set<String> = ["2022-11-28", "2026-03-10"]

    /// One routed call.
    struct Call {
        let request: ProviderRequest
        let parameters: [String]
        /// The token owner's login; nil when anonymous.
        let login: String?
        let representation: GitHubRepresentation
    }

    typealias Handler = @Sendable (GitHubService, Call) -> ProviderResponse

    static let routes = RouteTable<Handler>(routes: [
        Route("GET", "/user", { $0.currentUser($1) }),
        Route("GET", "/user/repos", { $0.listRepos($1) }),
        Route("GET", "/orgs/{org}/repos", { $0.listRepos($1) }),
        Route("GET", "/repos/{owner}/{repo}", { $0.getRepo($1) }),
        Route("GET", "/repos/{owner}/{repo}/pulls", { $0.listPulls($1) }),
        Route("GET", "/repos/{owner}/{repo}/pulls/{number}", { $0.getPull($1) }),
        Route("GET", "/repos/{owner}/{repo}/pulls/{number}/requested_reviewers", { $0.requestedReviewers($1) }),
        Route("GET", "/repos/{owner}/{repo}/issues", { $0.listIssues($1) }),
        Route("GET", "/repos/{owner}/{repo}/issues/{number}", { $0.getIssue($1) }),
        Route("GET", "/repos/{owner}/{repo}/issues/{number}/comments", { $0.listComments($1) }),
        Route("POST", "/repos/{owner}/{repo}/issues/{number}/comments", { $0.addComment($1) }),
        Route("GET", "/search/issues", { $0.searchIssues($1) }),
    ])

    static func message(_ text: String, status: Int, documentation: String = "https://docs.github.com/rest") -> ProviderResponse {
        .json(
            .object([("message", .string(text)), ("documentation_url", .string(documentation)), ("status", .string(String(status)))]),
            status: status, contentType: "application/json; charset=utf-8")
    }

    static let notFound = message("Not Found", status: 404)

    func respond(to request: ProviderRequest) async -> ProviderResponse {
        guard let agent = request.header("user-agent"), !agent.isEmpty else {
            return .text(
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n",
                status: 403)
        }
        if let version = request.header("x-github-api-version"), !Self.versions.contains(version) {
            return Self.message(
                "API version \(version) is not supported.", status: 400, documentation: "https://docs.github.com/rest/overview/api-versions"
            )
        }
        if request.segments.first == "applications" { return applications(request) }
        let now = authority.clock.nowSeconds
        var login: String?
        var key = "anonymous"
        if let token = request.bearerToken {
            guard case .success(let principal) = authority.validate(token), let person = store.directory.user(principal.user) else {
                var response = Self.message("Bad credentials", status: 401)
                response.headers += limiter.check(key: "anonymous", resource: .core, anonymous: true, nowSeconds: now, spend: true).headers
                return response
            }
            login = person.githubLogin
            key = person.githubLogin
        }
        let resource: GitHubRateLimiter.Resource = request.segments.first == "search" ? .search : .core
        if request.path == "/rate_limit" { return rateLimit(key: key, anonymous: login == nil, now: now) }
        if let exhausted = limiter.exhausted(key: key, resource: resource, anonymous: login == nil, nowSeconds: now) {
            var response = Self.message(
                login == nil
                    ? "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
                    : "API rate limit exceeded for user ID \(store.directory.user(githubLogin: login!)?.githubId ?? 0).",
                status: 403, documentation: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
            response.headers += exhausted.headers
            return response
        }
        var response: ProviderResponse
        switch Self.routes.resolve(request) {
        case .found(let handler, let parameters):
            let representation = GitHubRepresentation(
                api: baseURLs[.github], directory: store.directory, store: store, now: authority.clock.nowMillis)
            response = handler(self, Call(request: request, parameters: parameters, login: login, representation: representation))
        case .methodNotAllowed, .notFound:
            response = Self.notFound
        }
        if request.method == "GET", response.status == 200 {
            let etag = "W/\"" + SHA256.hash(data: response.body).prefix(16).map { String($0, radix: 16).leftPadded(2) }.joined() + "\""
            if let match = request.header("if-none-match"), match.split(separator: ",").contains(where: { $0.trimmingSpaces == etag }) {
                let snapshot = limiter.check(key: key, resource: resource, anonymous: login == nil, nowSeconds: now, spend: false)
                return ProviderResponse(status: 304, headers: Self.common + snapshot.headers + [("ETag", etag)])
            }
            response.headers.append(("ETag", etag))
        }
        let snapshot = limiter.check(key: key, resource: resource, anonymous: login == nil, nowSeconds: now, spend: true)
        response.headers += Self.common + snapshot.headers
        if mode == .oauthApp, login != nil {
            response.headers += [("X-OAuth-Scopes", "repo, read:user"), ("X-Accepted-OAuth-Scopes", "repo")]
        }
        return response
    }

    /// Headers of every API answer (a fresh request id each time).
    static var common: [(name: String, value: String)] {
        [
            ("X-GitHub-Api-Version-Selected", "2022-11-28"), ("X-GitHub-Media-Type", "github.v3; format=json"),
            ("X-GitHub-Request-Id", "FAKE:" + OpaqueToken.hex(8).uppercased() + ":" + OpaqueToken.hex(6).uppercased()),
            ("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP"),
        ]
    }

    private func rateLimit(key: String, anonymous: Bool, now: Int64) -> ProviderResponse {
        let core = limiter.check(key: key, resource: .core, anonymous: anonymous, nowSeconds: now, spend: false)
        let search = limiter.check(key: key, resource: .search, anonymous: anonymous, nowSeconds: now, spend: false)
        func entry(_ s: GitHubRateLimiter.Snapshot) -> JSON {
            .object([
                ("limit", .int(Int64(s.limit))), ("used", .int(Int64(s.used))), ("remaining", .int(Int64(s.remaining))),
                ("reset", .int(s.reset)),
            ])
        }
        var response = ProviderResponse.json(
            .object([("resources", .object([("core", entry(core)), ("search", entry(search))])), ("rate", entry(core))]),
            contentType: "application/json; charset=utf-8")
        response.headers += Self.common + core.headers
        return response
    }

    /// `DELETE /applications/{client_id}/token` (revoke), `POST` (check), `DELETE .../grant`.
    private func applications(_ request: ProviderRequest) -> ProviderResponse {
        let segments = request.segments
        guard segments.count == 3, let credentials = request.basicCredentials else { return Self.notFound }
        guard credentials.user == client.clientId, credentials.password == client.clientSecret, segments[1] == client.clientId else {
            return Self.message("Bad credentials", status: 401)
        }
        guard let token = request.json?["access_token"]?.stringValue else {
            return .json(
                .object([
                    ("message", "Invalid request.\n\n\"access_token\" wasn't supplied."),
                    ("documentation_url", "https://docs.github.com/rest/apps/oauth-applications"), ("status", "422"),
                ]),
                status: 422)
        }
        switch (request.method, segments[2]) {
        case ("DELETE", "token"), ("DELETE", "grant"):
            return authority.revoke(token: token) ? .empty(204) : Self.notFound
        case ("POST", "token"):
            guard let owner = authority.owner(ofAccessToken: token), let person = store.directory.user(owner.user) else {
                return Self.notFound
            }
            let representation = GitHubRepresentation(
                api: baseURLs[.github], directory: store.directory, store: store, now: authority.clock.nowMillis)
            return .json(
                .object([
                    ("token", .string(token)), ("scopes", .array(owner.scopes.map { .string($0) })),
                    ("user", representation.user(person.githubLogin)),
                    (
                        "app",
                        .object([("client_id", .string(client.clientId)), ("name", "Fake Providers App"), ("url", "https://example.test")])
                    ),
                ]), contentType: "application/json; charset=utf-8")
        default:
            return Self.notFound
        }
    }
}
