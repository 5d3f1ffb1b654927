import Connectors
import Contracts
import Foundation
import Hummingbird
import Synchronization
import TestSupport
import Testing
import WorkerRuntime

@testable import FakeProviders
@testable import Workers

/// The model backend behind the classifier and the auto-responder: asked only where the policy
/// lets the data go to it, its answer may only raise a level, its calls are audited, and any
/// failure leaves the rules' decision.
@Suite struct ModelBackendTests {
    static let secret = "AKIAQ7ZR4M2KT9W3PX6B"

    /// A chat-completions server that records what it is sent and answers `content` (or fails
    /// with `status`).
    final class FakeModel: Sendable {
        let seen = Mutex<[String]>([])
        let content = Mutex(#"{"level":"confidential","class":"critical","confidence":0.99}"#)
        let status = Mutex(200)

        func start() async throws -> (url: String, task: Task<Void, any Error>) {
            let router = Router()
            router.post("v1/chat/completions") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                self.seen.withLock { $0.append(String(buffer: body)) }
                let status = self.status.withLock { $0 }
                guard status == 200 else { return Response(status: .init(code: status)) }
                let answer: [String: Any] = [
                    "id": "c1", "object": "chat.completion",
                    "choices": [["index": 0, "message": ["role": "assistant", "content": self.content.withLock { $0 }]]],
                    "usage": ["prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42],
                ]
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: answer))))
            }
            let (url, task) = try await startTestServer(router)
            return (url + "/v1", task)
        }
    }

    func classify(_ fixture: ConnectorSyncFixture, model url: String) async throws {
        var settings = fixture.settings
        settings.model.url = url
        settings.model.name = "fake-gpt"
        let payload = ClassifierKind.Payload(source: .gmail)
        let job = JobEnvelope(
            tenant: fixture.tenant, kind: .classifier, action: .gmailRead, payload: Array(try JSONEncoder().encode(payload)),
            requester: Requester(user: "alice"))
        try await RegisteredHandler(ClassifierHandler(settings: settings, secrets: fixture.secrets)).run(job, context: fixture.context(job))
    }

    func levels(_ fixture: ConnectorSyncFixture) async throws -> [String: (level: String, findings: String, messageClass: String?)] {
        try await fixture.directory.session(fixture.tenant) { sql in
            var out: [String: (String, String, String?)] = [:]
            for row in try await sql.query(
                "SELECT source_id, classification, findings::text AS f, message_class FROM items WHERE user_id = 'alice' AND connector = 'gmail'",
                [])
            {
                out[row.string("source_id") ?? ""] = (
                    row.string("classification") ?? "", row.string("f") ?? "", row.string("message_class")
                )
            }
            return out
        }
    }

    /// The policy of the test: data above internal may not go to an external model.
    func ceiling(_ fixture: ConnectorSyncFixture) {
        fixture.fakes.policy.rule.withLock {
            $0 = { question in
                guard question.action == .modelCall, question.classification > .internal else { return nil }
                return .decided(PolicyDecision(decision: .deny, policyApplied: "models", reason: "above the external model ceiling"))
            }
        }
    }

    @Test func aRestrictedMessageNeverReachesAnExternalModelAndTheModelOnlyRaises() async throws {
        let model = FakeModel()
        let (url, server) = try await model.start()
        defer { server.cancel() }
        try await withConnectorFixture({ $0.gmailMessages = 6 }) { fixture in
            try await fixture.connect(.gmail)
            ceiling(fixture)
            let leaked =
                try await fixture.control(
                    "POST", "/control/gmail/alice@acme.test/messages",
                    [
                        "from": .string("ops@acme.test"), "to": .array([.string("alice@acme.test")]), "subject": .string("deploy keys"),
                        "body": .string("The pipeline key is \(Self.secret), keep it safe."),
                    ])["id"]?.stringValue ?? ""
            try await fixture.sync(.gmail)
            try await classify(fixture, model: url)
            let sent = model.seen.withLock { $0 }
            #expect(!sent.isEmpty, "the model was never asked")
            #expect(!sent.contains { $0.contains(Self.secret) }, "a restricted message reached the external model")
            #expect(sent.allSatisfy { $0.contains("\"model\":\"fake-gpt\"") })
            let stored = try await levels(fixture)
            #expect(stored[leaked]?.level == "restricted")
            // The model said confidential: everything it was asked about is raised, with the
            // model named as what raised it, and its class taken where it was surer.
            let others = stored.filter { $0.key != leaked }
            #expect(!others.isEmpty)
            #expect(others.values.allSatisfy { $0.level == "confidential" || $0.level == "restricted" }, "\(others)")
            let raised = others.values.filter { $0.findings.contains("\"model\"") }
            #expect(!raised.isEmpty, "\(others)")
            #expect(raised.allSatisfy { $0.level == "confidential" && $0.messageClass == "critical" })
            let calls = fixture.fakes.audit.events.withLock { $0.filter { $0.actionType == "model_call" } }
            #expect(calls.count == sent.count)
            #expect(calls.allSatisfy { $0.modelUsed == "fake-gpt" && $0.modelTokens == 42 })
            #expect(!calls.contains { "\($0)".contains(Self.secret) })
        }
    }

    @Test func aModelThatFailsOrTalksNonsenseLeavesTheRules() async throws {
        let model = FakeModel()
        let (url, server) = try await model.start()
        defer { server.cancel() }
        try await withConnectorFixture({ $0.gmailMessages = 6 }) { fixture in
            try await fixture.connect(.gmail)
            try await fixture.sync(.gmail)
            model.status.withLock { $0 = 503 }
            try await classify(fixture, model: url)
            let byRules = try await levels(fixture)
            #expect(byRules.values.allSatisfy { !$0.findings.contains("\"model\"") })
            // Asked again, a model that answers what is not the expected JSON changes nothing;
            // nor does one that would lower a level.
            model.status.withLock { $0 = 200 }
            for content in ["I think it is fine.", #"{"level":"top secret"}"#, #"{"level":"public","class":"noise","confidence":0.1}"#] {
                model.content.withLock { $0 = content }
                _ = try await fixture.directory.session(fixture.tenant) { sql in
                    try await sql.query("UPDATE items SET classified_at = NULL")
                }
                try await classify(fixture, model: url)
                let again = try await levels(fixture)
                for (id, before) in byRules {
                    #expect(again[id]?.level == before.level, "\(content): \(id)")
                    #expect(again[id]?.messageClass == before.messageClass, "\(content): \(id)")
                }
            }
        }
    }

    @Test func aReplyIsWrittenByTheModelWhereThePolicyAllows() async throws {
        let model = FakeModel()
        let (url, server) = try await model.start()
        defer { server.cancel() }
        try await withConnectorFixture({ $0.gmailMessages = 4 }) { fixture in
            try await fixture.connect(.gmail)
            let asked =
                try await fixture.control(
                    "POST", "/control/gmail/alice@acme.test/messages",
                    [
                        "from": .string("Carol Ng <carol@partner.test>"), "to": .array([.string("alice@acme.test")]),
                        "subject": .string("Contract review"), "body": .string("Could you review the contract by Friday?"),
                    ])["id"]?.stringValue ?? ""
            try await fixture.sync(.gmail)
            // Classified by the rules (no model there), answered by the model.
            let payload = ClassifierKind.Payload(source: .gmail)
            let classify = JobEnvelope(
                tenant: fixture.tenant, kind: .classifier, action: .gmailRead, payload: Array(try JSONEncoder().encode(payload)),
                requester: Requester(user: "alice"))
            try await RegisteredHandler(ClassifierHandler(settings: fixture.settings, secrets: fixture.secrets)).run(
                classify, context: fixture.context(classify))
            let drafting = try #require(
                fixture.fakes.followUps.submitted.withLock { $0.map(\.0) }.first { $0.step == "respond:\(asked)" })
            model.content.withLock { $0 = "Hi Carol,\n\nThanks, Alice will look at the contract and get back to you.\n\nBest regards" }
            var settings = fixture.settings
            settings.model.url = url
            let job = JobEnvelope(
                tenant: fixture.tenant, kind: .autoResponder, action: drafting.job.action, payload: drafting.job.payload,
                classification: drafting.job.classification, requester: Requester(user: "alice"))
            try await RegisteredHandler(AutoResponderHandler(settings: settings, secrets: fixture.secrets)).run(
                job, context: fixture.context(job))
            let sending = try #require(fixture.fakes.followUps.submitted.withLock { $0.map(\.0) }.first { $0.step == "send" })
            let draft = JSONValue.parse(sending.job.payload)?.objectValue?["draft"]?.stringValue ?? ""
            #expect(draft.contains("Alice will look at the contract"), "\(draft)")
            #expect(model.seen.withLock { $0 }.contains { $0.contains("Could you review the contract by Friday?") })
            #expect(fixture.fakes.audit.events.withLock { $0.contains { $0.actionType == "model_call" } })
        }
    }
}
