import Foundation

/// Everything `FakeProviders serve` can be told; tests build one and call
/// `FakeProvidersServer.start(_:)`.
public struct FakeProvidersConfiguration: Sendable {
    /// Data volumes: `small` for tests, `bench` for benchmarks (one 50,000-message mailbox and
    /// 1,000 users with a few items each).
    public enum Scale: String, Sendable, CaseIterable {
        case small, bench
    }

    /// How GitHub issues user tokens.
    public enum GitHubTokenMode: String, Sendable, CaseIterable {
        /// A GitHub App with expiring user tokens: `ghu_` for 8 h, rotating `ghr_` refresh tokens.
        case app
        /// An OAuth app: `gho_` tokens that do not expire, no refresh token.
        case oauthApp = "oauth-app"
    }

    public var host = "127.0.0.1"
    /// 0: every listener picks a free port; P: control on P, then P+1... in `ServiceKind` order.
    public var port = 0
    public var seed: UInt64 = 1
    public var users = ["alice@acme.test", "bob@acme.test"]
    /// Pads `users` with generated users (`user0003@acme.test`, ...) up to this many.
    public var usersCount: Int?
    public var scale: Scale = .small

    /// Messages in the first user's mailbox (default: small 150, bench 50,000).
    public var gmailMessages: Int?
    /// Messages in every other user's mailbox (default: small 150, bench 6).
    public var gmailMessagesOtherUsers: Int?
    /// Calendar events per user (default: small 40, bench 4).
    public var calendarEvents: Int?
    /// Drive files per user (default: small 30, bench 3).
    public var driveFiles: Int?
    /// Jira issues per user (default: small 12, bench 3).
    public var jiraIssuesPerUser: Int?
    /// GitHub pull requests per user (default: small 5, bench 2).
    public var githubPullsPerUser: Int?

    /// Quotas and rate limits on (`--no-limits` turns them off).
    public var limits = true
    public var gmailUnitsPerMinute = 15_000
    public var gmailConcurrentRequests = 10
    /// `429` (`rateLimitExceeded`) or `403` (`userRateLimitExceeded`) when the Gmail quota is spent.
    public var gmailQuotaStatus = 429
    public var gmailHistoryRetentionHours = 168.0
    public var calendarRequestsPerMinute = 600
    public var driveRequestsPerMinute = 12_000
    public var githubRequestsPerHour = 5_000
    public var githubSearchPerMinute = 30
    public var jiraBurstPerSecond = 100
    /// Jira search shows a write only after this long (unless the issue is in `reconcileIssues`).
    public var jiraIndexDelayMillis = 1_000
    /// Calendar pages are sometimes short or empty before the last one, as Google's are.
    public var calendarPageJitter = true

    public var googleClient = OAuthClientRegistration(
        clientId: "1094561183372-fakeproviders.apps.googleusercontent.com", clientSecret: "GOCSPX-fake-google-secret")
    public var atlassianClient = OAuthClientRegistration(
        clientId: "FakeAtlassianClientId0123456789ab", clientSecret: "ATOAfake-atlassian-secret")
    public var githubClient = OAuthClientRegistration(
        clientId: "Iv23liFakeGitHubApp01", clientSecret: "fake-github-client-secret-0123456789abcdef")
    /// Registered callbacks; empty accepts any http(s) `redirect_uri`.
    public var redirectURIs: [String] = []
    public var githubTokenMode: GitHubTokenMode = .app
    public var googleAccessTokenSeconds: Int64 = 3599
    public var atlassianAccessTokenSeconds: Int64 = 3600
    public var githubAccessTokenSeconds: Int64 = 28800
    /// How long a rotated Atlassian refresh token keeps working (Atlassian: 600; default 0).
    public var atlassianRefreshReuseSeconds: Int64 = 0
    /// The password of Basic auth on Jira's site paths (`/rest/api/3/...`) for every user.
    public var jiraAPIToken = "fake-jira-api-token"
    public var jiraProjectKey = "PROJ"
    public var githubOrg = "acme"

    /// Entries kept by the request log (`GET /control/requests`); 0 turns it off.
    public var requestLogCapacity = 200_000
    /// Start of the fakes' clock; nil: now. Generated data is laid out around this day.
    public var now: Date?
    /// stderr logging level of the servers.
    public var logLevel = "info"

    public init() {}

    /// Users after padding to `usersCount`.
    var allUsers: [String] {
        var list = users.map { $0.lowercased() }
        let wanted = usersCount ?? (scale == .bench ? 1000 : list.count)
        let domain = list.first.map { String($0.split(separator: "@").last ?? "acme.test") } ?? "acme.test"
        var number = list.count + 1
        while list.count < wanted {
            list.append("user\(String(number).leftPadded(4))@\(domain)")
            number += 1
        }
        return list
    }

    var resolvedGmailMessages: Int { gmailMessages ?? (scale == .bench ? 50_000 : 150) }
    var resolvedGmailMessagesOthers: Int { gmailMessagesOtherUsers ?? (scale == .bench ? 6 : 150) }
    var resolvedCalendarEvents: Int { calendarEvents ?? (scale == .bench ? 4 : 40) }
    var resolvedDriveFiles: Int { driveFiles ?? (scale == .bench ? 3 : 30) }
    var resolvedJiraIssues: Int { jiraIssuesPerUser ?? (scale == .bench ? 3 : 12) }
    var resolvedGitHubPulls: Int { githubPullsPerUser ?? (scale == .bench ? 2 : 5) }
}
