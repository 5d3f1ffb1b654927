import Connectors
import Contracts
import Foundation
import OutboundHTTP
import Settings
import WorkerRuntime

/// A connected account as a job uses it, the kit every connector-facing kind stands on:
///
/// - the requester's account is loaded with its tokens opened (they never leave the process);
/// - an access token about to expire, or refused, is refreshed once and the new tokens (with a
///   rotated refresh token) are stored before they are used;
/// - a dead grant marks the account `reauth_required` (the user sees it in `GET
///   /v1/connectors`) and fails the job without retrying;
/// - the tenant's budget for the connector is counted before every request, and a provider
///   asking to slow down postpones the job through the delayed set, freeing its worker at once;
/// - writes are checked against the policy as it is now and made at most once per job step.
struct AccountSession {
    let connector: Connector
    let settings: ProviderSettings
    let accounts: ConnectorAccounts
    let context: HandlerContext
    private(set) var account: ConnectorAccount
    private(set) var session: ProviderSession
    private var refreshed = false

    /// Opens the requester's `connector` account; fails the job, saying what to do, when it is
    /// not connected or must be connected again.
    static func open(
        _ connector: Connector, settings: ProviderSettings, secrets: SecretBox, context: HandlerContext
    ) async throws
        -> AccountSession
    {
        try await open(connector, settings: settings, secrets: secrets, context: context, withCursor: false).session
    }

    /// Like `open`, reading the account's stored sync cursor (nil: never synced) in the same
    /// statement.
    static func openForSync(
        _ connector: Connector, settings: ProviderSettings, secrets: SecretBox, context: HandlerContext
    ) async throws -> (session: AccountSession, cursor: SyncCursor?) {
        try await open(connector, settings: settings, secrets: secrets, context: context, withCursor: true)
    }

    private static func open(
        _ connector: Connector, settings: ProviderSettings, secrets: SecretBox, context: HandlerContext, withCursor: Bool
    ) async throws -> (session: AccountSession, cursor: SyncCursor?) {
        let user = context.job.requester.user
        let accounts = ConnectorAccounts(tenant: context.job.tenant, secrets: secrets)
        let sql = context.statements
        let stored =
            withCursor
            ? try await accounts.loadForSync(sql, user: user, connector: connector)
            : try await accounts.load(sql, user: user, connector: connector).map { ($0, nil) }
        let (loaded, cursor) = (stored?.account, stored?.cursor)
        guard let account = loaded else {
            throw JobFailure(
                .fail, "\(user) has not connected \(connector.rawValue): connect it (POST /v1/connectors/\(connector.rawValue)/authorize)")
        }
        if account.reauthRequired {
            throw JobFailure(
                .fail,
                "\(connector.rawValue) must be connected again (its grant was revoked or expired): POST /v1/connectors/\(connector.rawValue)/authorize"
            )
        }
        let limit = settings.budgetPerMinute[connector] ?? 600
        let session = AccountSession.providerSession(connector, account.tokens.accessToken, context: context, limit: limit)
        var opened = AccountSession(
            connector: connector, settings: settings, accounts: accounts, context: context, account: account, session: session)
        if account.tokens.isExpiring() { try await opened.refresh() }
        return (opened, cursor)
    }

    private static func providerSession(_ connector: Connector, _ token: String, context: HandlerContext, limit: Int) -> ProviderSession {
        AccountIdentity.session(connector, http: context.http, accessToken: token) {
            try await context.budget(connector.rawValue, limit: limit, per: .seconds(60))
        }
    }

    /// Runs `body` against the provider: a refused token is refreshed and `body` run again once;
    /// every other failure the provider means is turned into what the job does (`JobFailure`),
    /// except the ones the caller handles itself (`passing`).
    mutating func call<T>(
        passing: (ConnectorFailure) -> Bool = { _ in false }, _ body: (ProviderSession) async throws(ConnectorFailure) -> T
    ) async throws -> T {
        while true {
            do throws(ConnectorFailure) {
                return try await body(session)
            } catch {
                if passing(error) { throw error }
                if case .refreshToken = error, !refreshed {
                    try await refresh()
                    continue
                }
                throw try await jobFailure(error)
            }
        }
    }

