import Connectors
import Contracts
import Foundation
import OutboundHTTP
import TestSupport
import Testing
import WorkerRuntime

@testable import FakeProviders
@testable import Workers

/// The connector-sync handler and the account session against the fake providers: full and
/// incremental passes, expired cursors, slow-downs, token refresh and revocation, the policy at
/// run time, interrupted runs, idempotent writes, and where tokens never go.
@Suite struct ConnectorSyncTests {
    func failure(_ body: () async throws -> Void) async -> JobFailure? {
        do {
            try await body()
            return nil
        } catch {
            return error as? JobFailure
        }
    }

    @Test func everyConnectorSyncsEverythingOnceThenOnlyWhatChanged() async throws {
        try await withConnectorFixture { fixture in
            for connector in Connector.allCases {
                try await fixture.connect(connector)
                let first = try await fixture.sync(connector)
                let stored = try await fixture.items(connector)
                #expect(first["full"] == .bool(true), "\(connector): \(first)")
                #expect(first["complete"] == .bool(true))
                #expect(first["last_full_pass_at"]?.stringValue != nil, "\(connector): \(first)")
                #expect(!stored.isEmpty, "\(connector) synced nothing")
                #expect(first["upserted"] == .integer(Int64(stored.count)), "\(connector): \(first)")
                #expect(Set(stored).count == stored.count)
                let second = try await fixture.sync(connector)
                #expect(second["full"] == .bool(false), "\(connector): \(second)")
                #expect(second["upserted"] == .integer(0), "\(connector): \(second)")
                #expect(second["deleted"] == .integer(0), "\(connector): \(second)")
                #expect(try await fixture.items(connector) == stored)
                let summary = try await fixture.summary(connector)
                #expect(summary?.items == stored.count)
                #expect(summary?.lastSyncAt != nil)
                #expect(summary?.lastError == nil)
            }
        }
    }

