import Connectors
import Contracts
import Foundation
import TestSupport
import Testing
import WorkerRuntime

@testable import FakeProviders
@testable import Workers

/// The auto-responder against the fake Gmail and a real tenant: a question to the user is
/// drafted from its class's template, submitted as a reply under `autorespond.send`, and sent
/// once as a threaded reply marked `Auto-Submitted`; mail that must not be answered is not; a
/// policy changed before sending is honoured.
@Suite struct AutoResponderTests {
    func job(_ fixture: ConnectorSyncFixture, _ followUp: FollowUp, user: String = "alice", id: String? = nil) -> JobEnvelope {
        var job = JobEnvelope(
            tenant: fixture.tenant, kind: followUp.job.kind, action: followUp.job.action, payload: followUp.job.payload,
            classification: followUp.job.classification, requester: Requester(user: user))
        if let id { job.id = id }
        return job
    }

    @discardableResult
    func run(_ fixture: ConnectorSyncFixture, _ job: JobEnvelope, attempt: Int = 1) async throws -> [String: JSONValue] {
        let handler = RegisteredHandler(AutoResponderHandler(settings: fixture.settings, secrets: fixture.secrets))
        let context = fixture.context(job, attempt: attempt)
        try await handler.run(job, context: context)
        guard let text = context.result, case .object(let result) = JSONValue.parse(Array(text.utf8)) else { return [:] }
        return result
    }

    func classify(_ fixture: ConnectorSyncFixture, user: String = "alice") async throws {
        let payload = ClassifierKind.Payload(source: .gmail)
        let job = JobEnvelope(
            tenant: fixture.tenant, kind: .classifier, action: .gmailRead, payload: Array(try JSONEncoder().encode(payload)),
            requester: Requester(user: user))
        try await RegisteredHandler(ClassifierHandler(settings: fixture.settings, secrets: fixture.secrets)).run(
            job, context: fixture.context(job))
    }

    func followUps(_ fixture: ConnectorSyncFixture, _ kind: JobKind) -> [FollowUp] {
        fixture.fakes.followUps.submitted.withLock { $0.map(\.0).filter { $0.job.kind == kind } }
    }

    /// The job a recorded follow-up became, under the id the recorder answered with (the
    /// drafting job records it as the reply's sending job).
    func queued(_ fixture: ConnectorSyncFixture, step: String, user: String = "alice") throws -> JobEnvelope {
        let (followUp, parent) = try #require(fixture.fakes.followUps.submitted.withLock { $0.last { $0.0.step == step } })
        return job(fixture, followUp, user: user, id: "followup-\(parent)-\(step)")
    }

    func sent(_ fixture: ConnectorSyncFixture, _ mailbox: String = "alice@acme.test") async throws -> [[String: JSON]] {
        let answer = try await fixture.control("GET", "/control/gmail/\(mailbox)/sent")
        guard case .array(let list) = answer["messages"] ?? .null else { return [] }
        return list.compactMap { if case .object(let pairs) = $0 { Dictionary(pairs, uniquingKeysWith: { $1 }) } else { nil } }
    }

    func header(_ message: [String: JSON], _ name: String) -> String? {
        guard case .object(let pairs) = message["headers"] ?? .null else { return nil }
        return pairs.first { $0.0.lowercased() == name.lowercased() }?.1.stringValue
    }

    func question(
        _ fixture: ConnectorSyncFixture, from: String = "Carol Ng <carol@partner.test>", to: String = "alice@acme.test"
    )
        async throws -> String
    {
        try await fixture.control(
            "POST", "/control/gmail/\(to)/messages",
            [
                "from": .string(from), "to": .array([.string(to)]), "subject": .string("Contract review"),
                "body": .string("Hi, could you review the attached contract and send me your comments by Friday?"),
            ])["id"]?.stringValue ?? ""
    }

    @Test func aQuestionGetsOneThreadedReplyMarkedAutoSubmitted() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            let asked = try await question(fixture)
            try await fixture.sync(.gmail)
            try await classify(fixture)
            // Fresh mail to alice that may need an answer (hers, and the fakes' generated mail).
            let drafting = try #require(followUps(fixture, .autoResponder).first { $0.step == "respond:\(asked)" })
            #expect(drafting.job.action == .gmailRead)

