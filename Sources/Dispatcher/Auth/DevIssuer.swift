import Contracts
import Crypto
import Foundation
import Hummingbird
import JWTKit

/// A local OIDC issuer for development and tests: one ES256 key (kept in a directory), the
/// discovery document, the JWKS, and tokens for any tenant, user and roles.
struct DevIssuer: Sendable {
    let issuer: String
    let kid: String
    let key: ES256PrivateKey

    /// Loads the key from `directory` (creating it the first time).
    static func load(directory: String, issuer: String) throws -> DevIssuer {
        let file = URL(fileURLWithPath: directory).appendingPathComponent("signing-key.pem")
        let key: ES256PrivateKey
        if let pem = try? String(contentsOf: file, encoding: .utf8) {
            key = try ES256PrivateKey(pem: pem)
        } else {
            key = ES256PrivateKey()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try key.pemRepresentation.write(to: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        }
        return DevIssuer(issuer: issuer, kid: "dev-" + String(Hex.fingerprint(key.publicKey.pemRepresentation).prefix(12)), key: key)
    }

    var jwks: [String: Any] {
        let parameters = key.parameters!
        return ["keys": [["kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid, "x": parameters.x, "y": parameters.y]]]
    }

    var discovery: [String: Any] {
        ["issuer": issuer, "jwks_uri": issuer + "/jwks.json", "id_token_signing_alg_values_supported": ["ES256"]]
    }

    /// A signed token with the standard claims for `audience` plus `claims`.
    func token(audience: String, lifetime: Duration = .seconds(3600), claims: [String: ClaimValue]) async throws -> String {
        let now = Date().timeIntervalSince1970
        var values: [String: ClaimValue] = [
            "iss": .string(issuer), "aud": .string(audience), "iat": .number(now.rounded(.down)),
            "nbf": .number(now.rounded(.down)), "exp": .number((now + Double(lifetime.components.seconds)).rounded(.down)),
        ]
        values.merge(claims) { $1 }
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key, kid: JWKIdentifier(string: kid))
        return try await keys.sign(Claims(values: values), kid: JWKIdentifier(string: kid))
    }

    /// Serves the discovery document and the JWKS.
    func application(host: String, port: Int) -> some ApplicationProtocol {
        let router = Router()
        let discovery =
            (try? JSONSerialization.data(withJSONObject: self.discovery, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        let jwks = (try? JSONSerialization.data(withJSONObject: self.jwks, options: [.sortedKeys])) ?? Data()
        router.get(".well-known/openid-configuration") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: discovery)))
        }
        router.get("jwks.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jwks)))
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "openclaw-dev-issuer"))
    }
}

enum Hex {
    static func fingerprint(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
