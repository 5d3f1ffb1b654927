/// auth.atlassian.com (3LO): `/authorize`, `/oauth/token` (JSON body; form accepted too) and
/// `/oauth/token/accessible-resources` (served here and on the Jira listener, which stands for
/// api.atlassian.com). No PKCE; refresh tokens rotate; errors in Auth0's shape (403 `invalid_grant`).
struct AtlassianAuthService: FakeService {
    let setup: OAuthSetup
    let resources: AccessibleResources

    func respond(to request: ProviderRequest) async -> ProviderResponse {
        switch (request.method, request.path) {
        case ("GET", "/authorize"): return authorize(request)
        case ("POST", "/oauth/token"): return token(request)
        case ("GET", "/oauth/token/accessible-resources"): return resources.respond(to: request)
        default: return .json(.object([("error", "not_found"), ("error_description", "Not Found")]), status: 404)
        }
    }

    private func authorize(_ request: ProviderRequest) -> ProviderResponse {
        let query = request.query
        let auth = AuthorizeRequest(query, scopeSeparator: " ")
        guard query["audience"] == "api.atlassian.com" else {
            return ErrorPage.html(status: 400, title: "Something went wrong", detail: "Invalid audience: \(query["audience"] ?? "(none)")")
        }
        guard auth.clientId == setup.client.clientId else {
            return ErrorPage.html(status: 400, title: "Something went wrong", detail: "Invalid client_id")
        }
        guard let redirect = auth.redirectURI, AuthorizeRequest.isAllowed(redirect, registered: setup.redirectURIs) else {
            return ErrorPage.html(
                status: 400, title: "Something went wrong",
                detail: "The redirect_uri MUST match the registered callback URL for this application.")
        }
        guard auth.responseType == "code" else {
            return AuthorizeRequest.redirect(
                to: redirect,
                [("error", "unsupported_response_type"), ("error_description", "Unsupported response type"), ("state", auth.state)])
        }
        guard !auth.scopes.isEmpty else {
            return AuthorizeRequest.redirect(
                to: redirect, [("error", "invalid_scope"), ("error_description", "No scopes"), ("state", auth.state)])
        }
        let decision = setup.consentingUser(hint: nil, provider: .atlassian)
        guard !decision.deny else {
            return AuthorizeRequest.redirect(
                to: redirect,
                [("error", "access_denied"), ("error_description", "User did not authorize the request"), ("state", auth.state)])
        }
        // Atlassian does not support PKCE: code_challenge is ignored.
        let code = setup.authority.issueCode(
            clientId: auth.clientId, redirectURI: redirect, user: decision.user, scopes: auth.scopes, challenge: nil, challengeMethod: nil,
            wantsRefresh: auth.scopes.contains("offline_access"), forceConsent: true)
        return AuthorizeRequest.redirect(to: redirect, [("code", code), ("state", auth.state)])
    }

    private static func error(_ code: String, _ description: String, status: Int) -> ProviderResponse {
        .json(.object([("error", .string(code)), ("error_description", .string(description))]), status: status)
    }

    private func token(_ request: ProviderRequest) -> ProviderResponse {
        let fields = QueryItems.tokenRequest(request)
        guard let client = setup.credentials(request, fields: fields), client.id == setup.client.clientId,
            client.secret == setup.client.clientSecret
        else { return Self.error("access_denied", "Unauthorized", status: 401) }
        let outcome: Result<TokenAuthority.Issued, TokenAuthority.Failure>
        switch fields["grant_type"] ?? "" {
        case "authorization_code":
            guard let code = fields["code"], !code.isEmpty else {
                return Self.error("invalid_request", "Missing required parameter: code", status: 400)
            }
            outcome = setup.authority.exchange(code: code, clientId: client.id, redirectURI: fields["redirect_uri"], verifier: nil)
        case "refresh_token":
            guard let token = fields["refresh_token"], !token.isEmpty else {
                return Self.error("invalid_request", "Missing required parameter: refresh_token", status: 400)
            }
            outcome = setup.authority.refresh(token, clientId: client.id)
        case let other:
            return Self.error("unsupported_grant_type", "Unsupported grant type: \(other)", status: 403)
        }
        switch outcome {
        case .success(let issued):
            var body = JSONObjectBuilder()
            body.set("access_token", issued.accessToken)
            body.setIfPresent("expires_in", issued.expiresIn)
            body.set("token_type", "bearer")
            body.setIfPresent("refresh_token", issued.refreshToken)
            body.set("scope", issued.scopes.joined(separator: " "))
            return .json(body.json)
        case .failure(let failure):
            switch failure {
            case .redirectMismatch: return Self.error("invalid_grant", "Invalid redirect_uri", status: 403)
            case .unknownCode, .codeExpired, .codeUsed, .clientMismatch, .missingVerifier, .wrongVerifier:
                return Self.error("invalid_grant", "Invalid authorization code", status: 403)
            case .unknownRefreshToken, .revokedRefreshToken, .expiredRefreshToken, .rotatedRefreshToken:
                return Self.error("invalid_grant", "Unknown or invalid refresh token.", status: 403)
            }
        }
    }
}

/// `GET /oauth/token/accessible-resources`: the one Jira site the fakes host.
struct AccessibleResources: Sendable {
    let authority: TokenAuthority
    let cloudId: String
    let siteName: String
    let baseURLs: BaseURLs

    func respond(to request: ProviderRequest) -> ProviderResponse {
        guard case .success(let principal) = authority.validate(request.bearerToken) else {
            return .json(.object([("code", 401), ("message", "Unauthorized")]), status: 401)
        }
        let jiraScopes = principal.scopes.filter { $0 != "offline_access" }.sorted()
        return .json(
            .array([
                .object([
                    ("id", .string(cloudId)), ("url", .string(baseURLs[.jira])), ("name", .string(siteName)),
                    ("scopes", .array(jiraScopes.map { .string($0) })),
                    ("avatarUrl", "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png"),
                ])
            ]))
    }
}
