import Contracts
import Foundation
import OutboundHTTP
import Settings

/// Who a newly connected account is at the provider, and what its clients need to know of it:
/// the Gmail address, Jira's cloud id and site, the GitHub login.
public enum AccountIdentity {
    public static func identify(
        _ connector: Connector, session: ProviderSession, settings: ProviderSettings
    ) async throws(ConnectorFailure) -> (account: String, details: [String: JSONValue]) {
        switch connector {
        case .gmail:
            struct Profile: Decodable { let emailAddress: String }
            let profile = try await session.get("\(settings.google.gmailURL)/gmail/v1/users/me/profile", as: Profile.self)
            return (profile.emailAddress, [:])
        case .gcal, .gdrive:
            return ("", [:])
        case .jira:
            struct Resource: Decodable {
                let id: String
                let url: String
                let name: String?
            }
            let resources = try await session.get(settings.atlassian.resourcesURL, as: [Resource].self)
            guard let site = resources.first else { throw .fail("the Atlassian grant covers no Jira site") }
            return (site.name ?? site.url, ["cloud_id": .string(site.id), "site": .string(site.url)])
        case .github:
            struct User: Decodable { let login: String }
            let user = try await session.get("\(settings.github.apiURL)/user", as: User.self)
            return (user.login, ["login": .string(user.login)])
        }
    }

    /// The headers every GitHub request carries.
    public static let githubHeaders: [(name: String, value: String)] = [
        ("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28"), ("User-Agent", "openclaw-fleet"),
    ]

    /// A session for `connector` with `accessToken` (GitHub's headers included).
    public static func session(
        _ connector: Connector, http: any HTTPTransport, accessToken: String,
        budget: @escaping @Sendable () async throws -> Duration? = { nil }
    ) -> ProviderSession {
        ProviderSession(http: http, accessToken: accessToken, headers: connector == .github ? githubHeaders : [], budget: budget)
    }
}
