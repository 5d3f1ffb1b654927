/// accounts.google.com and oauth2.googleapis.com: `/o/oauth2/v2/auth`, `/token`, `/revoke`,
/// `/tokeninfo` and the OpenID `userinfo`.
struct GoogleOAuthService: FakeService {
    let setup: OAuthSetup

    func respond(to request: ProviderRequest) async -> ProviderResponse {
        switch (request.method, request.path) {
        case ("GET", "/o/oauth2/v2/auth"), ("GET", "/o/oauth2/auth"): return authorize(request)
        case ("POST", "/token"), ("POST", "/o/oauth2/token"): return token(request)
        case ("POST", "/revoke"), ("GET", "/revoke"), ("POST", "/o/oauth2/revoke"): return revoke(request)
        case ("GET", "/tokeninfo"), ("POST", "/tokeninfo"): return tokenInfo(request)
        case ("GET", "/v1/userinfo"), ("GET", "/oauth2/v3/userinfo"): return userInfo(request)
        default:
            return ErrorPage.html(status: 404, title: "Error 404 (Not Found)", detail: "The requested URL was not found on this server.")
        }
    }

    private func authorize(_ request: ProviderRequest) -> ProviderResponse {
        let query = request.query
        let auth = AuthorizeRequest(query, scopeSeparator: " ")
        guard auth.clientId == setup.client.clientId else {
            return ErrorPage.html(
                status: 401, title: "Access blocked: Authorization Error",
                detail: "The OAuth client was not found. Error 401: invalid_client")
        }
        guard let redirect = auth.redirectURI else {
            return ErrorPage.html(
                status: 400, title: "Access blocked: Authorization Error",
                detail: "Missing required parameter: redirect_uri Error 400: invalid_request")
        }
        guard AuthorizeRequest.isAllowed(redirect, registered: setup.redirectURIs) else {
            return ErrorPage.html(
                status: 400, title: "Access blocked: This app's request is invalid",
                detail: "You can't sign in because this app sent an invalid request. Error 400: redirect_uri_mismatch")
        }
        guard auth.responseType == "code" else {
            return AuthorizeRequest.redirect(to: redirect, [("error", "unsupported_response_type"), ("state", auth.state)])
        }
        guard !auth.scopes.isEmpty else {
            return ErrorPage.html(
                status: 400, title: "Access blocked: Authorization Error",
                detail: "Missing required parameter: scope Error 400: invalid_request")
        }
        if let method = auth.challengeMethod ?? (auth.challenge != nil ? "plain" : nil), !["S256", "plain"].contains(method) {
            return ErrorPage.html(
                status: 400, title: "Access blocked: Authorization Error",
                detail: "Invalid code_challenge_method: \(method) Error 400: invalid_request")
        }
        let decision = setup.consentingUser(hint: query["login_hint"], provider: .google)
        guard !decision.deny else { return AuthorizeRequest.redirect(to: redirect, [("error", "access_denied"), ("state", auth.state)]) }
        let code = setup.authority.issueCode(
            clientId: auth.clientId, redirectURI: redirect, user: decision.user, scopes: auth.scopes, challenge: auth.challenge,
            challengeMethod: auth.challenge == nil ? nil : (auth.challengeMethod ?? "plain"),
            wantsRefresh: query["access_type"] == "offline", forceConsent: (query["prompt"] ?? "").split(separator: " ").contains("consent")
        )
        return AuthorizeRequest.redirect(
            to: redirect,
            [
                ("state", auth.state), ("code", code), ("scope", auth.scopes.joined(separator: " ")), ("authuser", "0"),
                ("prompt", "consent"),
            ])
    }

    private static func error(_ code: String, _ description: String, status: Int = 400) -> ProviderResponse {
        var response = ProviderResponse.json(
            .object([("error", .string(code)), ("error_description", .string(description))]), status: status)
        response.headers.append(("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"))
        return response
    }

