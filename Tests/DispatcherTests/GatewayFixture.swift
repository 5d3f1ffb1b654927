import AsyncHTTPClient
import AuditLog
import Contracts
import Crypto
import Foundation
import Hummingbird
import JWTKit
import Logging
import PostgresClient
import RedisClient
import ServiceLifecycle
import Synchronization
import TestSupport
import _CryptoExtras

@testable import Dispatcher

/// An OIDC issuer for tests with an ES256 and an RS256 key, serving discovery and JWKS on a
/// free port, able to mint good tokens and the attacks on them.
final class TestIssuer: Sendable {
    let issuer: String
    let port: Int
    let es256 = ES256PrivateKey()
    /// A key published as `ec-2` (ES256), for tokens built by hand (`handmade`).
    let p256 = P256.Signing.PrivateKey()
    let rsa: JWTKit.Insecure.RSA.PrivateKey
    let rsaPublicPEM: String
    let serving: Task<Void, any Error>

    init() async throws {
        let backing = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        rsa = try JWTKit.Insecure.RSA.PrivateKey(backing: backing)
        rsaPublicPEM = backing.publicKey.pemRepresentation
        let (n, e) = try JWTKit.Insecure.RSA.PublicKey(pem: rsaPublicPEM).getKeyPrimitives()
        let ec = es256.parameters!
        let raw = p256.publicKey.rawRepresentation
        let jwks: [String: Any] = [
            "keys": [
                ["kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "ec-1", "x": ec.x, "y": ec.y],
                [
                    "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "ec-2", "x": Base64URL.encode(raw.prefix(32)),
                    "y": Base64URL.encode(raw.suffix(32)),
                ],
                ["kty": "RSA", "alg": "RS256", "use": "sig", "kid": "rsa-1", "n": Base64URL.encode(n), "e": Base64URL.encode(e)],
            ]
        ]
        let jwksData = try JSONSerialization.data(withJSONObject: jwks)
        // The server binds a port of its own choosing (a port picked beforehand could be taken
        // by another test's issuer meanwhile, which would then answer for this one).
        let bound = Mutex<Int?>(nil)
        let router = Router()
        router.get(".well-known/openid-configuration") { _, _ in
            let issuer = "http://127.0.0.1:\(bound.withLock { $0 } ?? 0)"
            let discovery = try JSONSerialization.data(withJSONObject: ["issuer": issuer, "jwks_uri": issuer + "/jwks.json"])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: discovery)))
        }
        router.get("jwks.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jwksData)))
        }
        let (ports, portsContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                bound.withLock { $0 = port }
                portsContinuation.yield(port)
                portsContinuation.finish()
            }, logger: TestEnvironment.logger)
        serving = Task {
            defer { portsContinuation.finish() }
            try await ServiceGroup(services: [app], logger: TestEnvironment.logger).run()
        }
        var port: Int?
        for await value in ports {
            port = value
            break
        }
        guard let port, port > 0 else { throw FleetError(.invalidConfiguration, "the test issuer did not start") }
        self.port = port
        issuer = "http://127.0.0.1:\(port)"
    }

    deinit { serving.cancel() }

    func claims(
        tenant: TenantID, user: String, roles: [String] = ["user"], org: String = "eng", team: String = "core"
    ) -> [String: ClaimValue] {
        let now = Date().timeIntervalSince1970.rounded(.down)
        return [
            "iss": .string(issuer), "aud": .string("openclaw"), "iat": .number(now), "nbf": .number(now), "exp": .number(now + 600),
            "tenant": .string(tenant.rawValue), "sub": .string(user), "org": .string(org), "team": .string(team),
            "roles": .array(roles.map { .string($0) }),
        ]
    }

    func sign(_ claims: [String: ClaimValue], rsa useRSA: Bool = false, kid: String? = nil) async throws -> String {
        let keys = JWTKeyCollection()
        if useRSA {
            await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid ?? "rsa-1"))
            return try await keys.sign(Claims(values: claims), kid: JWKIdentifier(string: kid ?? "rsa-1"))
        }
        await keys.add(ecdsa: es256, kid: JWKIdentifier(string: kid ?? "ec-1"))
        return try await keys.sign(Claims(values: claims), kid: JWKIdentifier(string: kid ?? "ec-1"))
    }

    func token(
        tenant: TenantID, user: String, roles: [String] = ["user"], org: String = "eng", team: String = "core"
    ) async throws -> String {
        try await sign(claims(tenant: tenant, user: user, roles: roles, org: org, team: team))
    }

    /// A token with the header and claims as given, validly signed with the `ec-2` key (for
    /// headers and claim types a JWT library would not write).
    func handmade(header: [String: Any], claims: [String: Any]) throws -> String {
        let head = Base64URL.encode(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        let body = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let input = head + "." + body
        return input + "." + Base64URL.encode(try p256.signature(for: Data(input.utf8)).rawRepresentation)
    }

    /// Good claims as plain JSON values (for `handmade`).
    func plainClaims(tenant: TenantID, user: String) -> [String: Any] {
        let now = Date().timeIntervalSince1970.rounded(.down)
        return [
            "iss": issuer, "aud": "openclaw", "iat": now, "nbf": now, "exp": now + 600, "tenant": tenant.rawValue, "sub": user,
            "org": "eng", "team": "core", "roles": ["user"],
        ]
    }

    /// A token with a hand-made header and signature (for `alg: none` and HMAC confusion).
    func forge(header: [String: Any], claims: [String: ClaimValue], secret: Data?) throws -> String {
        let head = Base64URL.encode(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        let body = Base64URL.encode(try JSONEncoder().encode(claims))
        let input = head + "." + body
        guard let secret else { return input + "." }
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret))
        return input + "." + Base64URL.encode(Data(mac))
    }
}

