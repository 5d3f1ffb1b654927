/// How one authorization server issues tokens: their look, lifetimes, PKCE and rotation.
struct TokenPolicy: Sendable {
    /// PKCE methods accepted (empty: PKCE parameters are ignored, as at Atlassian).
    var pkceMethods: Set<String>
    /// Access-token lifetime; nil = never expires (GitHub OAuth apps).
    var accessLifetimeSeconds: Int64?
    /// Refresh-token lifetime; nil = no fixed expiry.
    var refreshLifetimeSeconds: Int64?
    /// Whether a refresh answers with a new refresh token and kills the old one.
    var rotatesRefreshTokens: Bool
    /// Seconds the previous refresh token keeps working after a rotation (Atlassian's reuse interval).
    var rotationLeewaySeconds: Int64 = 0
    /// Whether refresh tokens are issued at all.
    var issuesRefreshTokens: Bool
    var makeAccessToken: @Sendable () -> String
    var makeRefreshToken: @Sendable () -> String
    var makeCode: @Sendable () -> String
    /// Lifetime of an authorization code.
    var codeLifetimeSeconds: Int64 = 600

    static func google(accessLifetime: Int64) -> TokenPolicy {
        TokenPolicy(
            pkceMethods: ["S256", "plain"], accessLifetimeSeconds: accessLifetime, refreshLifetimeSeconds: nil,
            rotatesRefreshTokens: false, issuesRefreshTokens: true,
            makeAccessToken: { "ya29.a0" + OpaqueToken.make(150) },
            makeRefreshToken: { "1//0" + OpaqueToken.make(99) },
            makeCode: { "4/0A" + OpaqueToken.make(71) })
    }

    static func atlassian(accessLifetime: Int64, reuseLeeway: Int64) -> TokenPolicy {
        TokenPolicy(
            pkceMethods: [], accessLifetimeSeconds: accessLifetime, refreshLifetimeSeconds: 90 * 86400, rotatesRefreshTokens: true,
            rotationLeewaySeconds: reuseLeeway, issuesRefreshTokens: true,
            makeAccessToken: {
                "eyJraWQiOiJmYWtlIiwiYWxnIjoiUlMyNTYifQ." + OpaqueToken.make(220, alphabet: OpaqueToken.alphanumerics) + "."
                    + OpaqueToken.make(86)
            },
            makeRefreshToken: { "eyJraWQiOiJmYWtlLXJ0In0." + OpaqueToken.make(180, alphabet: OpaqueToken.alphanumerics) },
            makeCode: { "eyJhbGciOiJIUzI1NiJ9." + OpaqueToken.make(120, alphabet: OpaqueToken.alphanumerics) })
    }

    /// A GitHub App's user tokens: `ghu_` for 8 h, `ghr_` refresh tokens rotated on use.
    static func githubApp(accessLifetime: Int64) -> TokenPolicy {
        TokenPolicy(
            pkceMethods: ["S256"], accessLifetimeSeconds: accessLifetime, refreshLifetimeSeconds: 15_811_200, rotatesRefreshTokens: true,
            issuesRefreshTokens: true,
            makeAccessToken: { "ghu_" + OpaqueToken.make(36, alphabet: OpaqueToken.alphanumerics) },
            makeRefreshToken: { "ghr_" + OpaqueToken.make(76, alphabet: OpaqueToken.alphanumerics) },
            makeCode: { OpaqueToken.hex(20) })
    }

    /// A GitHub OAuth app's tokens: `gho_`, no expiry, no refresh.
    static func githubOAuthApp() -> TokenPolicy {
        TokenPolicy(
            pkceMethods: ["S256"], accessLifetimeSeconds: nil, refreshLifetimeSeconds: nil, rotatesRefreshTokens: false,
            issuesRefreshTokens: false,
            makeAccessToken: { "gho_" + OpaqueToken.make(36, alphabet: OpaqueToken.alphanumerics) },
            makeRefreshToken: { "" },
            makeCode: { OpaqueToken.hex(20) })
    }
}

/// An OAuth client the fakes know: its id and secret.
public struct OAuthClientRegistration: Sendable, Equatable {
    public var clientId: String
    public var clientSecret: String

    public init(clientId: String, clientSecret: String) {
        self.clientId = clientId
        self.clientSecret = clientSecret
    }
}
