import Synchronization

/// One authorization server's grants: authorization codes, access tokens and refresh tokens,
/// checked against the fakes' clock. Services ask it who a bearer token belongs to.
final class TokenAuthority: Sendable {
    /// What a valid access token stands for.
    struct Principal: Sendable {
        let user: String
        let scopes: Set<String>
        let clientId: String
    }

    /// Why a bearer token is refused (each service answers its vendor's 401 whatever the reason).
    enum Refusal: Sendable, Equatable {
        case missing
        case unknown
        case expired
        case revoked
    }

    /// Tokens handed out by a code exchange or a refresh.
    struct Issued: Sendable {
        let accessToken: String
        let expiresIn: Int64?
        let refreshToken: String?
        let refreshExpiresIn: Int64?
        let scopes: [String]
        let user: String
    }

    /// Why a code exchange or refresh fails; each provider words it its own way.
    enum Failure: Error, Sendable, Equatable {
        case unknownCode
        case codeExpired
        case codeUsed
        case clientMismatch
        case redirectMismatch
        case missingVerifier
        case wrongVerifier
        case unknownRefreshToken
        case revokedRefreshToken
        case expiredRefreshToken
        case rotatedRefreshToken
    }

    struct PendingCode: Sendable {
        let clientId: String
        let redirectURI: String?
        let user: String
        let scopes: [String]
        let challenge: String?
        let challengeMethod: String?
        let expiresAt: Int64
        let issueRefresh: Bool
        var used = false
        var grant: Int?
    }

    private struct AccessRecord {
        let grant: Int
        var expiresAt: Int64?
    }

    private struct RefreshRecord {
        let grant: Int
        let expiresAt: Int64?
        /// When it was replaced by a newer one (rotation).
        var rotatedAt: Int64?
    }

    private struct Grant {
        let user: String
        let clientId: String
        let scopes: [String]
        var revoked = false
    }

    private struct State {
        var codes: [String: PendingCode] = [:]
        var access: [String: AccessRecord] = [:]
        var refresh: [String: RefreshRecord] = [:]
        var grants: [Int: Grant] = [:]
        var nextGrant = 1
        /// Users who consented to a client before (Google issues a refresh token at first consent).
        var consented: Set<String> = []
    }

    let provider: OAuthProvider
    let policy: TokenPolicy
    let clock: FakeClock
    private let state = Mutex(State())

    init(provider: OAuthProvider, policy: TokenPolicy, clock: FakeClock) {
        self.provider = provider
        self.policy = policy
        self.clock = clock
    }

    // MARK: Bearer tokens

    /// Who `token` belongs to, or why it is refused.
    func validate(_ token: String?) -> Result<Principal, RefusalError> {
        guard let token, !token.isEmpty else { return .failure(RefusalError(.missing)) }
        let now = clock.nowMillis
        return state.withLock { state in
            guard let record = state.access[token], let grant = state.grants[record.grant] else {
                return .failure(RefusalError(.unknown))
            }
            if grant.revoked { return .failure(RefusalError(.revoked)) }
            if let expiry = record.expiresAt, expiry <= now { return .failure(RefusalError(.expired)) }
            return .success(Principal(user: grant.user, scopes: Set(grant.scopes), clientId: grant.clientId))
        }
    }

    /// The remaining lifetime of `token` in seconds (nil: unknown or no expiry).
    func expiresIn(_ token: String) -> Int64? {
        let now = clock.nowMillis
        return state.withLock { state in state.access[token]?.expiresAt.map { max(0, ($0 - now) / 1000) } }
    }

    // MARK: Codes

    /// Records a consent and returns the authorization code for it.
    func issueCode(
        clientId: String, redirectURI: String?, user: String, scopes: [String], challenge: String?, challengeMethod: String?,
        wantsRefresh: Bool, forceConsent: Bool
    ) -> String {
        let code = policy.makeCode()
        let now = clock.nowMillis
        state.withLock { state in
            let key = clientId + " " + user
            let first = !state.consented.contains(key)
            state.consented.insert(key)
            state.codes[code] = PendingCode(
                clientId: clientId, redirectURI: redirectURI, user: user, scopes: scopes, challenge: challenge,
                challengeMethod: challengeMethod, expiresAt: now + policy.codeLifetimeSeconds * 1000,
                issueRefresh: policy.issuesRefreshTokens && wantsRefresh && (first || forceConsent))
        }
        return code
    }

