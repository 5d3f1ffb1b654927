import Contracts
import Settings

/// The OAuth providers behind the connectors.
public enum Provider: String, Sendable, CaseIterable {
    case google, atlassian, github
}

extension Connector {
    /// Whose OAuth grant the connector uses (each connector is its own grant).
    public var provider: Provider {
        switch self {
        case .gmail, .gcal, .gdrive: .google
        case .jira: .atlassian
        case .github: .github
        }
    }

    /// The scopes asked for: reading, and the writes the fleet can make when a policy allows
    /// them (the policy decides every action; a scope only makes it possible).
    public var scopes: [String] {
        switch self {
        case .gmail: ["https://www.googleapis.com/auth/gmail.readonly", "https://www.googleapis.com/auth/gmail.compose"]
        case .gcal: ["https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.readonly"]
        case .gdrive: ["https://www.googleapis.com/auth/drive.readonly"]
        case .jira: ["read:jira-work", "write:jira-work", "read:jira-user", "offline_access"]
        case .github: ["repo", "read:user"]
        }
    }
}

extension ProviderSettings {
    /// The OAuth client registered for `provider`.
    public func client(_ provider: Provider) -> Client {
        switch provider {
        case .google: google.client
        case .atlassian: atlassian.client
        case .github: github.client
        }
    }

    /// Where the provider sends the user back after consent.
    public func redirectURI(_ connector: Connector) -> String { "\(redirectBase)/v1/connectors/\(connector.rawValue)/callback" }
}