            // Drafting: the reply from the template, submitted under autorespond.send.
            let first = try await run(fixture, job(fixture, drafting))
            #expect(first["status"] == .string("queued"), "\(first)")
            let sending = try #require(followUps(fixture, .autoResponder).first { $0.step == "send" })
            #expect(sending.job.action == .autorespondSend)
            let payload = try #require(JSONValue.parse(sending.job.payload)?.objectValue)
            let draft = try #require(payload["draft"]?.stringValue)
            #expect(draft.contains("Hi Carol,"), "\(draft)")
            #expect(draft.contains("Contract review"))
            #expect(payload["original"]?.objectValue?["excerpt"]?.stringValue?.contains("review the attached contract") == true)

            // Sending, with the disclosure the policy asks for.
            fixture.fakes.policy.answer.withLock {
                $0 = .decided(
                    PolicyDecision(
                        decision: .allow, policyApplied: "enterprise/actions", reason: "notify",
                        constraints: .init(disclosureRequired: true)))
            }
            let sendJob = try queued(fixture, step: "send")
            let result = try await run(fixture, sendJob)
            #expect(result["status"] == .string("sent"), "\(result)")
            let replies = try await sent(fixture)
            #expect(replies.count == 1, "\(replies)")
            let reply = try #require(replies.first)
            #expect(header(reply, "Auto-Submitted") == "auto-replied")
            #expect(header(reply, "To")?.contains("carol@partner.test") == true)
            #expect(header(reply, "Subject") == "Re: Contract review")
            #expect(header(reply, "In-Reply-To")?.hasPrefix("<fake.") == true, "\(reply)")
            #expect(header(reply, "References")?.contains(header(reply, "In-Reply-To") ?? "-") == true)
            #expect(reply["body"]?.stringValue?.contains("Sent by Alice's OpenClaw assistant") == true, "\(reply)")

