import AsyncHTTPClient
import Contracts
import Foundation
import Hummingbird
import JWTKit
import Logging
import NIOCore
import Synchronization

/// Verifies OIDC bearer tokens: signature by a key of the issuer's JWKS (found through
/// `/.well-known/openid-configuration`, cached, refreshed when a token names an unknown `kid`,
/// at most once per `refreshInterval`), an allow-listed asymmetric algorithm (never `none`,
/// never HMAC), issuer, audience, expiry and not-before with a small leeway. Tenant, user, org,
/// team and roles come from the token's claims only.
actor OIDCVerifier {
    let configuration: GatewayConfiguration.OIDCConfiguration
    let http: HTTPClient
    let logger: Logger
    private var keys = OIDCVerifier.keyCollection()
    private var kids: Set<String> = []
    /// What each key of the issuer signs with: its type and, when the JWKS says, its algorithm.
    private var keyAlgorithms: [String: KeyAlgorithm] = [:]

    struct KeyAlgorithm {
        let type: String
        let algorithm: String?

        func accepts(_ name: String) -> Bool {
            if let algorithm { return algorithm == name }
            return (type == "RSA" && name.hasPrefix("RS")) || (type == "EC" && name.hasPrefix("ES"))
        }
    }
    private var lastRefresh: ContinuousClock.Instant?
    private var refreshing: Task<Void, Never>?
    /// The last load of the keys failed: tokens they cannot verify get a 503, not a 401.
    private var loadFailed = false

    init(configuration: GatewayConfiguration.OIDCConfiguration, http: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
    }

    nonisolated let verified = VerifiedTokens()

    /// An empty key collection whose parser reads claims with `ClaimsJSONDecoder`.
    static func keyCollection() -> JWTKeyCollection {
        JWTKeyCollection(defaultJWTParser: DefaultJWTParser(jsonDecoder: ClaimsJSONDecoder()))
    }

    /// The identity in `token`: from the tokens verified before (until they expire), else
    /// verified now.
    nonisolated func identity(_ token: String) async throws(FleetError) -> Identity {
        if let known = verified.identity(for: token, leeway: Double(configuration.leeway.components.seconds)) { return known }
        return try await verify(token)
    }

    /// Verifies `token` and returns its identity, or a 401 problem saying what is wrong with it.
    func verify(_ token: String, now: Date = Date()) async throws(FleetError) -> Identity {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Base64URL.decode(parts[0]),
            let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any]
        else { throw .unauthorized("the bearer token is not a JWT") }
        // Algorithm names are case-sensitive (RFC 7518): `rs256` is not RS256.
        guard let algorithm = header["alg"] as? String, configuration.algorithms.contains(algorithm) else {
            throw .unauthorized(
                "token algorithm '\(header["alg"] ?? "none")' is not accepted; accepted: \(configuration.algorithms.sorted().joined(separator: ", "))"
            )
        }
        // RFC 7515: a `crit` header names extensions the recipient must understand; we know none.
        if header["crit"] != nil {
            throw .unauthorized("the token's header has critical extensions ('crit') this gateway does not understand")
        }
        let kid = header["kid"] as? String
        try await ensureKey(kid)
        // The header's algorithm must be the key's: a token may not pick another than the issuer's.
        guard let key = kid.flatMap({ keyAlgorithms[$0] }) ?? (kid == nil && keyAlgorithms.count == 1 ? keyAlgorithms.first?.value : nil),
            key.accepts(algorithm)
        else { throw .unauthorized("the token's algorithm '\(algorithm)' is not its key's") }
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch {
            throw .unauthorized("the token signature is invalid")
        }
        // Registered time claims are numbers (RFC 7519 NumericDate), or absent.
        for name in ["exp", "nbf", "iat"] where claims.values[name] != nil && claims.values[name]?.number == nil {
            throw .unauthorized("the token's '\(name)' claim must be a number of seconds")
        }
        let identity = try identity(from: claims.values, now: now)
        if let expires = claims.values["exp"]?.number { verified.remember(token, identity: identity, expires: expires) }
        return identity
    }

    private func ensureKey(_ kid: String?) async throws(FleetError) {
        func known() -> Bool { kid.map(kids.contains) ?? (kids.count == 1) }
        if known() { return }
        // Requests that arrive while the keys load wait for that load rather than being refused
        // for a key it is about to bring.
        if refreshing == nil, lastRefresh.map({ ContinuousClock.now - $0 >= configuration.refreshInterval }) ?? true {
            lastRefresh = .now
            refreshing = Task { await self.reload() }
        }
        if let refreshing { await refreshing.value }
        if known() { return }
        if loadFailed {
            throw FleetError(
                .identityProviderUnavailable, "cannot load the signing keys of \(configuration.issuer); try again later", retryAfter: 5)
        }
        throw .unauthorized(kid.map { "the token's key id '\($0)' is not one of the issuer's keys" } ?? "the token names no key id")
    }

    /// Reloads the issuer's keys; the keys in use stay until a load succeeds.
    private func reload() async {
        defer { refreshing = nil }
        do {
            try await load()
            loadFailed = false
        } catch {
            loadFailed = true
            logger.error("cannot load the issuer's keys", metadata: ["issuer": "\(configuration.issuer)", "error": "\(error)"])
        }
    }

    /// Loads the issuer's keys: the discovery document, then `jwks_uri`.
    private func load() async throws {
        let discovery = try await fetchJSON(configuration.issuer.trimmingSuffix("/") + "/.well-known/openid-configuration")
        guard let jwksURI = discovery["jwks_uri"] as? String else {
            throw FleetError(.invalidConfiguration, "the discovery document of \(configuration.issuer) has no jwks_uri")
        }
        let jwks = try await fetchJSON(jwksURI)
        let fresh = Self.keyCollection()
        var loaded: Set<String> = []
        var algorithms: [String: KeyAlgorithm] = [:]
        for key in jwks["keys"] as? [[String: Any]] ?? [] {
            guard let kid = key["kid"] as? String, let type = key["kty"] as? String, type == "RSA" || type == "EC" else { continue }
            do {
                let data = try JSONSerialization.data(withJSONObject: key)
                try await fresh.add(jwk: try JSONDecoder().decode(JWK.self, from: data))
                loaded.insert(kid)
                algorithms[kid] = KeyAlgorithm(type: type, algorithm: key["alg"] as? String)
            } catch {
                logger.warning("skipping an unusable key of the issuer", metadata: ["kid": "\(kid)", "error": "\(error)"])
            }
        }
        keys = fresh
        kids = loaded
        keyAlgorithms = algorithms
    }

    private func fetchJSON(_ url: String) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        let response = try await http.execute(request, timeout: .milliseconds(configuration.keysTimeout.milliseconds))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok, let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        else {
            throw FleetError(.invalidConfiguration, "GET \(url) answered \(response.status.code)")
        }
        return object
    }

    private func identity(from claims: [String: ClaimValue], now: Date) throws(FleetError) -> Identity {
        let leeway = Double(configuration.leeway.components.seconds)
        let time = now.timeIntervalSince1970
        guard let expiry = claims["exp"]?.number else { throw .unauthorized("the token has no expiry (exp)") }
        if time > expiry + leeway { throw .unauthorized("the token expired") }
        if let notBefore = claims["nbf"]?.number, time + leeway < notBefore { throw .unauthorized("the token is not valid yet (nbf)") }
        guard claims["iss"]?.string == configuration.issuer else { throw .unauthorized("the token was issued by another issuer") }
        // RFC 7519: one string or an array of strings; a string is one audience, spaces and all.
        let audiences: [String] =
            switch claims["aud"] {
            case .string(let value)?: [value]
            case .array(let values)?: values.compactMap(\.string)
            default: []
            }
        guard audiences.contains(configuration.audience) else { throw .unauthorized("the token is meant for another audience") }
        guard let tenantText = claims[configuration.tenantClaim]?.string else {
            throw .unauthorized("the token has no tenant claim '\(configuration.tenantClaim)'")
        }
        let tenant: TenantID
        do { tenant = try TenantID(tenantText) } catch { throw .unauthorized("the token's tenant is invalid: \(error.message)") }
        guard let user = claims[configuration.userClaim]?.string, !user.isEmpty else {
            throw .unauthorized("the token has no user claim '\(configuration.userClaim)'")
        }
        let org = claims[configuration.orgClaim]?.string ?? ""
        let team = claims[configuration.teamClaim]?.string ?? ""
        // Identity goes into every audit entry and queue key: no control characters (a NUL
        // cannot even be stored), and a bounded length.
        for (claim, value) in [(configuration.userClaim, user), (configuration.orgClaim, org), (configuration.teamClaim, team)]
        where value.utf8.count > 256 || value.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) {
            throw .unauthorized("the token's '\(claim)' claim must be at most 256 bytes without control characters")
        }
        var roles: Set<Role> = []
        for value in claims[configuration.rolesClaim]?.strings ?? [] {
            if let mapped = configuration.roleMapping[value] {
                roles.insert(mapped)
            } else if let role = Role(rawValue: value) {
                roles.insert(role)
            }
        }
        return Identity(tenant: tenant, user: user, org: org, team: team, roles: roles)
    }
}

