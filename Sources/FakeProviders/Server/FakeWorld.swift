import Foundation
import Synchronization

/// All state of one set of fakes: the clock, the people, every provider's data, the tokens, the
/// faults and the request log. Built once from the configuration; services hold what they use.
final class FakeWorld: Sendable {
    let configuration: FakeProvidersConfiguration
    let clock: FakeClock
    let directory: Directory
    let baseURLs = BaseURLs()
    let faults = FaultInjector()
    let requestLog: RequestLog
    let consent: ConsentDesk
    let google: TokenAuthority
    let atlassian: TokenAuthority
    let github: TokenAuthority
    let mailboxes: [String: Mailbox]
    let calendars: [String: CalendarStore]
    let drives: [String: DriveStore]
    let jira: JiraStore
    let githubStore: GitHubStore
    let githubLimiter: GitHubRateLimiter
    let cloudId: String
    let urls = Mutex<FakeProviderURLs?>(nil)
    let webhooks: WebhookSender

    init(configuration: FakeProvidersConfiguration) {
        self.configuration = configuration
        clock = FakeClock(startingAt: configuration.now)
        let users = configuration.allUsers
        directory = Directory(userEmails: users, seed: configuration.seed)
        requestLog = RequestLog(capacity: configuration.requestLogCapacity)
        consent = ConsentDesk(defaultUser: directory.users.first?.email ?? "")
        webhooks = WebhookSender(clock: clock)
        google = TokenAuthority(provider: .google, policy: .google(accessLifetime: configuration.googleAccessTokenSeconds), clock: clock)
        atlassian = TokenAuthority(
            provider: .atlassian,
            policy: .atlassian(
                accessLifetime: configuration.atlassianAccessTokenSeconds, reuseLeeway: configuration.atlassianRefreshReuseSeconds),
            clock: clock)
        github = TokenAuthority(
            provider: .github,
            policy: configuration.githubTokenMode == .app
                ? .githubApp(accessLifetime: configuration.githubAccessTokenSeconds) : .githubOAuthApp(),
            clock: clock)
        var idRandom = SeededGenerator(seed: configuration.seed, purpose: "cloud-id")
        cloudId = Directory.uuid(&idRandom)
        let now = clock.nowMillis
        let directory = self.directory
        mailboxes = Self.generateMailboxes(configuration: configuration, directory: directory, now: now)
        var calendars: [String: CalendarStore] = [:]
        for user in directory.users {
            calendars[user.email] = CalendarGenerator.store(
                for: user, directory: directory, count: configuration.resolvedCalendarEvents, now: now, seed: configuration.seed)
        }
        self.calendars = calendars
        var drives: [String: DriveStore] = [:]
        for user in directory.users {
            drives[user.email] = DriveGenerator.store(
                for: user, directory: directory, count: configuration.resolvedDriveFiles, now: now, seed: configuration.seed)
        }
        self.drives = drives
        jira = JiraStore(
            projectKey: configuration.jiraProjectKey, directory: directory, clock: clock,
            indexDelayMillis: Int64(configuration.jiraIndexDelayMillis))
        jira.load(
            JiraGenerator.issues(
                store: jira, directory: directory, perUser: configuration.resolvedJiraIssues, now: now, seed: configuration.seed))
        githubStore = GitHubGenerator.store(
            org: configuration.githubOrg, directory: directory, clock: clock, pullsPerUser: configuration.resolvedGitHubPulls,
            jiraIssueCount: directory.users.count * configuration.resolvedJiraIssues, now: now, seed: configuration.seed)
        githubLimiter = GitHubRateLimiter(
            coreLimit: configuration.githubRequestsPerHour, searchLimit: configuration.githubSearchPerMinute, enforced: configuration.limits
        )
    }