    /// What the job does about `failure` (after recording it on the account).
    mutating func jobFailure(_ failure: ConnectorFailure) async throws -> JobFailure {
        switch failure {
        case .reschedule(let after):
            try await recordError("\(connector.rawValue) asked to slow down")
            return JobFailure(.postpone(after), "\(connector.rawValue) asked to slow down; the job continues in \(after)")
        case .reauthRequired(let why):
            try await requireReauthorization(why)
        case .refreshToken:
            try await requireReauthorization("the provider refuses the refreshed token")
        case .retry(let why):
            try await recordError(why)
            return JobFailure(.retry, why)
        case .resync, .notFound, .fail:
            try await recordError(failure.description)
            return JobFailure(.fail, failure.description)
        }
    }

    /// A new access token, stored (with a rotated refresh token) before it is used.
    mutating func refresh() async throws {
        refreshed = true
        let user = account.user
        let connector = connector
        guard let refreshToken = account.tokens.refreshToken else {
            try await requireReauthorization("the access token expired and there is no refresh token")
        }
        let flow = OAuthFlow(settings: settings, http: context.http)
        let fresh: OAuthTokens
        do throws(ConnectorFailure) {
            fresh = try await flow.refresh(connector, refreshToken: refreshToken)
        } catch {
            if case .reauthRequired(let why) = error { try await requireReauthorization(why) }
            throw JobFailure(.retry, "refreshing the \(connector.rawValue) token failed: \(error)")
        }
        let accounts = accounts
        try await accounts.updateTokens(context.statements, user: user, connector: connector, tokens: fresh)
        try await context.audit.record(
            .toolInvocation, step: "refresh:\(connector.rawValue):\(Clock.milliseconds() / 60_000)",
            detail: ["connector": .string(connector.rawValue), "operation": .string("access token refreshed")])
        account.tokens = fresh
        session.accessToken = fresh.accessToken
    }

    /// Marks the account for the user to connect again, audits it, and fails the job for good.
    func requireReauthorization(_ why: String) async throws -> Never {
        let message = "\(connector.rawValue) must be connected again (POST /v1/connectors/\(connector.rawValue)/authorize): \(why)"
        let (accounts, user, connector) = (accounts, account.user, connector)
        try await accounts.requireReauthorization(context.statements, user: user, connector: connector, why: message)
        try await context.audit.record(
            .toolInvocation, step: "reauth:\(connector.rawValue)",
            detail: ["connector": .string(connector.rawValue), "operation": .string("reauthorization required")], outcome: .error)
        throw JobFailure(.fail, message)
    }

    /// Records on the account how its last use ended (nil: well).
    func recordError(_ error: String?) async throws {
        let (accounts, user, connector) = (accounts, account.user, connector)
        try await accounts.recordSync(context.statements, user: user, connector: connector, error: error)
    }

    // MARK: Writes

    /// Makes `write` for the job, once per `step`: the policy is asked now (the write's action
    /// must be allowed, a transition must be among the decision's allowed transitions), the
    /// journal says whether an earlier run of this job made it already, and the write is
    /// audited with the provider's id of what it made.
    mutating func write(_ write: ConnectorWrite, step: String, classification: Classification? = nil) async throws -> WriteReceipt {
        precondition(write.connector == connector, "a \(write.connector) write through a \(connector) session")
        let decision = try await context.authorize(
            write.action, classification: classification, target: write.target, step: "write:\(step)")
        if case .jiraTransition(_, let status) = write, !decision.constraints.allowedTransitions.isEmpty,
            !decision.constraints.allowedTransitions.contains(where: { $0.caseInsensitiveCompare(status) == .orderedSame })
        {
            throw JobFailure(
                .fail,
                "the policy allows transitions to \(decision.constraints.allowedTransitions.joined(separator: ", ")) only, not '\(status)'")
        }
        let job = context.job.id
        let connector = connector
        let state = try await context.database { try await WriteJournal.begin($0, job: job, step: step, connector: connector) }
        if case .done(let receipt) = state { return receipt }
        let writes = ProviderWrites(settings: settings, account: account)
        let marker = "\(context.job.tenant.rawValue)/\(job)/\(step)"
        var receipt: WriteReceipt?
        if state == .started {
            receipt = try await call { session throws(ConnectorFailure) in try await writes.find(write, marker: marker, session: session) }
        }
        if receipt == nil {
            receipt = try await call { session throws(ConnectorFailure) in try await writes.make(write, marker: marker, session: session) }
        }
        let made = receipt!
        try await context.database { try await WriteJournal.finish($0, job: job, step: step, receipt: made) }
        try await context.audit.record(
            .toolInvocation, step: "write:\(step)",
            detail: [
                "connector": .string(connector.rawValue), "action": .string(write.action.rawValue), "target": .string(write.target),
                "id": .string(made.id), "replayed": .bool(made.replayed),
            ], classification: classification)
        return made
    }
}