/// The claims of a token, checked by `OIDCVerifier` after the signature.
struct Claims: JWTPayload {
    var values: [String: ClaimValue]

    init(values: [String: ClaimValue]) { self.values = values }

    init(from decoder: any Decoder) throws {
        values = try decoder.singleValueContainer().decode([String: ClaimValue].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// The token parser's JSON decoder: a token's claims are read with the fleet's own JSON parser
/// (`Claims` decoded by `JSONDecoder` tried each claim as a boolean, a number, a string and an
/// array before the right type, each miss a thrown error: three times the signature check's
/// CPU for a token seen the first time); anything else, and claims that parser does not take,
/// go to JWTKit's default decoder. A claim named twice is its last value (RFC 7519 section 4).
struct ClaimsJSONDecoder: JWTJSONDecoder {
    let fallback: any JWTJSONDecoder = JSONDecoder.defaultForJWT

    func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if T.self == Claims.self, case .object(let fields)? = JSONValue.parse(data),
            let claims = Claims(values: fields.mapValues(ClaimValue.init(json:))) as? T
        {
            return claims
        }
        return try fallback.decode(type, from: data)
    }
}

/// A JSON claim value.
enum ClaimValue: Codable, Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([ClaimValue])
    case object([String: ClaimValue])
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ClaimValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ClaimValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    /// The claim a parsed JSON value is (every number a `Double`, as the decoder reads it).
    init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .integer(let value): self = .number(Double(value))
        case .number(let value): self = .number(value)
        case .string(let value): self = .string(value)
        case .array(let values): self = .array(values.map(ClaimValue.init(json:)))
        case .object(let fields): self = .object(fields.mapValues(ClaimValue.init(json:)))
        }
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// A string, an array of strings, or a space-separated string, as a list.
    var strings: [String] {
        switch self {
        case .string(let value): value.split(separator: " ").map(String.init)
        case .array(let values): values.compactMap(\.string)
        default: []
        }
    }
}