    /// Mailboxes of every user, generated on all cores.
    private static func generateMailboxes(configuration: FakeProvidersConfiguration, directory: Directory, now: Int64) -> [String: Mailbox]
    {
        let users = directory.users
        let results = Mutex<[String: Mailbox]>([:])
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, users.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var index = worker
            while index < users.count {
                let user = users[index]
                let count = index == 0 ? configuration.resolvedGmailMessages : configuration.resolvedGmailMessagesOthers
                let mailbox = MailboxGenerator.mailbox(for: user, directory: directory, count: count, now: now, seed: configuration.seed)
                results.withLock { $0[user.email] = mailbox }
                index += workers
            }
        }
        return results.withLock { $0 }
    }

    func authority(_ provider: OAuthProvider) -> TokenAuthority {
        switch provider {
        case .google: return google
        case .atlassian: return atlassian
        case .github: return github
        }
    }

    func oauthSetup(_ provider: OAuthProvider) -> OAuthSetup {
        let client: OAuthClientRegistration
        switch provider {
        case .google: client = configuration.googleClient
        case .atlassian: client = configuration.atlassianClient
        case .github: client = configuration.githubClient
        }
        return OAuthSetup(
            client: client, authority: authority(provider), consent: consent, directory: directory, redirectURIs: configuration.redirectURIs
        )
    }

    var accessibleResources: AccessibleResources {
        AccessibleResources(authority: atlassian, cloudId: cloudId, siteName: "acme", baseURLs: baseURLs)
    }

    /// The behaviour of listener `kind`.
    func service(_ kind: ServiceKind) -> any FakeService {
        let limits = configuration.limits
        switch kind {
        case .googleOAuth: return GoogleOAuthService(setup: oauthSetup(.google))
        case .gmail:
            let quotaStatus = configuration.gmailQuotaStatus
            return GmailService(
                mailboxes: mailboxes,
                gate: GoogleGate(
                    authority: google, style: .modern,
                    quota: limits ? SlidingWindowLimiter(limit: configuration.gmailUnitsPerMinute, windowMillis: 60_000) : nil,
                    quotaStatus: quotaStatus, quotaReason: quotaStatus == 429 ? "rateLimitExceeded" : "userRateLimitExceeded",
                    quotaMessage: quotaStatus == 429 ? "User-rate limit exceeded.  Retry after {retry}" : "User Rate Limit Exceeded",
                    clock: clock),
                concurrency: limits && configuration.gmailConcurrentRequests > 0
                    ? ConcurrencyGauge(limit: configuration.gmailConcurrentRequests) : nil,
                clock: clock, historyRetentionMillis: Int64(configuration.gmailHistoryRetentionHours * 3_600_000))
        case .atlassianAuth:
            return AtlassianAuthService(setup: oauthSetup(.atlassian), resources: accessibleResources)
        case .githubOAuth: return GitHubOAuthService(setup: oauthSetup(.github), mode: configuration.githubTokenMode)
        case .calendar:
            return CalendarService(
                stores: calendars,
                gate: GoogleGate(
                    authority: google, style: .classic,
                    quota: limits ? SlidingWindowLimiter(limit: configuration.calendarRequestsPerMinute, windowMillis: 60_000) : nil,
                    quotaStatus: 403, quotaReason: "rateLimitExceeded", quotaMessage: "Rate Limit Exceeded", clock: clock),
                clock: clock, jitter: configuration.calendarPageJitter)
        case .drive:
            return DriveService(
                stores: drives,
                gate: GoogleGate(
                    authority: google, style: .classic,
                    quota: limits ? SlidingWindowLimiter(limit: configuration.driveRequestsPerMinute, windowMillis: 60_000) : nil,
                    quotaStatus: 403, quotaReason: "userRateLimitExceeded", quotaMessage: "User Rate Limit Exceeded", clock: clock),
                clock: clock, directory: directory)
        case .jira:
            return JiraService(
                store: jira, authority: atlassian, cloudId: cloudId, apiToken: configuration.jiraAPIToken, baseURLs: baseURLs,
                burst: limits ? SlidingWindowLimiter(limit: configuration.jiraBurstPerSecond, windowMillis: 1000) : nil,
                resources: accessibleResources, webhooks: webhooks)
        case .github:
            return GitHubService(
                store: githubStore, authority: github, limiter: githubLimiter, baseURLs: baseURLs, client: configuration.githubClient,
                mode: configuration.githubTokenMode, webhooks: webhooks)
        case .control: return ControlService(world: self)
        }
    }
}
