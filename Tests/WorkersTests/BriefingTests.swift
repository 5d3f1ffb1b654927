import Connectors
import Contracts
import Foundation
import PostgresClient
import TestSupport
import Testing
import WorkerRuntime

@testable import FakeProviders
@testable import TaskIntelligence
@testable import Workers

/// The `briefing` handler against a real tenant schema and the fake providers (the policy
/// faked): tasks, scores, quadrants and time blocks as computed by hand, a merged task, partial
/// briefings naming the connector, no briefing without the policy engine, and the email.
@Suite struct BriefingTests {
    @discardableResult
    func sql(_ fixture: ConnectorSyncFixture, _ text: String, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRows {
        try await fixture.directory.query(fixture.tenant, text, parameters)
    }

    /// A weekday at least two days ahead, `YYYY-MM-DD` (UTC).
    static func day() -> String {
        var date = Date().addingTimeInterval(2 * 86_400)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        while calendar.isDateInWeekend(date) { date = date.addingTimeInterval(86_400) }
        return TimeBlocks.today(in: TimeZone(identifier: "UTC")!, now: date)
    }

    func job(_ fixture: ConnectorSyncFixture, user: String = "alice", _ payload: BriefingKind.Payload) -> JobEnvelope {
        JobEnvelope(
            tenant: fixture.tenant, kind: .briefing, action: .gcalRead, payload: Array(try! JSONEncoder().encode(payload)),
            requester: Requester(user: user))
    }

    func run(_ fixture: ConnectorSyncFixture, _ job: JobEnvelope) async throws -> Briefing {
        let handler = RegisteredHandler(BriefingHandler(settings: fixture.settings, secrets: fixture.secrets))
        try await handler.run(job, context: fixture.context(job))
        return try await stored(fixture, job.id)
    }

    func stored(_ fixture: ConnectorSyncFixture, _ id: String) async throws -> Briefing {
        let text = try #require(try await sql(fixture, "SELECT content::text AS c FROM briefings WHERE id = $1", [id]).first?.string("c"))
        return try JSONDecoder().decode(Briefing.self, from: Data(text.utf8))
    }

    /// Alice's accounts (synced just now) and her tasks, with signals whose scores are:
    /// - t-incident: deadline in 2 h (28) + VIP (15) + 2 follow-ups (10) + blocks one (8) = 61,
    ///   urgency 56, importance 66: do_first;
    /// - t-review: deadline in 2 days (15) + seniority 10 + SLA in 3 h (14) = 39, urgency 58,
    ///   importance 20: delegate;
    /// - t-report: no deadline (5) + seniority 10 + 3 follow-ups (15) + blocks four (15) = 45,
    ///   urgency 10, importance 80: schedule;
    /// - t-meeting (a meeting): in 20 h (22) = 22, urgency 44: eliminate;
    /// - t-secret (confidential): no deadline (5) = 5: eliminate.
    func seed(_ fixture: ConnectorSyncFixture) async throws {
        try await fixture.connect(.gcal)
        try await fixture.connect(.gmail)
        try await fixture.connect(.jira)
        try await sql(fixture, "UPDATE connector_accounts SET last_sync_at = now() WHERE user_id = 'alice'")
        let now = Date()
        func at(_ seconds: TimeInterval) -> String { BriefingHandler.stamp(now.addingTimeInterval(seconds)) }
        let rows: [(String, String, String, String, String)] = [
            (
                "t-incident", "Payout incident follow-up", #"[{"system":"jira","id":"10001","url":"https://jira/PAY-1","title":"x"}]"#,
                #"{"deadline":"\#(at(7200))","sender_seniority":15,"follow_ups":2,"blocking":1}"#, "internal"
            ),
            (
                "t-review", "Review acme/payments#42", #"[{"system":"gmail","id":"m1","title":"x"}]"#,
                #"{"deadline":"\#(at(2 * 86_400 - 600))","sender_seniority":10,"sla_due":"\#(at(3 * 3600))"}"#, "internal"
            ),
            (
                "t-report", "Quarterly report", #"[{"system":"jira","id":"10002","title":"x"}]"#,
                #"{"sender_seniority":10,"follow_ups":3,"blocking":4}"#, "internal"
            ),
            (
                "t-meeting", "Prepare: architecture review", #"[{"system":"gcal","id":"e1","title":"x"}]"#,
                #"{"deadline":"\#(at(20 * 3600))"}"#, "internal"
            ),
            ("t-secret", "Acquisition memo", #"[{"system":"gmail","id":"m2","title":"x"}]"#, "{}", "confidential"),
        ]
        for (id, title, sources, signals, level) in rows {
            try await sql(
                fixture,
                """
                INSERT INTO tasks (id, owner_user, title, sources, signals, classification, priority, quadrant)
                VALUES ($1, 'alice', $2, $3::jsonb, $4::jsonb, $5, 0, 'eliminate')
                """, [id, title, sources, signals, level])
        }
        try await sql(
            fixture,
            "INSERT INTO tasks (id, owner_user, title, sources, signals, classification) VALUES ('b-1', 'bob', 'Bob''s', '[]', '{}', 'internal')"
        )
    }

    /// Busy 10:00–11:00, 12:30–13:00 and 15:45–16:40 (UTC) on `day`.
    func meetings(_ fixture: ConnectorSyncFixture, _ day: String) async throws {
        for (start, end) in [("10:00", "11:00"), ("12:30", "13:00"), ("15:45", "16:40")] {
            try await fixture.control(
                "POST", "/control/calendar/alice@acme.test/events",
                [
                    "summary": .string("Meeting \(start)"), "start": .object([("dateTime", .string("\(day)T\(start):00Z"))]),
                    "end": .object([("dateTime", .string("\(day)T\(end):00Z"))]),
                ])
        }
    }

    @Test func tasksScoresQuadrantsAndTimeBlocksAreAsComputedByHand() async throws {
        try await withConnectorFixture({ $0.calendarEvents = 0 }) { fixture in
            try await seed(fixture)
            let day = Self.day()
            try await meetings(fixture, day)
            let briefing = try await run(fixture, job(fixture, .init(date: day, timeZone: "UTC")))
            #expect(briefing.status == .ready, "\(briefing.missing)")
            #expect(briefing.tasks.map(\.id) == ["t-incident", "t-report", "t-review", "t-meeting", "t-secret"])
            #expect(briefing.tasks.map(\.score) == [61, 45, 39, 22, 5])
            #expect(briefing.tasks.map(\.quadrant) == [.doFirst, .schedule, .delegate, .eliminate, .eliminate])
            #expect(briefing.quadrants == ["do_first": 1, "schedule": 1, "delegate": 1, "eliminate": 2])
            #expect(briefing.classification == "confidential", "the highest level of what it carries")
            // Gaps of 30 minutes or more between 09:00 and 17:00: 13:00–15:45 (165 min) is the
            // largest and gets the top task, 11:00–12:30 the next, 09:00–10:00 the third; the
            // 20 minutes after 16:40 are no block. The meeting is no deep work.
            #expect(
                briefing.timeBlocks.map { "\(BriefingRendering.clock($0.start))-\(BriefingRendering.clock($0.end)) \($0.label)" } == [
                    "09:00-10:00 Deep work: Review acme/payments#42", "11:00-12:30 Deep work: Quarterly report",
                    "13:00-15:45 Deep work: Payout incident follow-up",
                ])
            #expect(briefing.freeMinutes == 60 + 90 + 165)
            #expect(Set(briefing.connectorStatus.map(\.connector)) == ["gcal", "gmail", "jira"])
            #expect(briefing.connectorStatus.allSatisfy { $0.status == .ok })
            #expect(briefing.alerts.isEmpty, "\(briefing.alerts)")
            #expect(briefing.delivery == ["email": "not_requested"])
            // Listed tasks are active now; Bob's are untouched and not in Alice's briefing.
            let statuses = try await sql(fixture, "SELECT id, status FROM tasks").reduce(into: [String: String]()) {
                $0[$1.string("id") ?? ""] = $1.string("status")
            }
            #expect(statuses["t-incident"] == "active" && statuses["b-1"] == "discovered")
            #expect(!briefing.tasks.contains { $0.id == "b-1" })
            // The free/busy call asked for the working day only.
            let asked = try await fixture.requests("calendar").filter { ($0["path"]?.stringValue ?? "").hasSuffix("/freeBusy") }
            #expect(asked.count == 1)

            // Bob's briefing has Bob's task only.
            let bobs = try await run(fixture, job(fixture, user: "bob", .init(date: day)))
            #expect(bobs.tasks.map(\.id) == ["b-1"])
            #expect(bobs.timeBlocks.isEmpty && bobs.connectorStatus.isEmpty)
        }
    }

    @Test func aFailingOrStaleConnectorMakesAPartialBriefingThatNamesIt() async throws {
        try await withConnectorFixture({ $0.calendarEvents = 0 }) { fixture in
            try await seed(fixture)
            try await sql(fixture, "UPDATE connector_accounts SET last_sync_at = now() - interval '3 days' WHERE connector = 'jira'")
            try await fixture.control(
                "POST", "/control/faults",
                ["service": .string("calendar"), "path_prefix": .string("/calendar/v3/freeBusy"), "count": .int(5), "status": .int(503)])
            let briefing = try await run(fixture, job(fixture, .init(date: Self.day())))
            #expect(briefing.status == .partial)
            let states = Dictionary(uniqueKeysWithValues: briefing.connectorStatus.map { ($0.connector, $0.status) })
            #expect(states == ["gcal": .unreachable, "gmail": .ok, "jira": .partial], "\(briefing.connectorStatus)")
            #expect(briefing.missing.contains { $0.hasPrefix("gcal unreachable") }, "\(briefing.missing)")
            #expect(briefing.missing.contains { $0.hasPrefix("jira partial: not synced for") }, "\(briefing.missing)")
            #expect(briefing.timeBlocks.isEmpty)
            #expect(briefing.tasks.count == 5, "what is there is still briefed")
            #expect(BriefingRendering.text(briefing).contains("PARTIAL: "))

            // An account that must be connected again is an error, and an alert.
            try await sql(fixture, "UPDATE connector_accounts SET status = 'reauth_required' WHERE connector = 'gmail'")
            try await fixture.control("DELETE", "/control/faults")
            let again = try await run(fixture, job(fixture, .init(date: Self.day())))
            #expect(again.connectorStatus.first { $0.connector == "gmail" }?.status == .error)
            #expect(again.alerts.contains { $0.kind == "connector" && $0.text.hasPrefix("gmail") }, "\(again.alerts)")
        }
    }

    @Test func withoutThePolicyEngineThereIsNoBriefingAndTheUserIsToldWhy() async throws {
        try await withConnectorFixture({ $0.calendarEvents = 0 }) { fixture in
            try await seed(fixture)
            fixture.fakes.policy.answer.withLock { $0 = .unavailable(reason: "engine-unavailable: connection refused") }
            let briefingJob = job(fixture, .init(timeZone: "UTC"))
            let handler = RegisteredHandler(BriefingHandler(settings: fixture.settings, secrets: fixture.secrets))
            await #expect(throws: JobFailure.self) { try await handler.run(briefingJob, context: fixture.context(briefingJob)) }
            var found: JobFailure?
            do { try await handler.run(briefingJob, context: fixture.context(briefingJob)) } catch let failure as JobFailure {
                found = failure
            }
            #expect(found?.disposition == .postpone(HandlerContext.policyRetry), "tried again while the day lasts")
            let told = try await stored(fixture, briefingJob.id)
            #expect(told.status == .unavailable && told.tasks.isEmpty && told.timeBlocks.isEmpty)
            #expect(told.reason?.contains("policy engine could not be asked") == true, "\(String(describing: told.reason))")
            #expect(try await fixture.requests("calendar").filter { ($0["path"]?.stringValue ?? "").hasSuffix("/freeBusy") }.isEmpty)

            // The engine is back: the same job makes the briefing in its place.
            fixture.fakes.policy.answer.withLock {
                $0 = .decided(PolicyDecision(decision: .allow, policyApplied: "enterprise/actions", reason: "fake"))
            }
            let made = try await run(fixture, briefingJob)
            #expect(made.status == .ready && made.tasks.count == 5)
        }
    }

    @Test func aDeniedSourceAndDataAboveTheMailsLevelAreLeftOutAndCounted() async throws {
        try await withConnectorFixture({ $0.calendarEvents = 0 }) { fixture in
            try await seed(fixture)
            // Jira may not be read now; gmail.send may carry internal data at most.
            fixture.fakes.policy.rule.withLock {
                $0 = { question in
                    if question.action == .jiraRead {
                        return .decided(PolicyDecision(decision: .deny, policyApplied: "enterprise/actions", reason: "jira blocked"))
                    }
                    if question.action == .gmailSend && question.classification > .internal {
                        return .decided(PolicyDecision(decision: .deny, policyApplied: "enterprise/data", reason: "too sensitive for mail"))
                    }
                    return nil
                }
            }
            let mailed = job(fixture, .init(date: Self.day(), email: true))
            let briefing = try await run(fixture, mailed)
            #expect(briefing.tasks.map(\.id) == ["t-review", "t-meeting", "t-secret"])
            #expect(briefing.withheld.reasons["jira.read not allowed by policy"] == 2, "\(briefing.withheld)")
            #expect(briefing.delivery["email"] == "sent (1 item(s) above internal left out)", "\(briefing.delivery)")
            let sent = try await fixture.control("GET", "/control/gmail/alice@acme.test/sent")
            let messages = sent["messages"]?.arrayValue ?? []
            #expect(messages.count == 1)
            let text = String(describing: messages.first ?? .null)
            #expect(text.contains("Your briefing for \(Self.day())"), "\(text.prefix(400))")
            #expect(text.contains("Review acme/payments#42") && !text.contains("Acquisition memo"), "\(text.prefix(2000))")

            // The same job run again (a redelivery) sends nothing more.
            _ = try await run(fixture, mailed)
            #expect(try await fixture.control("GET", "/control/gmail/alice@acme.test/sent")["messages"]?.arrayValue?.count == 1)
        }
    }
}

/// The snapshot statement's JSON as the briefing reads it.
@Suite struct SnapshotRowTests {
    @Test func readsEveryPartAndRefusesWhatIsMissingOrMistyped() throws {
        let row = try SnapshotRow(
            json: """
                {"accounts": [{"connector": "gmail", "account": "a@example.com", "status": "active", "lastError": null, "synced": 1796200000.25}],
                 "tasks": [{"id": "t1", "title": "Review PR 7", "classification": "internal",
                            "sources": [{"system": "github", "id": "pr-7", "url": null, "title": "PR 7"}],
                            "signals": {"deadline": "2026-12-03T08:00:00Z", "sender_seniority": 10, "follow_ups": 2, "blocking": 1}},
                           {"id": "t2", "title": "Old task", "sources": null, "signals": {}}],
                 "since": 1796100000, "counts": {"sent": 3, "pending": 1},
                 "recent": [{"status": "sent", "sender": "b@example.com", "subject": "Hi", "classification": "public"}],
                 "critical": [{"title": "Outage", "link": null, "classification": "internal"}], "waiting": 2}
                """)
        #expect(row.accounts.map(\.connector) == ["gmail"])
        #expect(row.accounts.first?.synced == 1_796_200_000.25)
        #expect(row.tasks.map(\.id) == ["t1", "t2"])
        let signals = try #require(row.tasks.first?.signals)
        #expect(signals == UrgencySignals(deadline: RFC3339.parse("2026-12-03T08:00:00Z"), senderSeniority: 10, followUps: 2, blocking: 1))
        #expect(row.tasks.first?.sources == [TaskSource(system: "github", id: "pr-7", url: nil, title: "PR 7")])
        #expect(row.tasks.last?.sources == nil && row.tasks.last?.signals == UrgencySignals())
        #expect(row.since == 1_796_100_000 && row.counts == ["sent": 3, "pending": 1] && row.waiting == 2)
        #expect(row.recent.first?.subject == "Hi" && row.critical.first?.title == "Outage")

        let whole = #"{"accounts": [], "tasks": [], "since": 1, "counts": {}, "recent": [], "critical": [], "waiting": 0}"#
        #expect(throws: Never.self) { try SnapshotRow(json: whole) }
        for broken in [
            #"{"accounts": [], "tasks": [{"title": "no id"}], "since": 1, "counts": {}, "recent": [], "critical": [], "waiting": 0}"#,
            #"{"accounts": [], "tasks": [], "since": "yesterday", "counts": {}, "recent": [], "critical": [], "waiting": 0}"#,
            #"{"accounts": [], "tasks": [{"id": "t", "title": "x", "signals": {"deadline": "soon"}}], "since": 1, "counts": {}, "recent": [], "critical": [], "waiting": 0}"#,
            #"{"accounts": [], "tasks": [], "since": 1, "counts": {"sent": 1.5}, "recent": [], "critical": [], "waiting": 0}"#,
            #"{"accounts": [], "tasks": [], "since": 1, "counts": {}, "recent": [], "critical": []}"#,
            "not json",
        ] {
            #expect(throws: SnapshotRow.Malformed.self, "\(broken)") { try SnapshotRow(json: broken) }
        }
    }
}
