import Contracts
import Crypto
import Foundation
import OutboundHTTP
import Settings

/// Tokens a provider granted.
public struct OAuthTokens: Sendable, Equatable {
    public var accessToken: String
    public var refreshToken: String?
    public var expiresAt: Date?
    public var scope: String

    public init(accessToken: String, refreshToken: String?, expiresAt: Date?, scope: String) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
        self.scope = scope
    }

    /// Whether the access token is expired or about to be (a minute early, as providers advise).
    public func isExpiring(now: Date = Date()) -> Bool { expiresAt.map { $0.timeIntervalSince(now) < 60 } ?? false }
}

/// The authorization-code flow at Google, Atlassian and GitHub: the consent URL (PKCE S256
/// where the provider supports it), the code exchange, refreshes (keeping the new refresh token
/// of providers that rotate it) and revocation. Endpoints and clients come from the settings,
/// so the local fakes stand in for the real providers with no code change.
public struct OAuthFlow: Sendable {
    public let settings: ProviderSettings
    let http: any HTTPTransport

    public init(settings: ProviderSettings, http: any HTTPTransport) {
        self.settings = settings
        self.http = http
    }

    /// Whether the provider takes a PKCE challenge (Atlassian does not).
    public static func supportsPKCE(_ provider: Provider) -> Bool { provider != .atlassian }

    /// A new PKCE verifier (43 characters of base64url) and its S256 challenge.
    public static func pkce() -> (verifier: String, challenge: String) {
        let verifier = base64URL(Array(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }))
        return (verifier, base64URL(Array(SHA256.hash(data: Array(verifier.utf8)))))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether the fleet can connect `connector` (its provider's client is configured).
    public func isConfigured(_ connector: Connector) -> Bool { settings.client(connector.provider).isConfigured }

    /// The URL the user's browser goes to for consent.
    /// - Parameter hint: the account the user means to connect (Google's `login_hint`, GitHub's
    ///   `login`), so the provider proposes it.
    public func authorizeURL(_ connector: Connector, state: String, challenge: String?, hint: String? = nil) -> String {
        let client = settings.client(connector.provider)
        let redirect = settings.redirectURI(connector)
        let scope = connector.scopes.joined(separator: " ")
        var pairs: [(String, String?)] = [
            ("client_id", client.id), ("redirect_uri", redirect), ("response_type", "code"), ("scope", scope), ("state", state),
        ]
        let base: String
        switch connector.provider {
        case .google:
            base = settings.google.authorizeURL
            pairs += [("access_type", "offline"), ("prompt", "consent"), ("include_granted_scopes", "true"), ("login_hint", hint)]
        case .atlassian:
            base = settings.atlassian.authorizeURL
            pairs += [("audience", "api.atlassian.com"), ("prompt", "consent")]
        case .github:
            base = settings.github.authorizeURL
            pairs.append(("login", hint))
        }
        if let challenge { pairs += [("code_challenge", challenge), ("code_challenge_method", "S256")] }
        return base + "?" + Query.string(pairs)
    }

    /// Exchanges an authorization code for tokens.
    public func exchange(_ connector: Connector, code: String, verifier: String?) async throws(ConnectorFailure) -> OAuthTokens {
        let client = settings.client(connector.provider)
        var pairs: [(String, String?)] = [
            ("grant_type", "authorization_code"), ("code", code), ("client_id", client.id), ("client_secret", client.secret),
            ("redirect_uri", settings.redirectURI(connector)),
        ]
        if let verifier, Self.supportsPKCE(connector.provider) { pairs.append(("code_verifier", verifier)) }
        return try await tokenRequest(connector.provider, pairs, previousRefresh: nil)
    }

    /// A fresh access token from `refreshToken`. A provider that rotates refresh tokens returns
    /// a new one, which the caller must store (the old one no longer works); a dead grant is
    /// `reauthRequired`.
    public func refresh(_ connector: Connector, refreshToken: String) async throws(ConnectorFailure) -> OAuthTokens {
        let client = settings.client(connector.provider)
        return try await tokenRequest(
            connector.provider,
            [("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", client.id), ("client_secret", client.secret)],
            previousRefresh: refreshToken)
    }

    private func tokenRequest(
        _ provider: Provider, _ pairs: [(String, String?)], previousRefresh: String?
    ) async throws(ConnectorFailure) -> OAuthTokens {
        var request: OutboundRequest
        switch provider {
        case .google:
            request = OutboundRequest(
                method: "POST", url: settings.google.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Query.form(pairs))
        case .atlassian:
            var object: [String: JSONValue] = [:]
            for (name, value) in pairs { if let value { object[name] = .string(value) } }
            request = OutboundRequest(
                method: "POST", url: settings.atlassian.tokenURL, headers: [("Content-Type", "application/json")],
                body: JSONValue.object(object).canonicalBytes)
        case .github:
            request = OutboundRequest(
                method: "POST", url: settings.github.tokenURL,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")], body: Query.form(pairs))
        }
        request.timeout = .seconds(20)
        let response: OutboundResponse
        do { response = try await http.send(request) } catch { throw .retry("the \(provider) token endpoint cannot be reached: \(error)") }
        let object = JSONValue.parse(response.body)?.objectValue ?? [:]
        if let error = object["error"]?.stringValue {
            // GitHub answers 200 with an error; the others 400/401.
            if ["invalid_grant", "bad_refresh_token", "unauthorized_client", "bad_verification_code", "invalid_request"].contains(error) {
                throw .reauthRequired("\(provider) refused the grant (\(error)): the account must be connected again")
            }
            throw .fail("the \(provider) token endpoint answered \(error)")
        }
        guard (200..<300).contains(response.status), let access = object["access_token"]?.stringValue else {
            if response.status >= 500 { throw .retry("the \(provider) token endpoint answered \(response.status)") }
            throw .fail("the \(provider) token endpoint answered \(response.status) without a token")
        }
        let expiresIn = object["expires_in"]?.integerValue ?? object["expires_in"]?.stringValue.flatMap { Int64($0) }
        let refresh = object["refresh_token"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return OAuthTokens(
            accessToken: access, refreshToken: refresh ?? previousRefresh,
            expiresAt: expiresIn.map { Date().addingTimeInterval(Double($0)) }, scope: object["scope"]?.stringValue ?? "")
    }

    /// Revokes the grant at the provider where it can be (Google, GitHub; Atlassian grants are
    /// removed by the user in their account). Best effort: the fleet forgets the tokens anyway.
    public func revoke(_ connector: Connector, tokens: OAuthTokens) async {
        var request: OutboundRequest?
        switch connector.provider {
        case .google:
            request = OutboundRequest(
                method: "POST", url: settings.google.revokeURL, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Query.form([("token", tokens.refreshToken ?? tokens.accessToken)]))
        case .github:
            let client = settings.github.client
            let basic = Data("\(client.id):\(client.secret)".utf8).base64EncodedString()
            request = OutboundRequest(
                method: "DELETE", url: "\(settings.github.apiURL)/applications/\(Query.encode(client.id))/token",
                headers: [
                    ("Authorization", "Basic \(basic)"), ("Accept", "application/vnd.github+json"), ("Content-Type", "application/json"),
                ],
                body: JSONValue.object(["access_token": .string(tokens.accessToken)]).canonicalBytes)
        case .atlassian:
            request = nil
        }
        if var request {
            request.timeout = .seconds(10)
            _ = try? await http.send(request)
        }
    }
}