enum Base64URL {
    static func decode(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    static func encode(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}

/// Tokens already verified, by their exact text, until they expire: clients send the same token
/// for many requests, and a signature check costs more than the rest of a request.
final class VerifiedTokens: Sendable {
    private let entries = Mutex<[String: (identity: Identity, expires: Double)]>([:])
    private let capacity: Int

    init(capacity: Int = 50_000) { self.capacity = capacity }

    func identity(for token: String, leeway: Double, now: Double = Date().timeIntervalSince1970) -> Identity? {
        entries.withLock { entries in
            guard let entry = entries[token] else { return nil }
            if now > entry.expires + leeway {
                entries[token] = nil
                return nil
            }
            return entry.identity
        }
    }

    func remember(_ token: String, identity: Identity, expires: Double) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = (identity, expires)
        }
    }
}

/// Puts the caller's identity into the context of every `/v1` route.
/// Authenticates every `/v1` request, then counts it against its tenant's and user's rate
/// limits (429 with `Retry-After` when over; reads go on when the limits cannot be counted).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let verifier: OIDCVerifier
    let rateLimiter: RateLimiter

    func handle(
        _ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw FleetError.unauthorized("send `Authorization: Bearer <token>` with an OIDC access token")
        }
        var context = context
        let identity = try await verifier.identity(String(header.utf8.dropFirst(7).drop { $0 == 32 }).map { String($0) } ?? "")
        do {
            try await rateLimiter.check(identity)
        } catch {
            // Reads need no Redis: with the limiter unavailable they go on (the audit log above
            // all stays readable in a Redis outage).
            guard error.code == .queueUnavailable && request.method == .get else { throw error }
        }
        context.identity = identity
        return try await next(request, context)
    }
}
