import ArgumentParser
import Foundation
import Logging

/// `FakeProviders serve`: generates the data, listens, prints one JSON line of base URLs.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run every fake; print one JSON line with the base URLs on stdout.",
        discussion: """
            Listeners, in port order (with --port P: control on P, google_oauth on P+1, ...): control, google_oauth, gmail, \
            calendar, drive, atlassian_auth, jira, github_oauth, github. --port 0 lets each pick a free port.
            """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "First port (control); the others follow. 0: free ports.") var port = 0
    @Option(help: "Seed of the generated data.") var seed: UInt64 = 1
    @Option(help: "Fleet users, comma-separated (the first consents by default).") var users = "alice@acme.test,bob@acme.test"
    @Option(name: .customLong("users-count"), help: "Pad the users to this many (user0003@..., ...).") var usersCount: Int?
    @Option(help: "small (tests) or bench (one 50,000-message mailbox, 1,000 users).") var scale = "small"
    @Option(name: .customLong("gmail-messages"), help: "Messages in the first user's mailbox.") var gmailMessages: Int?
    @Option(name: .customLong("gmail-messages-others"), help: "Messages in every other mailbox.") var gmailMessagesOthers: Int?
    @Option(name: .customLong("calendar-events"), help: "Events per user.") var calendarEvents: Int?
    @Option(name: .customLong("drive-files"), help: "Drive files per user.") var driveFiles: Int?
    @Option(name: .customLong("jira-issues"), help: "Jira issues per user.") var jiraIssues: Int?
    @Option(name: .customLong("github-pulls"), help: "GitHub pull requests per user.") var githubPulls: Int?
    @Flag(name: .customLong("no-limits"), help: "Turn quotas, rate limits and concurrency caps off (benchmarks).") var noLimits = false
    @Option(name: .customLong("gmail-units-per-minute"), help: "Gmail quota units per user per minute.") var gmailUnits = 15_000
    @Option(name: .customLong("gmail-concurrency"), help: "Concurrent requests per user (0: no cap).") var gmailConcurrency = 10
    @Option(name: .customLong("gmail-quota-status"), help: "429 or 403 when the Gmail quota is spent.") var gmailQuotaStatus = 429
    @Option(name: .customLong("gmail-history-retention-hours"), help: "Older startHistoryId answers 404.") var historyRetention = 168.0
    @Option(name: .customLong("calendar-per-minute"), help: "Calendar requests per user per minute (403 beyond).") var calendarPerMinute =
        600
    @Option(name: .customLong("drive-per-minute"), help: "Drive requests per user per minute (403 beyond).") var drivePerMinute = 12_000
    @Option(name: .customLong("github-per-hour"), help: "GitHub core requests per token owner per hour.") var githubPerHour = 5_000
    @Option(name: .customLong("github-search-per-minute"), help: "GitHub search requests per minute.") var githubSearchPerMinute = 30
    @Option(name: .customLong("jira-burst-per-second"), help: "Jira requests per user, endpoint and method per second (429 beyond).")
    var jiraBurst = 100
    @Option(name: .customLong("jira-index-delay-ms"), help: "Jira search sees writes only after this delay.") var jiraIndexDelay = 1_000
    @Flag(name: .customLong("no-calendar-page-jitter"), help: "Full Calendar pages only.") var noCalendarJitter = false
    @Option(name: .customLong("google-client-id"), help: "The preconfigured OAuth clients (id and secret per provider).")
    var googleClientId: String?
    @Option(name: .customLong("google-client-secret")) var googleClientSecret: String?
    @Option(name: .customLong("atlassian-client-id")) var atlassianClientId: String?
    @Option(name: .customLong("atlassian-client-secret")) var atlassianClientSecret: String?
    @Option(name: .customLong("github-client-id")) var githubClientId: String?
    @Option(name: .customLong("github-client-secret")) var githubClientSecret: String?
    @Option(name: .customLong("redirect-uri"), help: "A registered callback (repeatable); none: any http(s) URI.") var redirectURIs:
        [String] = []
    @Option(name: .customLong("github-token-mode"), help: "app (ghu_/ghr_, 8 h, rotating) or oauth-app (gho_, no expiry).")
    var githubTokenMode = "app"
    @Option(name: .customLong("google-token-seconds"), help: "Google access-token lifetime.") var googleTokenSeconds: Int64 = 3599
    @Option(name: .customLong("atlassian-token-seconds"), help: "Atlassian access-token lifetime.") var atlassianTokenSeconds: Int64 = 3600
    @Option(name: .customLong("github-token-seconds"), help: "GitHub App user-token lifetime.") var githubTokenSeconds: Int64 = 28800
    @Option(name: .customLong("atlassian-refresh-reuse-seconds"), help: "Grace of a rotated refresh token (Atlassian: 600).")
    var atlassianReuse: Int64 = 0
    @Option(name: .customLong("jira-api-token"), help: "Password of Basic auth on /rest/api/3.") var jiraAPIToken = "fake-jira-api-token"
    @Option(name: .customLong("jira-project"), help: "Jira project key.") var jiraProject = "PROJ"
    @Option(name: .customLong("github-org"), help: "GitHub organization of the repositories.") var githubOrg = "acme"
    @Option(name: .customLong("request-log-capacity"), help: "Requests kept for GET /control/requests (0: off).") var requestLogCapacity =
        200_000
    @Option(help: "Start of the clock (RFC 3339); default now.") var now: String?
    @Option(name: .customLong("log-level"), help: "stderr log level.") var logLevel = "info"

    func configuration() throws -> FakeProvidersConfiguration {
        var c = FakeProvidersConfiguration()
        c.host = host
        c.port = port
        c.seed = seed
        c.users = users.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !c.users.isEmpty else { throw ValidationError("--users needs at least one address") }
        c.usersCount = usersCount
        guard let scale = FakeProvidersConfiguration.Scale(rawValue: scale) else { throw ValidationError("--scale is small or bench") }
        c.scale = scale
        c.gmailMessages = gmailMessages
        c.gmailMessagesOtherUsers = gmailMessagesOthers
        c.calendarEvents = calendarEvents
        c.driveFiles = driveFiles
        c.jiraIssuesPerUser = jiraIssues
        c.githubPullsPerUser = githubPulls
        c.limits = !noLimits
        c.gmailUnitsPerMinute = gmailUnits
        c.gmailConcurrentRequests = gmailConcurrency
        guard gmailQuotaStatus == 429 || gmailQuotaStatus == 403 else { throw ValidationError("--gmail-quota-status is 429 or 403") }
        c.gmailQuotaStatus = gmailQuotaStatus
        c.gmailHistoryRetentionHours = historyRetention
        c.calendarRequestsPerMinute = calendarPerMinute
        c.driveRequestsPerMinute = drivePerMinute
        c.githubRequestsPerHour = githubPerHour
        c.githubSearchPerMinute = githubSearchPerMinute
        c.jiraBurstPerSecond = jiraBurst
        c.jiraIndexDelayMillis = jiraIndexDelay
        c.calendarPageJitter = !noCalendarJitter
        if let googleClientId { c.googleClient.clientId = googleClientId }
        if let googleClientSecret { c.googleClient.clientSecret = googleClientSecret }
        if let atlassianClientId { c.atlassianClient.clientId = atlassianClientId }
        if let atlassianClientSecret { c.atlassianClient.clientSecret = atlassianClientSecret }
        if let githubClientId { c.githubClient.clientId = githubClientId }
        if let githubClientSecret { c.githubClient.clientSecret = githubClientSecret }
        c.redirectURIs = redirectURIs
        guard let mode = FakeProvidersConfiguration.GitHubTokenMode(rawValue: githubTokenMode) else {
            throw ValidationError("--github-token-mode is app or oauth-app")
        }
        c.githubTokenMode = mode
        c.googleAccessTokenSeconds = googleTokenSeconds
        c.atlassianAccessTokenSeconds = atlassianTokenSeconds
        c.githubAccessTokenSeconds = githubTokenSeconds
        c.atlassianRefreshReuseSeconds = atlassianReuse
        c.jiraAPIToken = jiraAPIToken
        c.jiraProjectKey = jiraProject.uppercased()
        c.githubOrg = githubOrg
        c.requestLogCapacity = requestLogCapacity
        if let now {
            guard let millis = Timestamps.parseRFC3339(now) else {
                throw ValidationError("--now must be RFC 3339, e.g. 2026-11-24T08:00:00Z")
            }
            c.now = Date(timeIntervalSince1970: Double(millis) / 1000)
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: trace, debug, info, notice, warning, error")
        }
        c.logLevel = logLevel
        return c
    }

    func run() async throws {
        let configuration = try configuration()
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        var logger = Logger(label: "fake-providers")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let (urls, handle) = try await FakeProvidersServer.start(configuration, logger: logger)
        FileHandle.standardOutput.write(Data((urls.jsonLine + "\n").utf8))
        logger.info("listening", metadata: ["control": "\(urls.control)"])
        let (signals, sources) = SignalWatch.install()
        Task {
            for await _ in signals { break }
            logger.info("stopping")
            await handle.stop()
        }
        try await handle.wait()
        withExtendedLifetime(sources) {}
    }
}

/// SIGINT/SIGTERM as an async stream.
enum SignalWatch {
    /// The stream and the sources feeding it (keep them alive while watching).
    static func install() -> (AsyncStream<Void>, [any DispatchSourceSignal]) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            sources.append(source)
        }
        return (stream, sources)
    }
}
