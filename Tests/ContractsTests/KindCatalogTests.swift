import Contracts
import Foundation
import Testing

@Suite struct KindCatalogTests {
    @Test func everyKindIsInTheCatalogOnce() {
        let kinds = KindCatalog.contracts.map { $0.kind }
        #expect(Set(kinds).count == kinds.count)
        #expect(JobKind.all == kinds)
        #expect(
            Set(kinds.map(\.rawValue)) == ["connector-sync", "classifier", "auto-responder", "standup", "ocip-relay", "briefing", "noop"])
    }

    /// A payload admitted before is admitted alike from memory, for its kind and action only:
    /// the same payload under an action it does not fit is still refused.
    @Test func aRememberedPayloadIsAdmittedAlikeAndOnlyForItsAction() throws {
        let payload = JSONValue.parse(Array(#"{"connector":"jira"}"#.utf8))!.objectValue!
        let first = try KindCatalog.admit(kind: .connectorSync, action: .jiraRead, payload: payload)
        let again = try KindCatalog.admit(kind: .connectorSync, action: .jiraRead, payload: payload)
        #expect(first == again && first.actions == [.jiraRead] && first.payload == Array(#"{"connector":"jira"}"#.utf8))
        for _ in 0..<2 {
            #expect(throws: KindRejection.self) { try KindCatalog.admit(kind: .connectorSync, action: .gmailRead, payload: payload) }
            #expect(throws: KindRejection.self) { try KindCatalog.admit(kind: .classifier, action: .jiraRead, payload: payload) }
        }
    }

    @Test func unknownFieldsMissingFieldsAndWrongTypesAreRefused() throws {
        func problem(_ kind: JobKind, _ action: Action, _ payload: String) -> KindRejection? {
            do {
                _ = try KindCatalog.admit(kind: kind, action: action, payload: JSONValue.parse(Array(payload.utf8))!.objectValue!)
                return nil
            } catch {
                return error
            }
        }
        guard case .payload(let unknown)? = problem(.noop, .noopRun, #"{"sleep_ms":1,"nap":2}"#) else {
            Issue.record()
            return
        }
        #expect(unknown.message.contains("unknown field 'nap'"))
        guard case .payload(let missing)? = problem(.classifier, .gmailRead, #"{"item_id":"m1"}"#) else {
            Issue.record()
            return
        }
        #expect(missing.message.contains("needs field 'source'"))
        guard case .payload(let mismatch)? = problem(.classifier, .jiraRead, #"{"source":"gmail"}"#) else {
            Issue.record()
            return
        }
        #expect(mismatch.message.contains("names source gmail but the action is jira.read"))
        #expect(problem(.classifier, .gmailRead, #"{"source":"gmail"}"#) == nil)
        guard case .payload(let wrong)? = problem(.noop, .noopRun, #"{"poison":"yes"}"#) else {
            Issue.record()
            return
        }
        #expect(wrong.message.contains("'poison' must be true or false"))
        guard case .payload(let range)? = problem(.noop, .noopRun, #"{"sleep_ms":600001}"#) else {
            Issue.record()
            return
        }
        #expect(range.message.contains("sleep_ms"))
        guard case .payload(let negative)? = problem(.noop, .noopRun, #"{"fail_attempts":-1}"#) else {
            Issue.record()
            return
        }
        #expect(negative.message.contains("non-negative"))
        guard case .payload(let date)? = problem(.briefing, .gmailRead, #"{"date":"tomorrow"}"#) else {
            Issue.record()
            return
        }
        #expect(date.message.contains("date"))
        // What the noop handler reads is what the gateway accepts (once the two had drifted).
        #expect(problem(.noop, .noopRun, #"{"sleep_ms":10,"sleep_attempts":1,"fail_until_ms":5,"record":true}"#) == nil)
        #expect(problem(.briefing, .gcalRead, #"{"date":"2026-11-30"}"#) == nil)
    }

    @Test func aKindIsAdmittedOnlyUnderItsActions() {
        func rejection(_ kind: JobKind, _ action: Action, _ payload: [String: JSONValue]) -> KindRejection? {
            do {
                _ = try KindCatalog.admit(kind: kind, action: action, payload: payload)
                return nil
            } catch {
                return error
            }
        }
        guard case .action(let text)? = rejection(.autoResponder, .modelCall, ["channel": .string("gmail"), "message_id": .string("m")])
        else {
            Issue.record()
            return
        }
        #expect(text.contains("autorespond.send"))
        // A sync is submitted under its own connector's read.
        guard case .payload(let mismatch)? = rejection(.connectorSync, .jiraRead, ["connector": .string("gmail")]) else {
            Issue.record()
            return
        }
        #expect(mismatch.message.contains("names connector gmail but the action is jira.read"))
        #expect(rejection(.connectorSync, .gmailRead, ["connector": .string("gmail")]) == nil)
        // noop acts on nothing and takes any action name.
        #expect(rejection(.noop, .gmailSend, [:]) == nil)
    }

    @Test func actionsAreTypedAndTheirEffectsKnown() throws {
        #expect(throws: FleetError.self) { try Action("gmail") }
        #expect(throws: FleetError.self) { try Action("Gmail.read") }
        #expect(throws: FleetError.self) { try Action("gmail.read.more") }
        #expect(try Action("gmail.read") == .gmailRead)
        #expect(Action.gmailSend.isWrite)
        #expect(!Action.gmailRead.isWrite)
        #expect(Action.modelCall.effect == .model)
        #expect(Action.writes.contains(.autorespondSend))
        // Every kind's actions are known to the catalog, and every connector's read is a read.
        for contract in KindCatalog.contracts {
            for action in contract.actions ?? [] { #expect(Action.catalog[action] != nil, "\(contract.kind): \(action)") }
        }
        for connector in Connector.allCases {
            #expect(connector.readAction.effect == .read)
            #expect(Connector(action: connector.readAction) == connector)
        }
    }

    @Test func aQueuedPayloadDecodesAsItsKindsType() throws {
        let job = JobEnvelope(
            tenant: try TenantID("acme"), kind: .noop, action: .noopRun, payload: Array(#"{"sleep_ms":5,"record":true}"#.utf8),
            requester: Requester(user: "u"))
        let payload = try KindCatalog.decode(NoopKind.self, job)
        #expect(payload == NoopKind.Payload(sleepMs: 5, record: true))
        var bad = job
        bad.payload = Array(#"{"sleep_ms":"soon"}"#.utf8)
        #expect(throws: PayloadError.self) { try KindCatalog.decode(NoopKind.self, bad) }
        bad.payload = Array("[]".utf8)
        #expect(throws: PayloadError.self) { try KindCatalog.decode(NoopKind.self, bad) }
    }
}