enum HTTPProbe {
    /// Whether a GET of `url` answers 200 within `timeout` (long: a starved machine is slow to
    /// answer; a check that nothing answers passes a short one).
    static func answers(_ url: String, timeout: Duration = .seconds(30)) async -> Bool {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .milliseconds(timeout.milliseconds))
        else { return false }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return response.status == .ok
    }
}

enum PrivatePort {
    static func free() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A provisioned tenant, an issuer, and gateway configurations pointing at the test services.
struct GatewayFixture {
    let tenant = TestEnvironment.tenant("g")
    let issuer: TestIssuer
    let redisURL: String
    let admin: PostgresClient

    /// A fixture with a tenant of its own (sharing `issuer` when given, for two tenants in one test).
    static func make(issuer: TestIssuer? = nil) async throws -> GatewayFixture {
        try await TestDatabase.migrated()
        let fixture: GatewayFixture
        if let issuer {
            fixture = try GatewayFixture(issuer: issuer)
        } else {
            fixture = try GatewayFixture(issuer: try await TestIssuer())
        }
        try await TenantDirectory(database: fixture.admin).create(fixture.tenant)
        return fixture
    }

    private init(issuer: TestIssuer) throws {
        self.issuer = issuer
        let redis = TestEnvironment.isolatedRedis()
        redisURL = "redis://\(redis.host):\(redis.port)/\(redis.database)"
        admin = try TestDatabase.admin()
    }

    func configuration(opaURL: String = TestEnvironment.opaURL, cache: Bool = true) -> GatewayConfiguration {
        var configuration = GatewayConfiguration()
        configuration.port = 0
        configuration.fleet.redisURL = redisURL
        configuration.fleet.databaseURL = TestDatabase.appURL
        configuration.fleet.policy.engineURL = opaURL
        // Many tests share one engine (and two cores) at once; production keeps the 500 ms default.
        configuration.fleet.policy.timeout = .seconds(20)
        configuration.fleet.policy.decisionCacheSize = cache ? 10_000 : 0
        configuration.fleet.policy.syncInterval = .milliseconds(200)
        configuration.schedulerInterval = .milliseconds(100)
        // The database is shared by every test, each with its own Redis: restoring the index
        // from all tenants would bring other tests' schedules here.
        configuration.scheduleReindexInterval = nil
        configuration.oidc.issuer = issuer.issuer
        configuration.oidc.audience = "openclaw"
        configuration.oidc.refreshInterval = .milliseconds(200)
        configuration.oidc.keysTimeout = .seconds(20)
        return configuration
    }

    func application(
        opaURL: String = TestEnvironment.opaURL, cache: Bool = true, configure: (inout GatewayConfiguration) -> Void = { _ in }
    )
        throws -> (application: some ApplicationProtocol, gateway: Gateway)
    {
        var configuration = self.configuration(opaURL: opaURL, cache: cache)
        configure(&configuration)
        return try buildApplication(configuration, logger: TestEnvironment.logger)
    }

    /// The enterprise policy most tests start from.
    static let enterpriseActions: JSONValue = .object([
        "default": .object(["autonomy": .string("block")]),
        "noop.run": .object(["autonomy": .string("autonomous")]),
        "jira.comment": .object(["autonomy": .string("approve")]),
        "gcal.create_event": .object(["autonomy": .string("approve"), "self_approval": .bool(true)]),
    ])

    /// Saves the standard enterprise policies as an enterprise admin and loads them into the engine.
    func provisionPolicies(_ gateway: Gateway) async throws {
        let admin = Identity(tenant: tenant, user: "boss", org: "", team: "", roles: [.enterpriseAdmin])
        _ = try await gateway.policies.save(
            by: admin, scope: .enterprise, scopeID: "*", domain: .actions, content: Self.enterpriseActions, changeReason: "test setup")
        let saved = try await gateway.policies.save(
            by: admin, scope: .enterprise, scopeID: "*", domain: .integrations,
            content: .object(["write": .array([.string("jira.comment"), .string("gcal.create_event")])]), changeReason: "test setup")
        try await gateway.policySync.syncOnce()
        try await gateway.policySync.push(tenant, revision: saved.revision)
    }

    /// Entries in the tenant's noop stream (to prove nothing was enqueued).
    func queued(_ gateway: Gateway) async throws -> Int {
        Int(try await gateway.redis.send("XLEN", RedisKeys.stream(tenant: tenant, kind: .noop)).int ?? 0)
    }
}
