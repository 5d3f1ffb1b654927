import Foundation
import Testing

@testable import FakeProviders

/// The OAuth code flows: Google with PKCE S256, Atlassian refresh-token rotation, GitHub App
/// tokens, expiry through the clock, revocation.
@Suite struct OAuthFlowTests {
    static let redirect = "http://127.0.0.1:9/callback"

    /// Follows an authorize URL; returns the query of the 302's `Location`.
    static func authorize(_ fakes: Fakes, _ url: String) async throws -> QueryItems {
        let response = try await fakes.get(url)
        #expect(response.status == 302, "\(response.text)")
        let location = try #require(response.header("location"))
        #expect(location.hasPrefix(redirect))
        return QueryItems(String(location.split(separator: "?", maxSplits: 1).last ?? ""))
    }

    static func form(_ pairs: [(String, String)]) -> [UInt8] { Array(PercentEncoding.form(pairs).utf8) }

    @Test func googleCodeFlowWithPKCE() async throws {
        let fakes = try await Fakes.start()
        let client = fakes.urls.googleClient
        let verifier = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-entropy"
        let challenge = PKCE.challenge(for: verifier)
        try await fakes.control("POST", "/control/consent", .object([("provider", "google"), ("user", "bob@acme.test")]))
        let params = try await Self.authorize(
            fakes,
            fakes.urls.googleOAuth + "/o/oauth2/v2/auth"
                + query([
                    ("client_id", client.clientId), ("redirect_uri", Self.redirect), ("response_type", "code"),
                    ("scope", "https://www.googleapis.com/auth/gmail.readonly openid email"), ("state", "xyz-123"),
                    ("access_type", "offline"),
                    ("prompt", "consent"), ("code_challenge", challenge), ("code_challenge_method", "S256"),
                ]))
        #expect(params["state"] == "xyz-123")
        let code = try #require(params["code"])
        func exchange(_ verifier: String) async throws -> OAuthTestResponse {
            let response = try await fakes.send(
                "POST", fakes.urls.googleOAuth + "/token",
                body: Self.form([
                    ("code", code), ("client_id", client.clientId), ("client_secret", client.clientSecret), ("redirect_uri", Self.redirect),
                    ("grant_type", "authorization_code"), ("code_verifier", verifier),
                ]), headers: [("Content-Type", "application/x-www-form-urlencoded")])
            return OAuthTestResponse(status: response.status, json: response.json)
        }
        let wrong = try await exchange("wrong-verifier-wrong-verifier-wrong-verifier-000")
        #expect(wrong.status == 400 && wrong.json["error"] == "invalid_grant")
        let tokens = try await exchange(verifier)
        #expect(tokens.status == 200)
        #expect(tokens.json["token_type"] == "Bearer" && tokens.json["expires_in"] == 3599)
        let access = try #require(tokens.json["access_token"]?.stringValue)
        let refresh = try #require(tokens.json["refresh_token"]?.stringValue)
        #expect(tokens.json["id_token"] != nil)
        #expect(try await exchange(verifier).json["error"] == "invalid_grant", "a code works once")

        let profile = try await fakes.get(fakes.urls.gmail + "/gmail/v1/users/me/profile", token: access)
        #expect(profile.json["emailAddress"] == "bob@acme.test", "the consenting user")

        fakes.handle.advanceClock(seconds: 3600)
        let expired = try await fakes.get(fakes.urls.gmail + "/gmail/v1/users/me/profile", token: access)
        #expect(expired.status == 401)
        #expect(
            expired.text
                == #"{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError","location":"Authorization","locationType":"header"}],"status":"UNAUTHENTICATED"}}"#
        )
        let refreshed = try await fakes.send(
            "POST", fakes.urls.googleOAuth + "/token",
            body: Self.form([
                ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", client.clientId),
                ("client_secret", client.clientSecret),
            ]), headers: [("Content-Type", "application/x-www-form-urlencoded")])
        #expect(refreshed.status == 200 && refreshed.json["refresh_token"] == nil, "Google does not rotate")
        let fresh = try #require(refreshed.json["access_token"]?.stringValue)
        #expect(try await fakes.get(fakes.urls.gmail + "/gmail/v1/users/me/profile", token: fresh).status == 200)