            // Delivered again, the send job finds its reply; a second drafting job finds the
            // message answered. Nothing is sent twice.
            #expect(try await run(fixture, sendJob, attempt: 2)["status"] == .string("sent"))
            #expect(try await run(fixture, job(fixture, sending))["status"] == .string("sent"))
            let again = try await run(fixture, job(fixture, drafting))
            #expect(again["status"] == .string("skipped"), "\(again)")
            #expect(try await sent(fixture).count == 1)
        }
    }

    @Test func aClassifierRunStoppedAfterStoringStillAsksAboutTheMessageWhenRetried() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            let asked = try await question(fixture)
            try await fixture.sync(.gmail)
            let payload = ClassifierKind.Payload(source: .gmail)
            let job = JobEnvelope(
                tenant: fixture.tenant, kind: .classifier, action: .gmailRead, payload: Array(try JSONEncoder().encode(payload)),
                requester: Requester(user: "alice"))
            let handler = RegisteredHandler(ClassifierHandler(settings: fixture.settings, secrets: fixture.secrets))
            // The engine cannot answer when the first message's follow-up is submitted: the
            // batch is stored, the run stops.
            fixture.fakes.followUps.failures.withLock { $0 = 1 }
            await #expect(throws: (any Error).self) { try await handler.run(job, context: fixture.context(job)) }
            #expect(followUps(fixture, .autoResponder).isEmpty)
            // The retry finds nothing waiting, and asks about what the first run stored.
            try await handler.run(job, context: fixture.context(job, attempt: 2))
            let drafting = followUps(fixture, .autoResponder).filter { $0.step == "respond:\(asked)" }
            #expect(drafting.count == 1, "\(followUps(fixture, .autoResponder).map(\.step))")
            // A third delivery asks nothing twice.
            let before = followUps(fixture, .autoResponder).count
            try await handler.run(job, context: fixture.context(job, attempt: 3))
            #expect(followUps(fixture, .autoResponder).count == before)
        }
    }

    @Test func aPolicyChangedBeforeSendingIsHonoured() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            let asked = try await question(fixture)
            try await fixture.sync(.gmail)
            try await classify(fixture)
            try await run(fixture, job(fixture, try #require(followUps(fixture, .autoResponder).first { $0.step == "respond:\(asked)" })))
            let sending = try #require(followUps(fixture, .autoResponder).first { $0.step == "send" })
            fixture.fakes.policy.answer.withLock {
                $0 = .decided(PolicyDecision(decision: .deny, policyApplied: "enterprise/actions", reason: "autorespond.send is blocked"))
            }
            _ = sending
            let result = try await run(fixture, try queued(fixture, step: "send"))
            #expect(result["status"] == .string("blocked"), "\(result)")
            #expect(try await sent(fixture).isEmpty)
            let stored = try await fixture.directory.session(fixture.tenant) { sql in
                try await sql.query("SELECT status, reason FROM responses WHERE user_id = 'alice'").first
            }
            #expect(stored?.string("status") == "blocked")
            #expect(stored?.string("reason")?.contains("blocked") == true)
        }
    }

    /// Approving queues the job before the approval's decision commits: a worker that takes it
    /// at once waits for the decision instead of failing the reply.
    @Test func aSendJobFasterThanItsApprovalsCommitWaitsForIt() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            let asked = try await question(fixture)
            try await fixture.sync(.gmail)
            try await classify(fixture)
            try await run(fixture, job(fixture, try #require(followUps(fixture, .autoResponder).first { $0.step == "respond:\(asked)" })))
            let sendJob = try queued(fixture, step: "send")
            // Replies need an approval; sending mail itself is allowed.
            fixture.fakes.policy.rule.withLock {
                $0 = { question in
                    question.action == .autorespondSend
                        ? .decided(
                            PolicyDecision(decision: .requireApproval, policyApplied: "enterprise/actions", reason: "a human decides"))
                        : nil
                }
            }
            func approval(_ status: String) async throws {
                try await fixture.directory.query(
                    fixture.tenant,
                    """
                    INSERT INTO approvals (id, job, kind, action, requester_user, expires_at, status)
                    VALUES ($1, '{}', 'auto-responder', 'autorespond.send', 'alice', now() + interval '1 day', $2)
                    ON CONFLICT (id) DO UPDATE SET status = excluded.status
                    """, [sendJob.id, status])
            }
            try await approval("pending")
            do {
                try await run(fixture, sendJob)
                Issue.record("a send job ran while its approval was pending")
            } catch let failure as JobFailure {
                guard case .postpone = failure.disposition else {
                    Issue.record("\(failure)")
                    return
                }
            }
            #expect(try await sent(fixture).isEmpty)
            // Rejected: the job fails; approved: it sends.
            try await approval("rejected")
            do {
                try await run(fixture, sendJob, attempt: 2)
                Issue.record("a send job ran with its approval rejected")
            } catch let failure as JobFailure {
                #expect(failure.disposition == .fail, "\(failure)")
            }
            try await approval("approved")
            #expect(try await run(fixture, sendJob, attempt: 3)["status"] == .string("sent"))
            #expect(try await sent(fixture).count == 1)
        }
    }

    @Test func twoAssistantsDoNotAnswerEachOther() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            try await fixture.connect(.gmail, user: "bob", address: "bob@acme.test")
            // Bob asks alice; alice's assistant answers.
            let asked = try await question(fixture, from: "Bob Stone <bob@acme.test>")
            try await fixture.sync(.gmail)
            try await classify(fixture)
            try await run(fixture, job(fixture, try #require(followUps(fixture, .autoResponder).first { $0.step == "respond:\(asked)" })))
            try await run(fixture, try queued(fixture, step: "send"))
            let reply = try #require(try await sent(fixture).first)
            // The reply reaches bob as mail does, headers and all; bob's assistant leaves it.
            var headers: [(String, JSON)] = []
            for name in ["Auto-Submitted", "In-Reply-To", "References"] {
                if let value = header(reply, name) { headers.append((name, .string(value))) }
            }
            let arrived =
                try await fixture.control(
                    "POST", "/control/gmail/bob@acme.test/messages",
                    [
                        "from": .string("Alice <alice@acme.test>"), "to": .array([.string("bob@acme.test")]),
                        "subject": .string(header(reply, "Subject") ?? ""), "body": .string(reply["body"]?.stringValue ?? ""),
                        "headers": .object(headers),
                    ])["id"]?.stringValue ?? ""
            try await fixture.sync(.gmail, user: "bob")
            try await classify(fixture, user: "bob")
            let forBob = fixture.fakes.followUps.submitted.withLock {
                $0.filter { $0.0.job.kind == .autoResponder && $0.0.step == "respond:\(arrived)" }
            }
            if let asked = forBob.first {
                // Asked or not, the drafting job refuses automatic mail.
                let result = try await run(fixture, job(fixture, asked.0, user: "bob"))
                #expect(result["status"] == .string("skipped"), "\(result)")
            }
            #expect(try await sent(fixture, "bob@acme.test").isEmpty)
            // Asked directly, it says why.
            let direct = FollowUp(
                job: FollowUpJob(
                    kind: .autoResponder, action: .gmailRead,
                    payload: Array(try JSONEncoder().encode(AutoResponderKind.Payload(channel: "gmail", messageID: arrived))),
                    classification: .internal), step: "x")
            let refused = try await run(fixture, job(fixture, direct, user: "bob"))
            #expect(refused["status"] == .string("skipped"), "\(refused)")
            #expect(try await sent(fixture).count == 1)
        }
    }
}
