/// The listeners of one `FakeProviders` process, in port order: with `--port P` the control API
/// listens on P, Google OAuth on P+1, Gmail on P+2, and so on down this list.
enum ServiceKind: String, Sendable, CaseIterable, Codable {
    case control
    case googleOAuth = "google_oauth"
    case gmail
    case calendar
    case drive
    case atlassianAuth = "atlassian_auth"
    case jira
    case githubOAuth = "github_oauth"
    case github

    /// The offset of this listener from `--port`.
    var portOffset: Int { Self.allCases.firstIndex(of: self)! }

    /// The OAuth provider whose tokens this service accepts.
    var provider: OAuthProvider? {
        switch self {
        case .control: return nil
        case .googleOAuth, .gmail, .calendar, .drive: return .google
        case .atlassianAuth, .jira: return .atlassian
        case .githubOAuth, .github: return .github
        }
    }
}

/// The three authorization servers.
enum OAuthProvider: String, Sendable, CaseIterable, Codable {
    case google
    case atlassian
    case github
}
