import Connectors
import Contracts
import Crypto
import Foundation
import OutboundHTTP
import Settings
import WorkerRuntime

/// The `connector-sync` kind: reads the requester's connected account into the tenant's
/// records, page by page from the stored cursor.
///
/// The read is checked against the policy as it is now (fail closed); every page's changes are
/// stored with the cursor after them, in one transaction, so a worker killed at any moment
/// resumes where it stopped, with no record twice. Tokens, budgets, slow-downs and dead grants
/// are the account session's (`AccountSession`); an expired cursor means a full resync.
struct ConnectorSyncHandler: KindHandler {
    typealias Contract = ConnectorSyncKind

    let settings: ProviderSettings
    let secrets: SecretBox
    /// Pages one run reads at most; a longer pass goes on in a later run of the same job (it is
    /// postponed, not retried), so a huge first sync never holds a worker for hours.
    let pagesPerRun: Int

    init(settings: ProviderSettings, secrets: SecretBox, pagesPerRun: Int = 2_000) {
        self.settings = settings
        self.secrets = secrets
        self.pagesPerRun = pagesPerRun
    }

    func handle(_ payload: ConnectorSyncKind.Payload, context: HandlerContext) async throws {
        let connector = payload.connector
        // The read as the policy stands now, not as it stood at submission.
        try await context.authorize(connector.readAction, step: "sync")
        let user = context.job.requester.user
        var (account, stored) = try await AccountSession.openForSync(connector, settings: settings, secrets: secrets, context: context)
        guard let syncer = syncer(connector, account: account.account) else {
            throw JobFailure(.fail, "\(connector.rawValue) is connected without what its sync needs; connect it again")
        }
        var cursor = stored ?? .full()
        // A forced full pass starts over unless this job already began one (a resumed run).
        if payload.full == true, cursor.phase != .full || cursor.generation < context.job.enqueuedAt { cursor = .full() }
        let startedFull = cursor.phase == .full
        var totals = ItemStore.Applied()
        var pages = 0
        var resynced = false
        // The next page is read while this one is stored. A read ahead that fails is dropped and
        // the page read again the ordinary way, where refreshes, slow-downs and resyncs are handled.
        var ahead: (from: SyncCursor, page: Task<SyncPage?, Never>)?
        defer { ahead?.page.cancel() }
        while true {
            let from = cursor
            var fetched: SyncPage?
            if let pending = ahead, pending.from == from { fetched = await pending.page.value }
            ahead = nil
            if fetched == nil {
                do {
                    fetched = try await account.call(passing: { if case .resync = $0 { !resynced } else { false } }) {
                        session throws(ConnectorFailure) in try await syncer.next(from, session: session)
                    }
                } catch ConnectorFailure.resync {
                    resynced = true
                    context.logger.warning(
                        "sync cursor expired; syncing everything again", metadata: ["connector": "\(connector.rawValue)"])
                    cursor = .full()
                    continue
                }
            }
            guard let page = fetched else { continue }
            if !page.done && pages + 1 < pagesPerRun {
                let (next, session) = (page.cursor, account.session)
                ahead = (next, Task { try? await syncer.next(next, session: session) })
            }
            // What was read is audited before it is stored, under a key derived from the cursor it
            // was read from: a run killed in between reads the page again and the entry is not
            // written twice; a stored page is never missing from the trail.
            let read = page.changes.reduce(into: (items: 0, deletions: 0)) { counts, change in
                if case .delete = change { counts.deletions += 1 } else { counts.items += 1 }
            }
            if read.items + read.deletions > 0 {
                try await context.audit.record(
                    .dataAccess, step: "sync:\(Self.key(from))",
                    detail: [
                        "connector": .string(connector.rawValue), "items_read": .integer(Int64(read.items)),
                        "deletions_read": .integer(Int64(read.deletions)),
                    ],
                    dataAccessed: [.init(source: connector.rawValue, classification: connector.defaultClassification, purpose: "sync")],
                    classification: connector.defaultClassification)
            }
            let fullEnded = page.done && from.phase == .full
            // The last page also records the sync on the account, in the same transaction; a page
            // that changes nothing, not even the cursor, is not written, and the sync is recorded
            // in a statement of its own (one round trip). The items are counted again unless
            // the run was one page read from a resting cursor that changed nothing (a run
            // resumed mid-pass may follow one that changed them).
            let accounts = account.accounts
            let unchanged = page.changes.isEmpty && page.cursor == from && !fullEnded
            let idle = unchanged && pages == 0 && from.phase == .incremental && from.page == nil
            var applied = ItemStore.Applied()
            if unchanged {
                if page.done {
                    try await accounts.recordSync(context.statements, user: user, connector: connector, error: nil, itemsChanged: !idle)
                }
            } else {
                applied = try await context.database { sql in
                    let applied = try await ItemStore.apply(page, sql, user: user, connector: connector, fullPassEnded: fullEnded)
                    if page.done { try await accounts.recordSync(sql, user: user, connector: connector, error: nil) }
                    return applied
                }
            }
            totals.upserted += applied.upserted
            totals.deleted += applied.deleted
            totals.unclassified += applied.unclassified
            cursor = page.cursor
            pages += 1
            if page.done { break }
            if pages >= pagesPerRun {
                try await classifyFollowUp(connector, after: cursor, stored: totals.unclassified, context: context)
                throw JobFailure(.postpone(.milliseconds(100)), "\(pages) pages read; the sync goes on in the next run")
            }
        }
        try await classifyFollowUp(connector, after: cursor, stored: totals.unclassified, context: context)
        var summary = result(connector, startedFull || resynced, totals, pages, complete: true)
        // How fresh the records are beyond this run's changes: when a full pass last swept them.
        if cursor.lastFullAt > 0 {
            summary["last_full_pass_at"] = .string(ProviderTime.string(Clock.date(milliseconds: cursor.lastFullAt)))
            summary["last_full_pass_age_s"] = .integer(max(0, (Clock.milliseconds() - cursor.lastFullAt) / 1000))
        }
        context.setResult(summary)
    }