    /// Exchanges a code once; a second use is refused (the tokens of the first stay valid).
    func exchange(code: String, clientId: String, redirectURI: String?, verifier: String?) -> Result<Issued, Failure> {
        let now = clock.nowMillis
        return state.withLock { state -> Result<Issued, Failure> in
            guard var pending = state.codes[code] else { return .failure(.unknownCode) }
            if pending.used { return .failure(.codeUsed) }
            guard pending.expiresAt > now else { return .failure(.codeExpired) }
            guard pending.clientId == clientId else { return .failure(.clientMismatch) }
            if let expected = pending.redirectURI, let given = redirectURI, expected != given { return .failure(.redirectMismatch) }
            if pending.redirectURI != nil, redirectURI == nil, provider != .github { return .failure(.redirectMismatch) }
            if let challenge = pending.challenge, !policy.pkceMethods.isEmpty {
                guard let verifier, !verifier.isEmpty else { return .failure(.missingVerifier) }
                guard PKCE.verify(verifier: verifier, challenge: challenge, method: pending.challengeMethod ?? "plain") else {
                    return .failure(.wrongVerifier)
                }
            }
            pending.used = true
            let grantID = state.nextGrant
            state.nextGrant += 1
            state.grants[grantID] = Grant(user: pending.user, clientId: clientId, scopes: pending.scopes)
            pending.grant = grantID
            state.codes[code] = pending
            return .success(Self.mint(&state, grant: grantID, withRefresh: pending.issueRefresh, policy: policy, now: now))
        }
    }

    private static func mint(_ state: inout State, grant: Int, withRefresh: Bool, policy: TokenPolicy, now: Int64) -> Issued {
        let access = policy.makeAccessToken()
        state.access[access] = AccessRecord(grant: grant, expiresAt: policy.accessLifetimeSeconds.map { now + $0 * 1000 })
        var refresh: String?
        if withRefresh {
            let token = policy.makeRefreshToken()
            state.refresh[token] = RefreshRecord(grant: grant, expiresAt: policy.refreshLifetimeSeconds.map { now + $0 * 1000 })
            refresh = token
        }
        let record = state.grants[grant]!
        return Issued(
            accessToken: access, expiresIn: policy.accessLifetimeSeconds, refreshToken: refresh,
            refreshExpiresIn: refresh == nil ? nil : policy.refreshLifetimeSeconds, scopes: record.scopes, user: record.user)
    }

    // MARK: Refresh and revocation

    /// A new access token (and, where the provider rotates, a new refresh token; the old one dies).
    func refresh(_ token: String, clientId: String) -> Result<Issued, Failure> {
        let now = clock.nowMillis
        return state.withLock { state -> Result<Issued, Failure> in
            guard var record = state.refresh[token], let grant = state.grants[record.grant] else {
                return .failure(.unknownRefreshToken)
            }
            guard grant.clientId == clientId else { return .failure(.clientMismatch) }
            if grant.revoked { return .failure(.revokedRefreshToken) }
            if let expiry = record.expiresAt, expiry <= now { return .failure(.expiredRefreshToken) }
            if let rotated = record.rotatedAt, now - rotated >= policy.rotationLeewaySeconds * 1000 {
                return .failure(.rotatedRefreshToken)
            }
            guard policy.rotatesRefreshTokens else {
                let issued = Self.mint(&state, grant: record.grant, withRefresh: false, policy: policy, now: now)
                return .success(issued)
            }
            if record.rotatedAt == nil { record.rotatedAt = now }
            state.refresh[token] = record
            return .success(Self.mint(&state, grant: record.grant, withRefresh: true, policy: policy, now: now))
        }
    }

    /// Revokes the grant `token` (access or refresh) belongs to; false when it is unknown.
    @discardableResult
    func revoke(token: String) -> Bool {
        state.withLock { state in
            guard let grant = state.access[token]?.grant ?? state.refresh[token]?.grant, state.grants[grant] != nil else { return false }
            let wasLive = !(state.grants[grant]!.revoked)
            state.grants[grant]!.revoked = true
            return wasLive
        }
    }

    /// Whether `token` is a known access token of `clientId` (GitHub's check-a-token).
    func owner(ofAccessToken token: String) -> (user: String, clientId: String, scopes: [String])? {
        state.withLock { state in
            guard let record = state.access[token], let grant = state.grants[record.grant], !grant.revoked else { return nil }
            return (grant.user, grant.clientId, grant.scopes)
        }
    }

    /// Every access token of `user` expires now.
    func expireAccessTokens(of user: String) {
        let now = clock.nowMillis
        state.withLock { state in
            let grants = Set(state.grants.filter { $0.value.user == user }.map(\.key))
            for (token, record) in state.access where grants.contains(record.grant) { state.access[token]?.expiresAt = now }
        }
    }

    /// Every grant of `user` is revoked (access and refresh tokens).
    func revokeAll(of user: String) {
        state.withLock { state in
            for (id, grant) in state.grants where grant.user == user { state.grants[id]?.revoked = true }
        }
    }

    /// Tokens for `user` without the browser dance (control API, benchmarks).
    func issueDirect(user: String, clientId: String, scopes: [String]) -> Issued {
        let now = clock.nowMillis
        return state.withLock { state in
            let grantID = state.nextGrant
            state.nextGrant += 1
            state.grants[grantID] = Grant(user: user, clientId: clientId, scopes: scopes)
            return Self.mint(&state, grant: grantID, withRefresh: policy.issuesRefreshTokens, policy: policy, now: now)
        }
    }
}

/// A refused bearer token, as an error value.
struct RefusalError: Error, Sendable {
    let reason: TokenAuthority.Refusal
    init(_ reason: TokenAuthority.Refusal) { self.reason = reason }
}
