import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import TestSupport
import Testing

@testable import Dispatcher

@Suite struct AuthTests {
    func submit(_ client: some TestClientProtocol, token: String?) async throws -> (status: Int, body: String) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(
            uri: "/v1/jobs", method: .post, headers: headers, body: ByteBuffer(string: #"{"kind":"noop","action":"noop.run"}"#)
        ) { response in (Int(response.status.code), String(buffer: response.body)) }
    }

    @Test func everyJWTAttackIsRefusedAndGoodTokensPass() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let issuer = fixture.issuer
        let good = issuer.claims(tenant: fixture.tenant, user: "alice")
        let now = Date().timeIntervalSince1970
        var attacks: [(String, String)] = []
        attacks.append(("alg none", try issuer.forge(header: ["alg": "none", "kid": "ec-1", "typ": "JWT"], claims: good, secret: nil)))
        attacks.append(
            (
                "HS256 with the RSA public key",
                try issuer.forge(
                    header: ["alg": "HS256", "kid": "rsa-1", "typ": "JWT"], claims: good, secret: Data(issuer.rsaPublicPEM.utf8))
            ))
        var wrongIssuer = good
        wrongIssuer["iss"] = .string("https://evil.example")
        attacks.append(("wrong issuer", try await issuer.sign(wrongIssuer)))
        var wrongAudience = good
        wrongAudience["aud"] = .string("someone-else")
        attacks.append(("wrong audience", try await issuer.sign(wrongAudience)))
        var audienceList = good
        audienceList["aud"] = .string("someone-else openclaw")
        attacks.append(("audience hidden in a space-separated string", try await issuer.sign(audienceList)))
        var expired = good
        expired["exp"] = .number(now - 3600)
        attacks.append(("expired", try await issuer.sign(expired)))
        var early = good
        early["nbf"] = .number(now + 3600)
        attacks.append(("not yet valid", try await issuer.sign(early)))
        attacks.append(("unknown kid", try await issuer.sign(good, kid: "stolen-key")))
        let genuine = try await issuer.sign(good)
        let parts = genuine.split(separator: ".").map(String.init)
        var tamperedClaims = good
        tamperedClaims["tenant"] = .string("other-tenant")
        let tampered = parts[0] + "." + Base64URL.encode(try JSONEncoder().encode(tamperedClaims)) + "." + parts[2]
        attacks.append(("tampered payload", tampered))
        attacks.append(("garbage", "not-a-jwt"))
        let allAttacks = attacks

        try await app.test(.router) { client in
            for (name, token) in allAttacks {
                let (status, body) = try await submit(client, token: token)
                #expect(status == 401, "\(name) was not refused: \(status) \(body)")
                #expect(body.contains("https://openclaw.dev/problems/unauthorized"), "\(name): \(body)")
            }
            #expect(try await submit(client, token: nil).status == 401)
            #expect(try await fixture.queued(gateway) == 0)
            // The real thing, signed by either key, passes.
            #expect(try await submit(client, token: genuine).status == 202)
            #expect(try await submit(client, token: try await issuer.sign(good, rsa: true)).status == 202)
            #expect(try await fixture.queued(gateway) == 2)
        }
    }

    /// RFC 7515/7519 edge cases, each signed with a genuine key of the issuer.
    @Test func malformedButSignedTokensAreRefused() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let issuer = fixture.issuer
        let claims = issuer.plainClaims(tenant: fixture.tenant, user: "alice")
        let header: [String: Any] = ["alg": "ES256", "kid": "ec-2", "typ": "JWT"]
        var cases: [(String, String)] = []
        cases.append(
            (
                "an unknown critical header",
                try issuer.handmade(header: header.merging(["crit": ["exp-x"], "exp-x": 1]) { $1 }, claims: claims)
            ))
        cases.append(("alg in lower case", try issuer.handmade(header: header.merging(["alg": "es256"]) { $1 }, claims: claims)))
        cases.append(("an alg that is not the key's", try issuer.handmade(header: header.merging(["alg": "RS256"]) { $1 }, claims: claims)))
        cases.append(("nbf as a string", try issuer.handmade(header: header, claims: claims.merging(["nbf": "0"]) { $1 })))
        cases.append(("exp as a string", try issuer.handmade(header: header, claims: claims.merging(["exp": "9999999999"]) { $1 })))
        let genuine = try issuer.handmade(header: header, claims: claims)
        let all = cases
        try await app.test(.router) { client in
            for (name, token) in all {
                let (status, body) = try await submit(client, token: token)
                #expect(status == 401, "\(name) was not refused: \(status) \(body)")
            }
            // The same construction, well-formed, passes: each refusal is for its one flaw.
            #expect(try await submit(client, token: genuine).status == 202)
        }
    }

    @Test func identityComesFromTheTokenOnly() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let token = try await fixture.issuer.token(tenant: fixture.tenant, user: "alice")
        try await app.test(.router) { client in
            // A body that tries to name another tenant or user is refused (unknown fields).
            let status = try await client.execute(
                uri: "/v1/jobs", method: .post, headers: [.authorization: "Bearer \(token)"],
                body: ByteBuffer(string: #"{"kind":"noop","action":"noop.run","tenant":"victim","user":"ceo"}"#)
            ) { Int($0.status.code) }
            #expect(status == 400)
            let id = try await client.execute(
                uri: "/v1/jobs", method: .post, headers: [.authorization: "Bearer \(token)"],
                body: ByteBuffer(string: #"{"kind":"noop","action":"noop.run"}"#)
            ) { response in
                (try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])?["id"] as? String
            }
            let status2 = try await gateway.queue.status(tenant: fixture.tenant, id: try #require(id))
            #expect(status2?.requester == "alice")
        }
    }

    @Test func identityClaimsWithControlCharactersAreRefused() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        try await app.test(.router) { client in
            for user in ["ali\u{0}ce", "bob\nadmin", String(repeating: "x", count: 300)] {
                let caller = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: user))
                let answer = try await caller.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
                #expect(answer.status == 401, "\(user.debugDescription)")
            }
            let team = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "carol", team: "core\u{7f}"))
            #expect(try await team.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status == 401)
            #expect(try await fixture.queued(gateway) == 0)
        }
    }

    @Test func requestsArrivingWhileTheKeysLoadAreNotRefused() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        // Distinct tokens, so none is answered from the verified-token cache.
        var tokens: [String] = []
        for index in 0..<16 { tokens.append(try await fixture.issuer.token(tenant: fixture.tenant, user: "user\(index)")) }
        let all = tokens
        try await app.test(.router) { client in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for token in all { group.addTask { try await submit(client, token: token).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 202, count: all.count), "\(statuses)")
            #expect(try await fixture.queued(gateway) == all.count)
        }
    }

    @Test func anUnreachableIdentityProviderAnswers503NotUnauthorized() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application {
            $0.oidc.issuer = "http://127.0.0.1:1"  // nothing listens there
            $0.oidc.refreshInterval = .seconds(60)
        }
        let token = try await fixture.issuer.token(tenant: fixture.tenant, user: "alice")
        try await app.test(.router) { client in
            // The first request tries to load the keys; the next ones, inside the refresh
            // interval, are told the same thing rather than that their key is unknown.
            for _ in 0..<3 {
                let (status, body) = try await submit(client, token: token)
                #expect(status == 503, "\(body)")
                #expect(body.contains("identity-provider"), "\(body)")
            }
            #expect(try await fixture.queued(gateway) == 0)
        }
    }
}