    private func token(_ request: ProviderRequest) -> ProviderResponse {
        let fields = QueryItems.tokenRequest(request)
        guard let client = setup.credentials(request, fields: fields) else {
            return Self.error("invalid_request", "Could not determine client ID from request.")
        }
        guard client.id == setup.client.clientId else {
            return Self.error("invalid_client", "The OAuth client was not found.", status: 401)
        }
        guard client.secret == setup.client.clientSecret else { return Self.error("invalid_client", "Unauthorized", status: 401) }
        let grantType = fields["grant_type"] ?? ""
        let outcome: Result<TokenAuthority.Issued, TokenAuthority.Failure>
        switch grantType {
        case "authorization_code":
            guard let code = fields["code"], !code.isEmpty else { return Self.error("invalid_request", "Missing required parameter: code") }
            outcome = setup.authority.exchange(
                code: code, clientId: client.id, redirectURI: fields["redirect_uri"], verifier: fields["code_verifier"])
        case "refresh_token":
            guard let token = fields["refresh_token"], !token.isEmpty else {
                return Self.error("invalid_request", "Missing required parameter: refresh_token")
            }
            outcome = setup.authority.refresh(token, clientId: client.id)
        default:
            return Self.error("unsupported_grant_type", "Invalid grant_type: \(grantType)")
        }
        switch outcome {
        case .success(let issued):
            var body = JSONObjectBuilder()
            body.set("access_token", issued.accessToken)
            body.setIfPresent("expires_in", issued.expiresIn)
            body.setIfPresent("refresh_token", issued.refreshToken)
            body.set("scope", issued.scopes.joined(separator: " "))
            body.set("token_type", "Bearer")
            if issued.scopes.contains("openid") { body.set("id_token", idToken(for: issued.user, clientId: client.id)) }
            var response = ProviderResponse.json(body.json)
            response.headers.append(("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"))
            response.headers.append(("Pragma", "no-cache"))
            return response
        case .failure(let failure):
            switch failure {
            case .unknownCode:
                return Self.error("invalid_grant", fields["code"]?.hasPrefix("4/") == true ? "Bad Request" : "Malformed auth code.")
            case .redirectMismatch: return Self.error("redirect_uri_mismatch", "Bad Request")
            case .missingVerifier: return Self.error("invalid_grant", "Missing code verifier.")
            case .wrongVerifier: return Self.error("invalid_grant", "Invalid code verifier.")
            case .codeUsed, .codeExpired, .clientMismatch: return Self.error("invalid_grant", "Bad Request")
            case .unknownRefreshToken: return Self.error("invalid_grant", "Bad Request")
            case .revokedRefreshToken, .expiredRefreshToken, .rotatedRefreshToken:
                return Self.error("invalid_grant", "Token has been expired or revoked.")
            }
        }
    }

    /// An OpenID token with the usual claims. Its signature is not verifiable (no JWKS is served).
    private func idToken(for user: String, clientId: String) -> String {
        let now = setup.authority.clock.nowSeconds
        let person = setup.directory.person(user)
        let header = JSONWriter.bytes(.object([("alg", "RS256"), ("kid", "fake-providers"), ("typ", "JWT")]))
        let claims = JSONWriter.bytes(
            .object([
                ("iss", "https://accounts.google.com"), ("azp", .string(clientId)), ("aud", .string(clientId)),
                ("sub", .string(GoogleIdentity.subject(person))), ("email", .string(user)), ("email_verified", true),
                ("name", .string(person?.name ?? user)), ("iat", .int(now)), ("exp", .int(now + 3599)),
            ]))
        return Base64.urlEncodeUnpadded(header) + "." + Base64.urlEncodeUnpadded(claims) + "." + OpaqueToken.make(86)
    }

    private func revoke(_ request: ProviderRequest) -> ProviderResponse {
        let token = request.query["token"] ?? request.form["token"] ?? ""
        guard !token.isEmpty, setup.authority.revoke(token: token) else {
            return Self.error("invalid_token", "Token expired or revoked")
        }
        return .json(.object([]))
    }

    private func tokenInfo(_ request: ProviderRequest) -> ProviderResponse {
        let token = request.query["access_token"] ?? request.form["access_token"]
        guard case .success(let principal) = setup.authority.validate(token), let token else {
            return .json(.object([("error", "invalid_token"), ("error_description", "Invalid Value")]), status: 400)
        }
        let expiresIn = setup.authority.expiresIn(token) ?? 0
        let person = setup.directory.person(principal.user)
        return .json(
            .object([
                ("azp", .string(principal.clientId)), ("aud", .string(principal.clientId)),
                ("sub", .string(GoogleIdentity.subject(person))),
                ("scope", .string(principal.scopes.sorted().joined(separator: " "))),
                ("exp", .string(String(setup.authority.clock.nowSeconds + expiresIn))), ("expires_in", .string(String(expiresIn))),
                ("email", .string(principal.user)), ("email_verified", "true"), ("access_type", "offline"),
            ]))
    }

    private func userInfo(_ request: ProviderRequest) -> ProviderResponse {
        guard case .success(let principal) = setup.authority.validate(request.bearerToken) else {
            return GoogleErrors.unauthenticated(missing: request.bearerToken == nil, style: .modern)
        }
        let person = setup.directory.person(principal.user)
        let name = person?.name ?? principal.user
        return .json(
            .object([
                ("sub", .string(GoogleIdentity.subject(person))), ("name", .string(name)),
                ("given_name", .string(person?.firstName ?? name)),
                ("family_name", .string(String(name.split(separator: " ").last ?? ""))), ("email", .string(principal.user)),
                ("email_verified", true), ("hd", .string(person?.domain ?? "")),
            ]))
    }
}

/// Google account numbers.
enum GoogleIdentity {
    /// The 21-digit `sub` of a person.
    static func subject(_ person: Person?) -> String {
        "1" + (person?.permissionId ?? "0").leftPadded(20)
    }
}