        let revoked = try await fakes.send(
            "POST", fakes.urls.googleOAuth + "/revoke", body: Self.form([("token", refresh)]),
            headers: [("Content-Type", "application/x-www-form-urlencoded")])
        #expect(revoked.status == 200)
        #expect(try await fakes.get(fakes.urls.gmail + "/gmail/v1/users/me/profile", token: fresh).status == 401)
        let dead = try await fakes.send(
            "POST", fakes.urls.googleOAuth + "/token",
            body: Self.form([
                ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", client.clientId),
                ("client_secret", client.clientSecret),
            ]), headers: [("Content-Type", "application/x-www-form-urlencoded")])
        #expect(dead.status == 400)
        #expect(dead.json == .object([("error", "invalid_grant"), ("error_description", "Token has been expired or revoked.")]))
        await fakes.stop()
    }

    @Test func atlassianRotatesRefreshTokens() async throws {
        let fakes = try await Fakes.start()
        let client = fakes.urls.atlassianClient
        let params = try await Self.authorize(
            fakes,
            fakes.urls.atlassianAuth + "/authorize"
                + query([
                    ("audience", "api.atlassian.com"), ("client_id", client.clientId),
                    ("scope", "read:jira-work write:jira-work offline_access"),
                    ("redirect_uri", Self.redirect), ("state", "s1"), ("response_type", "code"), ("prompt", "consent"),
                ]))
        let code = try #require(params["code"])
        let tokens = try await fakes.send(
            "POST", fakes.urls.atlassianAuth + "/oauth/token",
            json: .object([
                ("grant_type", "authorization_code"), ("client_id", .string(client.clientId)),
                ("client_secret", .string(client.clientSecret)),
                ("code", .string(code)), ("redirect_uri", .string(Self.redirect)),
            ]))
        #expect(tokens.status == 200 && tokens.json["expires_in"] == 3600)
        let access = try #require(tokens.json["access_token"]?.stringValue)
        let first = try #require(tokens.json["refresh_token"]?.stringValue)
        let resources = try await fakes.get(fakes.urls.atlassianAuth + "/oauth/token/accessible-resources", token: access).json
        #expect(resources.arrayValue?.first?["id"]?.stringValue == fakes.urls.cloudId)

        func refresh(_ token: String) async throws -> OAuthTestResponse {
            let response = try await fakes.send(
                "POST", fakes.urls.atlassianAuth + "/oauth/token",
                json: .object([
                    ("grant_type", "refresh_token"), ("client_id", .string(client.clientId)),
                    ("client_secret", .string(client.clientSecret)),
                    ("refresh_token", .string(token)),
                ]))
            return OAuthTestResponse(status: response.status, json: response.json)
        }
        let rotated = try await refresh(first)
        #expect(rotated.status == 200)
        let second = try #require(rotated.json["refresh_token"]?.stringValue)
        #expect(second != first)
        let old = try await refresh(first)
        #expect(old.json["error"] == "invalid_grant")
        #expect(try await refresh(second).status == 200)

        try await fakes.control("POST", "/control/tokens/expire", .object([("provider", "atlassian"), ("user", "alice@acme.test")]))
        let expired = try await fakes.get(fakes.urls.jira + "/ex/jira/\(fakes.urls.cloudId)/rest/api/3/myself", token: access)
        #expect(expired.status == 401 && expired.text == #"{"code":401,"message":"Unauthorized"}"#)
        await fakes.stop()
    }

    @Test func gitHubAppTokensRotateAndRevoke() async throws {
        let fakes = try await Fakes.start()
        let client = fakes.urls.githubClient
        let verifier = String(repeating: "v", count: 50)
        let params = try await Self.authorize(
            fakes,
            fakes.urls.githubOAuth + "/login/oauth/authorize"
                + query([
                    ("client_id", client.clientId), ("redirect_uri", Self.redirect), ("state", "gh"), ("login", "bob"),
                    ("code_challenge", PKCE.challenge(for: verifier)), ("code_challenge_method", "S256"),
                ]))
        let code = try #require(params["code"])
        let form = try await fakes.send(
            "POST", fakes.urls.githubOAuth + "/login/oauth/access_token",
            body: Self.form([
                ("client_id", client.clientId), ("client_secret", client.clientSecret), ("code", code), ("code_verifier", "bad"),
            ]),
            headers: [("Content-Type", "application/x-www-form-urlencoded")])
        #expect(form.status == 200 && form.text.hasPrefix("error=bad_verification_code"), "form-encoded without Accept: application/json")
        let params2 = try await Self.authorize(
            fakes,
            fakes.urls.githubOAuth + "/login/oauth/authorize"
                + query([
                    ("client_id", client.clientId), ("redirect_uri", Self.redirect), ("state", "gh2"), ("login", "bob"),
                    ("code_challenge", PKCE.challenge(for: verifier)), ("code_challenge_method", "S256"),
                ]))
        let tokens = try await fakes.send(
            "POST", fakes.urls.githubOAuth + "/login/oauth/access_token",
            json: .object([
                ("client_id", .string(client.clientId)), ("client_secret", .string(client.clientSecret)),
                ("code", .string(params2["code"]!)),
                ("code_verifier", .string(verifier)),
            ]), headers: [("Accept", "application/json")])
        #expect(tokens.json["expires_in"] == 28800 && tokens.json["refresh_token_expires_in"] == 15_811_200)
        let access = try #require(tokens.json["access_token"]?.stringValue)
        #expect(access.hasPrefix("ghu_"))
        let user = try await fakes.get(fakes.urls.github + "/user", token: access)
        #expect(user.json["login"] == "bob")
        let refresh = try #require(tokens.json["refresh_token"]?.stringValue)
        let rotated = try await fakes.send(
            "POST", fakes.urls.githubOAuth + "/login/oauth/access_token",
            json: .object([
                ("client_id", .string(client.clientId)), ("client_secret", .string(client.clientSecret)), ("grant_type", "refresh_token"),
                ("refresh_token", .string(refresh)),
            ]), headers: [("Accept", "application/json")])
        let newAccess = try #require(rotated.json["access_token"]?.stringValue)
        let reused = try await fakes.send(
            "POST", fakes.urls.githubOAuth + "/login/oauth/access_token",
            json: .object([
                ("client_id", .string(client.clientId)), ("client_secret", .string(client.clientSecret)), ("grant_type", "refresh_token"),
                ("refresh_token", .string(refresh)),
            ]), headers: [("Accept", "application/json")])
        #expect(reused.json["error"] == "bad_refresh_token")
        let revoke = try await fakes.send(
            "DELETE", fakes.urls.github + "/applications/\(client.clientId)/token", json: .object([("access_token", .string(newAccess))]),
            headers: [("Authorization", "Basic " + Base64.encode(Array("\(client.clientId):\(client.clientSecret)".utf8)))])
        #expect(revoke.status == 204)
        #expect(try await fakes.get(fakes.urls.github + "/user", token: newAccess).status == 401)
        await fakes.stop()
    }
}

/// A status and a JSON body.
struct OAuthTestResponse {
    let status: Int
    let json: JSON
}
