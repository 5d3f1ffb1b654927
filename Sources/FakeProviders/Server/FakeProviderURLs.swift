/// Where each listener of a running `FakeProviders` answers, and the OAuth clients it knows:
/// the one JSON line `serve` prints on stdout.
public struct FakeProviderURLs: Sendable {
    public let control: String
    public let googleOAuth: String
    public let gmail: String
    public let calendar: String
    public let drive: String
    public let atlassianAuth: String
    public let jira: String
    public let githubOAuth: String
    public let github: String
    public let googleClient: OAuthClientRegistration
    public let atlassianClient: OAuthClientRegistration
    public let githubClient: OAuthClientRegistration
    /// The Jira cloud id (`/ex/jira/{cloudId}/rest/api/3/...`).
    public let cloudId: String

    init(urls: [ServiceKind: String], configuration: FakeProvidersConfiguration, cloudId: String) {
        control = urls[.control] ?? ""
        googleOAuth = urls[.googleOAuth] ?? ""
        gmail = urls[.gmail] ?? ""
        calendar = urls[.calendar] ?? ""
        drive = urls[.drive] ?? ""
        atlassianAuth = urls[.atlassianAuth] ?? ""
        jira = urls[.jira] ?? ""
        githubOAuth = urls[.githubOAuth] ?? ""
        github = urls[.github] ?? ""
        googleClient = configuration.googleClient
        atlassianClient = configuration.atlassianClient
        githubClient = configuration.githubClient
        self.cloudId = cloudId
    }

    /// The URL of `kind`.
    subscript(kind: ServiceKind) -> String {
        switch kind {
        case .control: return control
        case .googleOAuth: return googleOAuth
        case .gmail: return gmail
        case .calendar: return calendar
        case .drive: return drive
        case .atlassianAuth: return atlassianAuth
        case .jira: return jira
        case .githubOAuth: return githubOAuth
        case .github: return github
        }
    }

    var json: JSON {
        func client(_ registration: OAuthClientRegistration) -> JSON {
            .object([("client_id", .string(registration.clientId)), ("client_secret", .string(registration.clientSecret))])
        }
        var fields: [(String, JSON)] = ServiceKind.allCases.map { ($0.rawValue, .string(self[$0])) }
        fields.append(
            (
                "clients",
                .object([("google", client(googleClient)), ("atlassian", client(atlassianClient)), ("github", client(githubClient))])
            ))
        fields.append(("cloud_id", .string(cloudId)))
        return .object(fields)
    }

    /// The one-line JSON form.
    public var jsonLine: String { JSONWriter.string(json) }
}
