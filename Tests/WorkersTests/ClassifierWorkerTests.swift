import Classifier
import Connectors
import Contracts
import Foundation
import TestSupport
import Testing
import WorkerRuntime

@testable import FakeProviders
@testable import Workers

/// The classifier kind against the fake providers and a real tenant: a sync asks for it, it
/// reads each item at its source, raises levels on what the detectors find, classes mail, keeps
/// an admin's override, and stores no matched text anywhere.
@Suite struct ClassifierWorkerTests {
    static let secret = "AKIAQ7ZR4M2KT9W3PX6B"

    @discardableResult
    func classify(
        _ fixture: ConnectorSyncFixture, _ connector: Connector, itemID: String? = nil, user: String = "alice", attempt: Int = 1
    ) async throws -> [String: JSONValue] {
        let payload = ClassifierKind.Payload(source: connector, itemID: itemID)
        let job = JobEnvelope(
            tenant: fixture.tenant, kind: .classifier, action: connector.readAction, payload: Array(try JSONEncoder().encode(payload)),
            requester: Requester(user: user))
        let handler = RegisteredHandler(ClassifierHandler(settings: fixture.settings, secrets: fixture.secrets, batchSize: 40))
        let context = fixture.context(job, attempt: attempt)
        try await handler.run(job, context: context)
        guard let text = context.result, case .object(let result) = JSONValue.parse(Array(text.utf8)) else { return [:] }
        return result
    }

    struct Row {
        let level: String
        let findings: String
        let messageClass: String?
        let classified: Bool
    }

    func rows(_ fixture: ConnectorSyncFixture, _ connector: Connector) async throws -> [String: Row] {
        try await fixture.directory.session(fixture.tenant) { sql in
            var out: [String: Row] = [:]
            for row in try await sql.query(
                "SELECT source_id, classification, findings::text AS findings, message_class, classified_at IS NOT NULL AS classified FROM items WHERE user_id = 'alice' AND connector = $1",
                [connector.rawValue])
            {
                out[row.string("source_id") ?? ""] = Row(
                    level: row.string("classification") ?? "", findings: row.string("findings") ?? "",
                    messageClass: row.string("message_class"), classified: row.bool("classified") ?? false)
            }
            return out
        }
    }

    func deliver(_ fixture: ConnectorSyncFixture, _ fields: [String: JSON]) async throws -> String {
        try await fixture.control("POST", "/control/gmail/alice@acme.test/messages", fields)["id"]?.stringValue ?? ""
    }

    @Test func aSyncAsksForClassificationAndEveryMessageGetsALevelAndAClass() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            let leaked = try await deliver(
                fixture,
                [
                    "from": .string("ops@acme.test"), "to": .array([.string("alice@acme.test")]), "subject": .string("deploy keys"),
                    "body": .string("Here is the key for the pipeline: \(Self.secret) and the secret follows separately."),
                ])
            let question = try await deliver(
                fixture,
                [
                    "from": .string("carol@partner.test"), "to": .array([.string("alice@acme.test")]),
                    "subject": .string("Contract review"),
                    "body": .string("Hi Alice, could you review the attached contract and send me your comments by Friday?"),
                ])
            let newsletter = try await deliver(
                fixture,
                [
                    "from": .string("news@updates.example"), "to": .array([.string("alice@acme.test")]),
                    "subject": .string("This week's deals"), "body": .string("Big savings this week only. Unsubscribe any time."),
                    "headers": .object([("List-Unsubscribe", .string("<mailto:leave@updates.example>")), ("Precedence", .string("bulk"))]),
                ])
            try await fixture.sync(.gmail)
            let asked = fixture.fakes.followUps.submitted.withLock { $0.map(\.0) }.filter { $0.job.kind == .classifier }
            #expect(asked.count == 1, "\(asked)")
            #expect(asked.first?.job.kind == .classifier)
            #expect(asked.first?.job.action == .gmailRead)
            #expect(JSONValue.parse(asked.first?.job.payload ?? []) == .object(["source": .string("gmail")]))

            let synced = try await rows(fixture, .gmail)
            #expect(synced.values.allSatisfy { !$0.classified })
            let result = try await classify(fixture, .gmail)
            #expect(result["classified"] == .integer(Int64(synced.count)), "\(result)")
            let stored = try await rows(fixture, .gmail)
            #expect(stored.values.allSatisfy { $0.classified })
            #expect(stored.values.allSatisfy { $0.messageClass != nil })
            #expect(stored[leaked]?.level == "restricted", "\(String(describing: stored[leaked]))")
            #expect(stored[leaked]?.findings.contains("aws_access_key") == true)
            #expect(stored[question]?.level == "internal")
            #expect(stored[question]?.messageClass == "needs_response", "\(String(describing: stored[question]))")
            #expect(stored[newsletter]?.messageClass == "noise")