    @Test func gmailIncrementalReadsNewAndDeletedMessagesOnly() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            try await fixture.sync(.gmail)
            let before = try await fixture.items(.gmail)
            let added = try await fixture.control(
                "POST", "/control/gmail/alice@acme.test/messages",
                [
                    "from": .string("carol@partner.test"), "to": .array([.string("alice@acme.test")]),
                    "subject": .string("Can you review the contract by Friday?"), "body": .string("Please send comments."),
                ])
            let newID = added["id"]?.stringValue ?? ""
            try await fixture.control("DELETE", "/control/gmail/alice@acme.test/messages/\(before[0])")
            let since = try await fixture.requests("gmail").count
            let result = try await fixture.sync(.gmail)
            #expect(result["full"] == .bool(false))
            #expect(result["upserted"] == .integer(1), "\(result)")
            #expect(result["deleted"] == .integer(1), "\(result)")
            #expect(Set(try await fixture.items(.gmail)) == Set(before).subtracting([before[0]]).union([newID]))
            // An incremental pass reads the history and the one new message, not the mailbox.
            let made = try await fixture.requests("gmail").dropFirst(since)
            #expect(made.count <= 4, "\(made)")
        }
    }

    @Test func anExpiredCursorSyncsEverythingAgainWithoutDuplicates() async throws {
        try await withConnectorFixture { fixture in
            for connector in [Connector.gmail, .gcal] {
                try await fixture.connect(connector)
                try await fixture.sync(connector)
            }
            let mail = try await fixture.items(.gmail)
            let events = try await fixture.items(.gcal)
            try await fixture.control("POST", "/control/gmail/alice@acme.test/expire-history")
            try await fixture.control("POST", "/control/calendar/alice@acme.test/invalidate-sync")
            let gmail = try await fixture.sync(.gmail)
            let gcal = try await fixture.sync(.gcal)
            #expect(gmail["full"] == .bool(true), "\(gmail)")
            #expect(gcal["full"] == .bool(true), "\(gcal)")
            #expect(try await fixture.items(.gmail) == mail)
            #expect(try await fixture.items(.gcal) == events)
            // The next run is incremental again.
            #expect(try await fixture.sync(.gmail)["full"] == .bool(false))
        }
    }

    @Test func aProviderAskingToSlowDownPostponesTheJobForTheTimeItNames() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            try await fixture.connect(.github)
            // One call of a batch read told to slow down postpones the whole job.
            try await fixture.control(
                "POST", "/control/faults",
                [
                    "service": .string("gmail"), "path_prefix": .string("/gmail/v1/users/me/messages/"), "count": .int(1),
                    "status": .int(429), "headers": .object([("Retry-After", .string("9"))]),
                ])
            let batched = await failure { try await fixture.sync(.gmail) }
            #expect(batched?.disposition == .postpone(.seconds(9)), "\(String(describing: batched))")
            try await fixture.control(
                "POST", "/control/faults",
                [
                    "service": .string("gmail"), "path_prefix": .string("/gmail/v1/users/me/messages"), "count": .int(1),
                    "status": .int(429), "headers": .object([("Retry-After", .string("7"))]),
                ])
            let slowed = await failure { try await fixture.sync(.gmail) }
            #expect(slowed?.disposition == .postpone(.seconds(7)), "\(String(describing: slowed))")
            let reset = Int(Date().timeIntervalSince1970) + 42
            try await fixture.control(
                "POST", "/control/faults",
                [
                    "service": .string("github"), "path_prefix": .string("/"), "count": .int(1), "status": .int(403),
                    "headers": .object([("x-ratelimit-remaining", .string("0")), ("x-ratelimit-reset", .string(String(reset)))]),
                    "body": .string(#"{"message":"API rate limit exceeded"}"#),
                ])
            let limited = await failure { try await fixture.sync(.github) }
            guard case .postpone(let wait) = limited?.disposition else {
                Issue.record("GitHub's exhausted limit did not postpone: \(String(describing: limited))")
                return
            }
            // Until the reset GitHub named (less the time the failed sync itself took), never longer.
            let left = reset - Int(Date().timeIntervalSince1970)
            #expect(wait >= .seconds(left - 2) && wait <= .seconds(43), "\(wait), \(left) s left")
            // The slowed job resumes where it stopped once the provider answers again.
            #expect(try await fixture.sync(.gmail)["complete"] == .bool(true))
        }
    }

    @Test func theFleetsBudgetForAConnectorPostponesBeforeTheProviderIsAsked() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.jira)
            fixture.fakes.budget.used.withLock { $0["\(fixture.tenant.rawValue)/jira"] = 1_000_000 }
            let since = try await fixture.requests("jira").count
            let spent = await failure { try await fixture.sync(.jira) }
            guard case .postpone = spent?.disposition else {
                Issue.record("a spent budget did not postpone: \(String(describing: spent))")
                return
            }
            #expect(try await fixture.requests("jira").count == since)
        }
    }

    @Test func anExpiredAccessTokenIsRefreshedAndTheNewTokensKept() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            let before = try #require(try await fixture.account(.gmail))
            try await fixture.control(
                "POST", "/control/tokens/expire", ["provider": .string("google"), "user": .string("alice@acme.test")])
            let result = try await fixture.sync(.gmail)
            #expect(result["complete"] == .bool(true))
            let after = try #require(try await fixture.account(.gmail))
            #expect(after.tokens.accessToken != before.tokens.accessToken)
            #expect(after.reauthRequired == false)
            // The refreshed token is the one used from now on: no second refresh.
            let refreshes = try await fixture.requests("google_oauth").count
            try await fixture.sync(.gmail)
            #expect(try await fixture.requests("google_oauth").count == refreshes)
        }
    }

    @Test func aRevokedGrantMarksTheAccountForReauthorizationAndFailsOnce() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.jira)
            try await fixture.sync(.jira)
            try await fixture.control(
                "POST", "/control/tokens/revoke", ["provider": .string("atlassian"), "user": .string("alice@acme.test")])
            let failed = await failure { try await fixture.sync(.jira) }
            #expect(failed?.disposition == .fail, "\(String(describing: failed))")
            #expect(failed?.message.contains("/v1/connectors/jira/authorize") == true, "\(String(describing: failed))")
            let summary = try await fixture.summary(.jira)
            #expect(summary?.reauthRequired == true)
            #expect(summary?.lastError != nil)
            #expect(
                fixture.fakes.audit.events.withLock {
                    $0.contains { $0.actionType == "tool_invocation" && $0.actionDetail.contains("reauthorization required") }
                })
            // Until the user connects again, a sync fails at once without asking the provider.
            let since = try await fixture.requests("jira").count + (try await fixture.requests("atlassian_auth").count)
            let again = await failure { try await fixture.sync(.jira) }
            #expect(again?.disposition == .fail)
            #expect(try await fixture.requests("jira").count + (try await fixture.requests("atlassian_auth").count) == since)
            // Connecting again clears it.
            try await fixture.connect(.jira)
            #expect(try await fixture.summary(.jira)?.reauthRequired == false)
            #expect(try await fixture.sync(.jira)["complete"] == .bool(true))
        }
    }

    @Test func theReadIsDecidedByThePolicyAsItIsWhenTheJobRuns() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gdrive)
            fixture.fakes.policy.answer.withLock {
                $0 = .decided(PolicyDecision(decision: .deny, policyApplied: "enterprise/integrations", reason: "drive reads stopped"))
            }
            let since = try await fixture.requests("drive").count
            let denied = await failure { try await fixture.sync(.gdrive) }
            #expect(denied?.disposition == .fail)
            #expect(try await fixture.requests("drive").count == since)
            #expect(try await fixture.items(.gdrive).isEmpty)
            let audited = fixture.fakes.audit.events.withLock { $0.filter { $0.policyResult == "deny" } }
            #expect(audited.count == 1)
            #expect(fixture.fakes.policy.asked.withLock { $0.last?.action } == Connector.gdrive.readAction)
            // An engine that cannot answer: the job waits, unchecked it never runs.
            fixture.fakes.policy.answer.withLock { $0 = .unavailable(reason: "engine down") }
            let waiting = await failure { try await fixture.sync(.gdrive) }
            #expect(waiting?.disposition == .postpone(HandlerContext.policyRetry))
            #expect(try await fixture.requests("drive").count == since)
        }
    }

    @Test func anInterruptedSyncResumesWhereItStoppedWithNoItemTwice() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gcal)
            let job = fixture.job(.gcal)
            // The first run stops after one page, as a worker killed after its first commit would.
            let stopped = await failure { try await fixture.run(job, pagesPerRun: 1) }
            guard case .postpone = stopped?.disposition else {
                Issue.record("the run did not stop after a page: \(String(describing: stopped))")
                return
            }
            let partial = try await fixture.items(.gcal)
            #expect(!partial.isEmpty)
            let rest = try await fixture.run(job, attempt: 1)
            let all = try await fixture.items(.gcal)
            #expect(Set(all).count == all.count)
            #expect(Set(partial).isSubset(of: Set(all)) && all.count > partial.count)
            #expect(rest["complete"] == .bool(true))
            // A full pass now finds exactly these.
            let full = try await fixture.sync(.gcal, full: true)
            #expect(full["deleted"] == .integer(0), "\(full)")
            #expect(try await fixture.items(.gcal) == all)
            // Each page's data access was audited once, though the job ran twice.
            let keys = fixture.fakes.audit.events.withLock { $0.filter { $0.actionType == "data_access" }.map(\.eventKey) }
            #expect(Set(keys).count == keys.count)
        }
    }

    @Test func aWriteIsMadeOnceThoughItsJobRunsAgainAfterACrash() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            let job = fixture.job(.gmail)
            let message = MailMessage(to: ["carol@partner.test"], subject: "Re: contract", body: "Comments attached.")
            // The first run sent the message and died before it wrote down that it had.
            let account = try #require(try await fixture.account(.gmail))
            _ = try await fixture.directory.transaction(fixture.tenant) {
                try await WriteJournal.begin($0, job: job.id, step: "reply", connector: .gmail)
            }
            let session = AccountIdentity.session(.gmail, http: fixture.http, accessToken: account.tokens.accessToken)
            let marker = "\(fixture.tenant.rawValue)/\(job.id)/reply"
            let first = try await ProviderWrites(settings: fixture.settings, account: account).make(
                .gmailSend(message), marker: marker, session: session)
            // The job runs again: the write is found by its marker, not made twice.
            var again = try await AccountSession.open(
                .gmail, settings: fixture.settings, secrets: fixture.secrets, context: fixture.context(job))
            let receipt = try await again.write(.gmailSend(message), step: "reply")
            #expect(receipt.id == first.id)
            #expect(receipt.replayed)
            var third = try await AccountSession.open(
                .gmail, settings: fixture.settings, secrets: fixture.secrets, context: fixture.context(job))
            #expect(try await third.write(.gmailSend(message), step: "reply").id == first.id)
            let sent = try await fixture.control("GET", "/control/gmail/alice@acme.test/sent")
            guard case .array(let messages) = sent["messages"] ?? .null else {
                Issue.record("no sent list: \(sent)")
                return
            }
            #expect(messages.count == 1, "\(messages)")
            // Another step of the same job is another write.
            var other = try await AccountSession.open(
                .gmail, settings: fixture.settings, secrets: fixture.secrets, context: fixture.context(job))
            #expect(try await other.write(.gmailSend(message), step: "follow-up").replayed == false)
            let after = try await fixture.control("GET", "/control/gmail/alice@acme.test/sent")
            if case .array(let list) = after["messages"] ?? .null { #expect(list.count == 2) }
        }
    }

    @Test func usersOfATenantSeeOnlyTheirOwnAccounts() async throws {
        try await withConnectorFixture({ $0.users = ["alice@acme.test", "bob@acme.test"] }) { fixture in
            try await fixture.connect(.gmail, user: "alice", address: "alice@acme.test")
            try await fixture.connect(.gmail, user: "bob", address: "bob@acme.test")
            try await fixture.sync(.gmail, user: "alice")
            #expect(try await fixture.items(.gmail, user: "bob").isEmpty)
            try await fixture.sync(.gmail, user: "bob")
            let alice = Set(try await fixture.items(.gmail, user: "alice"))
            let bob = Set(try await fixture.items(.gmail, user: "bob"))
            #expect(!alice.isEmpty && !bob.isEmpty && alice.isDisjoint(with: bob))
            // A user with no account of their own gets no one else's.
            let nobody = await failure { try await fixture.sync(.gmail, user: "mallory") }
            #expect(nobody?.disposition == .fail)
        }
    }

    @Test func oneTenantsSyncNeverTouchesAnotherTenantsRows() async throws {
        try await withConnectorFixture { first in
            try await withConnectorFixture { second in
                try await first.connect(.gmail)
                try await second.connect(.gmail)
                try await first.sync(.gmail)
                #expect(!(try await first.items(.gmail)).isEmpty)
                #expect(try await second.items(.gmail).isEmpty)
                #expect(try await second.summary(.gmail)?.lastSyncAt == nil)
                // The first tenant's role cannot reach the second's schema at all.
                await #expect(throws: (any Error).self) {
                    try await first.directory.session(first.tenant) { sql in
                        try await sql.query("SELECT count(*) FROM \(second.tenant.schemaName).items")
                    }
                }
                // A sealed token is bound to its tenant: another tenant's key context cannot open it.
                let sealed = try first.secrets.seal("token", context: "\(first.tenant.rawValue)/alice/gmail/access")
                #expect(throws: (any Error).self) {
                    try first.secrets.open(
                        sealed, keyID: first.secrets.currentKeyID, context: "\(second.tenant.rawValue)/alice/gmail/access")
                }
            }
        }
    }

    @Test func tokensAreSealedAtRestAndAppearNowhereElse() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.github)
            try await fixture.connect(.gmail)
            try await fixture.control(
                "POST", "/control/tokens/expire", ["provider": .string("google"), "user": .string("alice@acme.test")])
            try await fixture.sync(.gmail)
            try await fixture.sync(.github)
            try await fixture.control(
                "POST", "/control/tokens/revoke", ["provider": .string("github"), "user": .string("alice@acme.test")])
            try await fixture.control(
                "POST", "/control/tokens/expire", ["provider": .string("github"), "user": .string("alice@acme.test")])
            _ = await failure { try await fixture.sync(.github) }
            var secrets: [String] = []
            for connector in [Connector.gmail, .github] {
                let account = try #require(try await fixture.account(connector))
                secrets.append(account.tokens.accessToken)
                if let refresh = account.tokens.refreshToken { secrets.append(refresh) }
            }
            let stored: [String] = try await fixture.directory.session(fixture.tenant) { sql in
                let rows = try await sql.query(
                    """
                    SELECT encode(access_token, 'escape') AS a, coalesce(encode(refresh_token, 'escape'), '') AS r,
                        coalesce(last_error, '') AS e, details::text AS d FROM connector_accounts
                    UNION ALL SELECT title, people::text, details::text, coalesce(link, '') FROM items
                    UNION ALL SELECT cursor::text, '', '', '' FROM sync_cursors
                    """)
                return rows.flatMap { row in ["a", "r", "e", "d"].compactMap { row.string($0) } }
            }
            let audited = fixture.fakes.audit.events.withLock { events in
                events.map { "\($0.actionDetail) \($0.policyReason ?? "") \($0.dataAccessedJSON)" }
            }
            for secret in secrets where !secret.isEmpty {
                #expect(!stored.contains { $0.contains(secret) }, "a token is stored in the clear")
                #expect(!audited.contains { $0.contains(secret) }, "a token is in an audit entry")
            }
        }
    }
}
