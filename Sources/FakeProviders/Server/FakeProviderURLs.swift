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

    /// The fleet's settings (`OC_*`, as the Dispatcher and the workers read them) that point
    /// every connector at these fakes.
    public var fleetEnvironment: [String: String] {
        [
            "OC_GOOGLE_CLIENT_ID": googleClient.clientId, "OC_GOOGLE_CLIENT_SECRET": googleClient.clientSecret,
            "OC_GOOGLE_AUTHORIZE_URL": googleOAuth + "/o/oauth2/v2/auth", "OC_GOOGLE_TOKEN_URL": googleOAuth + "/token",
            "OC_GOOGLE_REVOKE_URL": googleOAuth + "/revoke", "OC_GMAIL_URL": gmail, "OC_GCAL_URL": calendar, "OC_GDRIVE_URL": drive,
            "OC_ATLASSIAN_CLIENT_ID": atlassianClient.clientId, "OC_ATLASSIAN_CLIENT_SECRET": atlassianClient.clientSecret,
            "OC_ATLASSIAN_AUTHORIZE_URL": atlassianAuth + "/authorize", "OC_ATLASSIAN_TOKEN_URL": atlassianAuth + "/oauth/token",
            "OC_ATLASSIAN_RESOURCES_URL": atlassianAuth + "/oauth/token/accessible-resources", "OC_JIRA_URL": jira,
            "OC_GITHUB_CLIENT_ID": githubClient.clientId, "OC_GITHUB_CLIENT_SECRET": githubClient.clientSecret,
            "OC_GITHUB_AUTHORIZE_URL": githubOAuth + "/login/oauth/authorize",
            "OC_GITHUB_TOKEN_URL": githubOAuth + "/login/oauth/access_token",
            "OC_GITHUB_API_URL": github,
        ]
    }

    /// The one-line JSON form.
    public var jsonLine: String { JSONWriter.string(json) }
}