            // The secret is in no stored field and no audit entry.
            let holding = try await fixture.directory.session(fixture.tenant) { sql in
                try await sql.query("SELECT count(*) AS n FROM items WHERE items::text LIKE $1", ["%" + Self.secret + "%"]).first?.int("n")
            }
            #expect(holding == 0)
            let audited = fixture.fakes.audit.events.withLock { $0 }
            #expect(!audited.isEmpty)
            let auditText = audited.map { "\($0)" }.joined()
            #expect(!auditText.contains(Self.secret))
            let access = audited.filter { $0.actionType == "data_access" && $0.actionDetail.contains("items_classified") }
            #expect(access.contains { $0.dataClassification == .restricted })

            // Nothing waits any more: a second run reads nothing.
            let since = try await fixture.requests("gmail").count
            #expect(try await classify(fixture, .gmail)["classified"] == .integer(0))
            #expect(try await fixture.requests("gmail").count == since)

            // A message marked read changes its labels only: it is not classified again, and its
            // level stays.
            try await fixture.control(
                "POST", "/control/gmail/alice@acme.test/labels", ["id": .string(leaked), "remove": .array([.string("UNREAD")])])
            try await fixture.sync(.gmail)
            #expect(fixture.fakes.followUps.submitted.withLock { $0.filter { $0.0.job.kind == .classifier }.count } == 1)
            let after = try await rows(fixture, .gmail)
            #expect(after[leaked]?.level == "restricted")
            #expect(after[leaked]?.classified == true)
        }
    }

    @Test func anAdminOverrideStandsAndOneItemCanBeClassifiedAgain() async throws {
        try await withConnectorFixture { fixture in
            try await fixture.connect(.gmail)
            let leaked = try await deliver(
                fixture,
                [
                    "from": .string("ops@acme.test"), "to": .array([.string("alice@acme.test")]), "subject": .string("keys"),
                    "body": .string("key \(Self.secret)"),
                ])
            try await fixture.sync(.gmail)
            try await classify(fixture, .gmail)
            _ = try await fixture.directory.session(fixture.tenant) { sql in
                try await sql.query(
                    "UPDATE items SET override_level = 'internal', classification = 'internal', override_reason = 'rotated key' WHERE source_id = $1",
                    [leaked])
            }
            let again = try await classify(fixture, .gmail, itemID: leaked)
            #expect(again["classified"] == .integer(1), "\(again)")
            #expect(try await rows(fixture, .gmail)[leaked]?.level == "internal")
            // A retried sync that stored nothing still asks when something waits.
            _ = try await fixture.directory.session(fixture.tenant) { sql in
                try await sql.query("UPDATE items SET classified_at = NULL WHERE source_id = $1", [leaked])
            }
            try await fixture.run(fixture.job(.gmail), attempt: 2)
            #expect(fixture.fakes.followUps.submitted.withLock { $0.filter { $0.0.job.kind == .classifier }.count } == 2)
        }
    }

    @Test func everyConnectorsItemsAreReadAtTheirSourceAndClassified() async throws {
        try await withConnectorFixture { fixture in
            for connector in [Connector.gcal, .gdrive, .jira, .github] {
                try await fixture.connect(connector)
                try await fixture.sync(connector)
                let count = try await fixture.items(connector).count
                let result = try await classify(fixture, connector)
                #expect(result["classified"] == .integer(Int64(count)), "\(connector): \(result)")
                #expect(result["gone"] == .integer(0), "\(connector): \(result)")
                let stored = try await rows(fixture, connector)
                #expect(stored.values.allSatisfy { $0.classified }, "\(connector)")
                #expect(stored.values.allSatisfy { $0.messageClass == nil }, "\(connector)")
            }
        }
    }

    @Test func mailCrossingTheTenantsDomainsIsRaisedWhereTheTenantSaysSo() async throws {
        try await withConnectorFixture({ $0.gmailMessages = 4 }) { fixture in
            try await fixture.connect(.gmail)
            _ = try await fixture.directory.session(fixture.tenant) { sql in
                try await sql.query(
                    "INSERT INTO directory_settings (name, value, updated_by) VALUES ('external_recipients_level', 'confidential', 'boss')")
            }
            let outside = try await deliver(
                fixture,
                [
                    "from": .string("carol@partner.test"), "to": .array([.string("alice@acme.test")]), "subject": .string("hello"),
                    "body": .string("Just saying hello."),
                ])
            let inside = try await deliver(
                fixture,
                [
                    "from": .string("bob@acme.test"), "to": .array([.string("alice@acme.test")]), "subject": .string("lunch"),
                    "body": .string("Lunch at noon."),
                ])
            try await fixture.sync(.gmail)
            try await classify(fixture, .gmail)
            let stored = try await rows(fixture, .gmail)
            #expect(stored[outside]?.level == "confidential", "\(String(describing: stored[outside]))")
            #expect(stored[outside]?.findings.contains("external_recipient") == true)
            #expect(stored[inside]?.level == "internal", "\(String(describing: stored[inside]))")
        }
    }
}
