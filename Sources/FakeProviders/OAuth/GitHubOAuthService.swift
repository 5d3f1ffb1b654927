/// github.com's OAuth: `/login/oauth/authorize` and `/login/oauth/access_token` (form or JSON
/// in; JSON, XML or form out by `Accept`; errors answered 200 with an `error` field, as GitHub
/// does). PKCE S256 only.
struct GitHubOAuthService: FakeService {
    let setup: OAuthSetup
    let mode: FakeProvidersConfiguration.GitHubTokenMode

    func respond(to request: ProviderRequest) async -> ProviderResponse {
        switch (request.method, request.path) {
        case ("GET", "/login/oauth/authorize"): return authorize(request)
        case ("POST", "/login/oauth/access_token"): return token(request)
        default: return ErrorPage.html(status: 404, title: "Page not found", detail: "This is not the web page you are looking for.")
        }
    }

    private func authorize(_ request: ProviderRequest) -> ProviderResponse {
        let query = request.query
        let auth = AuthorizeRequest(query, scopeSeparator: ",")
        guard auth.clientId == setup.client.clientId else {
            return ErrorPage.html(status: 404, title: "Page not found", detail: "This is not the web page you are looking for.")
        }
        guard let redirect = auth.redirectURI, AuthorizeRequest.isAllowed(redirect, registered: setup.redirectURIs) else {
            return ErrorPage.html(
                status: 400, title: "Redirect URI mismatch",
                detail: "The redirect_uri MUST match the registered callback URL for this application.")
        }
        if let method = auth.challengeMethod ?? (auth.challenge != nil ? "plain" : nil), method != "S256" {
            return AuthorizeRequest.redirect(
                to: redirect,
                [("error", "invalid_request"), ("error_description", "code_challenge_method must be S256"), ("state", auth.state)])
        }
        let decision = setup.consentingUser(hint: query["login"], provider: .github)
        guard !decision.deny else {
            return AuthorizeRequest.redirect(
                to: redirect,
                [
                    ("error", "access_denied"), ("error_description", "The user has denied your application access."),
                    (
                        "error_uri",
                        "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied"
                    ),
                    ("state", auth.state),
                ])
        }
        let scopes = mode == .app ? [] : (auth.scopes.isEmpty ? [] : auth.scopes)
        let code = setup.authority.issueCode(
            clientId: auth.clientId, redirectURI: redirect, user: decision.user, scopes: scopes, challenge: auth.challenge,
            challengeMethod: auth.challenge == nil ? nil : "S256", wantsRefresh: true, forceConsent: true)
        return AuthorizeRequest.redirect(to: redirect, [("code", code), ("state", auth.state)])
    }

    private func answer(_ pairs: [(String, JSON)], request: ProviderRequest) -> ProviderResponse {
        let accept = request.header("accept")?.lowercased() ?? ""
        if accept.contains("json") { return .json(.object(pairs), contentType: "application/json; charset=utf-8") }
        let flat: [(String, String)] = pairs.map { pair in
            switch pair.1 {
            case .string(let text): return (pair.0, text)
            case .int(let number): return (pair.0, String(number))
            default: return (pair.0, "")
            }
        }
        if accept.contains("xml") {
            let body = "<OAuth>" + flat.map { "<\($0.0)>\($0.1)</\($0.0)>" }.joined() + "</OAuth>"
            return .text(body, status: 200, contentType: "application/xml; charset=utf-8")
        }
        return .text(PercentEncoding.form(flat), status: 200, contentType: "application/x-www-form-urlencoded; charset=utf-8")
    }

    private func error(_ code: String, _ description: String, anchor: String, request: ProviderRequest) -> ProviderResponse {
        answer(
            [
                ("error", .string(code)), ("error_description", .string(description)),
                (
                    "error_uri",
                    .string(
                        "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#\(anchor)")
                ),
            ], request: request)
    }

    private func token(_ request: ProviderRequest) -> ProviderResponse {
        let fields = QueryItems.tokenRequest(request)
        guard let client = setup.credentials(request, fields: fields), client.id == setup.client.clientId,
            client.secret == setup.client.clientSecret
        else {
            return error(
                "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.",
                anchor: "incorrect-client-credentials",
                request: request)
        }
        let grantType = fields["grant_type"] ?? (fields["refresh_token"] != nil ? "refresh_token" : "authorization_code")
        let outcome: Result<TokenAuthority.Issued, TokenAuthority.Failure>
        switch grantType {
        case "authorization_code":
            outcome = setup.authority.exchange(
                code: fields["code"] ?? "", clientId: client.id, redirectURI: fields["redirect_uri"], verifier: fields["code_verifier"])
        case "refresh_token":
            guard mode == .app else {
                return error(
                    "unsupported_grant_type", "The grant type is not supported.", anchor: "unsupported-grant-type", request: request)
            }
            outcome = setup.authority.refresh(fields["refresh_token"] ?? "", clientId: client.id)
        default:
            return error("unsupported_grant_type", "The grant type is not supported.", anchor: "unsupported-grant-type", request: request)
        }
        switch outcome {
        case .success(let issued):
            var pairs: [(String, JSON)] = [("access_token", .string(issued.accessToken))]
            if let expires = issued.expiresIn { pairs.append(("expires_in", .int(expires))) }
            if let refresh = issued.refreshToken {
                pairs.append(("refresh_token", .string(refresh)))
                pairs.append(("refresh_token_expires_in", .int(issued.refreshExpiresIn ?? 15_811_200)))
            }
            pairs.append(("token_type", "bearer"))
            pairs.append(("scope", .string(issued.scopes.joined(separator: ","))))
            return answer(pairs, request: request)
        case .failure(let failure):
            switch failure {
            case .redirectMismatch:
                return error(
                    "redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.",
                    anchor: "redirect-uri-mismatch2", request: request)
            case .unknownRefreshToken, .revokedRefreshToken, .expiredRefreshToken, .rotatedRefreshToken:
                return error(
                    "bad_refresh_token", "The refresh token passed is incorrect or expired.", anchor: "bad-refresh-token", request: request)
            case .unknownCode, .codeExpired, .codeUsed, .clientMismatch, .missingVerifier, .wrongVerifier:
                return error(
                    "bad_verification_code", "The code passed is incorrect or expired.", anchor: "bad-verification-code", request: request)
            }
        }
    }
}