    /// Submits the classification of what this run stored (one job for the user and
    /// connector: it classifies every item waiting). A run that stored nothing new asks only
    /// when it is a retry, since the run before it may have stored items and failed before
    /// asking; then only if any item waits.
    func classifyFollowUp(_ connector: Connector, after cursor: SyncCursor, stored: Int, context: HandlerContext) async throws {
        if stored == 0 {
            guard context.attempt > 1 else { return }
            let waiting = try await context.statements.query(
                "SELECT 1 FROM items WHERE user_id = $1 AND connector = $2 AND classified_at IS NULL LIMIT 1",
                [context.job.requester.user, connector.rawValue])
            if waiting.isEmpty { return }
        }
        let outcome = try await context.followUp(
            ClassifierKind.self, action: connector.readAction, payload: .init(source: connector), step: "classify:\(Self.key(cursor))")
        if case .denied(let reason) = outcome {
            context.logger.warning("the classification of synced items was refused by policy", metadata: ["reason": "\(reason)"])
        }
    }

    func result(_ connector: Connector, _ full: Bool, _ totals: ItemStore.Applied, _ pages: Int, complete: Bool) -> [String: JSONValue] {
        [
            "connector": .string(connector.rawValue), "full": .bool(full), "upserted": .integer(Int64(totals.upserted)),
            "deleted": .integer(Int64(totals.deleted)), "pages": .integer(Int64(pages)), "complete": .bool(complete),
            "items_link": .string("/v1/connectors"),
        ]
    }

    /// A short key of the cursor a page was read from: a run that reads the same page again
    /// (after a crash) writes its audit entry once.
    static func key(_ cursor: SyncCursor) -> String {
        let text = "\(cursor.phase.rawValue)|\(cursor.generation)|\(cursor.token ?? "")|\(cursor.page ?? "")"
        return SHA256.hash(data: Array(text.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
    }

    /// The provider's sync for `connector`, with what the account says about where it lives.
    func syncer(_ connector: Connector, account: ConnectorAccount) -> (any ConnectorSyncer)? {
        switch connector {
        case .gmail: return GmailSync(host: settings.google.gmailURL)
        case .gcal: return CalendarSync(host: settings.google.calendarURL)
        case .gdrive: return DriveSync(host: settings.google.driveURL)
        case .jira:
            guard let cloud = account.details["cloud_id"]?.stringValue else { return nil }
            return JiraSync(gateway: settings.atlassian.jiraURL, cloudID: cloud, site: account.details["site"]?.stringValue ?? "")
        case .github:
            guard let login = account.details["login"]?.stringValue else { return nil }
            return GitHubSync(api: settings.github.apiURL, login: login)
        }
    }
}
