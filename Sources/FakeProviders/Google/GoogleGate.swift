import Foundation

/// What every Google API request passes before its handler: the bearer token, the scopes the
/// method accepts, the `userId`/calendar owner, and the per-user quota.
struct GoogleGate: Sendable {
    let authority: TokenAuthority
    let style: GoogleErrors.Style
    /// Units per user per window (nil: no limit).
    let quota: SlidingWindowLimiter?
    let quotaStatus: Int
    let quotaReason: String
    let quotaMessage: String
    let clock: FakeClock

    /// The principal, or the answer refusing the request.
    func authorize(_ request: ProviderRequest, scopes accepted: Set<String>) -> Result<TokenAuthority.Principal, GateRefusal> {
        switch authority.validate(request.bearerToken) {
        case .failure(let refusal):
            return .failure(GateRefusal(GoogleErrors.unauthenticated(missing: refusal.reason == .missing, style: style)))
        case .success(let principal):
            guard !principal.scopes.isDisjoint(with: accepted) else {
                return .failure(GateRefusal(GoogleErrors.insufficientScopes(style: style)))
            }
            return .success(principal)
        }
    }

    /// Spends `units` of `user`'s quota, or the answer refusing the request.
    func spend(_ units: Int, user: String) -> GateRefusal? {
        guard let quota else { return nil }
        let outcome = quota.spend(units, key: user, now: clock.nowMillis)
        guard !outcome.allowed else { return nil }
        var message = quotaMessage
        if quotaStatus == 429, message.contains("{retry}") {
            message = message.replacingOccurrences(of: "{retry}", with: Timestamps.rfc3339Millis(outcome.retryAtMillis))
        }
        return GateRefusal(GoogleErrors.rateLimited(status: quotaStatus, reason: quotaReason, message: message, style: style))
    }
}

/// An answer that ends a request before its handler.
struct GateRefusal: Error, Sendable {
    let response: ProviderResponse
    init(_ response: ProviderResponse) { self.response = response }
}
