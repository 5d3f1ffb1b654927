import Synchronization

/// Who consents at the next authorize request of each provider (`POST /control/consent`); by
/// default the first user. An authorize request that names a user (`login_hint`, `login`) consents
/// as that user.
final class ConsentDesk: Sendable {
    /// The next consent at one provider.
    struct Decision: Sendable {
        var user: String
        var deny: Bool
    }

    private let decisions: Mutex<[OAuthProvider: Decision]>

    init(defaultUser: String) {
        decisions = Mutex(Dictionary(uniqueKeysWithValues: OAuthProvider.allCases.map { ($0, Decision(user: defaultUser, deny: false)) }))
    }

    func set(_ provider: OAuthProvider, user: String, deny: Bool) {
        decisions.withLock { $0[provider] = Decision(user: user, deny: deny) }
    }

    func decision(for provider: OAuthProvider) -> Decision { decisions.withLock { $0[provider]! } }
}
