import AuditLog
import Contracts
import Foundation
import TestSupport
import Testing

@testable import WorkerRuntime

/// The handler context on the in-memory fakes: what a handler's run-time checks, audit entries
/// and follow-ups look like, without servers.
@Suite struct HandlerContextTests {
    func job(_ classification: Classification = .internal, attempt: Int = 1) throws -> JobEnvelope {
        JobEnvelope(
            tenant: try TenantID("acme"), kind: .connectorSync, action: .gmailRead, payload: Array(#"{"connector":"gmail"}"#.utf8),
            classification: classification, requester: Requester(user: "alice", org: "eng", team: "core", roles: [.user]),
            requestID: "req-1", attempt: attempt,
            admission: PolicyDecision(decision: .allow, policyApplied: "enterprise/actions", reason: "allowed"))
    }

    @Test func aRunTimeDecisionIsAskedForTheRequesterAndAuditedOncePerStep() async throws {
        let fakes = HandlerFakes()
        let job = try job()
        let decision = try await fakes.context(for: job).authorize(.gmailRead, target: "inbox", step: "list")
        #expect(decision.decision == .allow)
        // The same step again (a redelivery) writes no second entry.
        _ = try await fakes.context(for: job).authorize(.gmailRead, target: "inbox", step: "list")
        let asked = fakes.policy.asked.withLock { $0 }
        #expect(asked.count == 2)
        #expect(asked.first?.user == "alice")
        #expect(asked.first?.classification == .internal)
        let events = fakes.audit.events.withLock { $0 }
        #expect(events.count == 1)
        #expect(events.first?.actionType == "policy_decision")
        #expect(events.first?.requestID == "req-1")
        #expect(events.first?.eventKey.hasPrefix("job:") == true)
    }

    @Test func anEngineThatCannotAnswerPostponesTheJob() async throws {
        let fakes = HandlerFakes()
        fakes.policy.answer.withLock { $0 = .unavailable(reason: "engine down") }
        do {
            try await fakes.context(for: try job()).authorize(.gmailRead, step: "list")
            Issue.record("the action was allowed with no engine")
        } catch let failure as JobFailure {
            #expect(failure.disposition == .postpone(HandlerContext.policyRetry))
        }
        #expect(fakes.audit.events.withLock { $0.isEmpty })
    }

    @Test func aDenialFailsTheJobAfterItsAuditedDecision() async throws {
        let fakes = HandlerFakes()
        fakes.policy.answer.withLock {
            $0 = .decided(PolicyDecision(decision: .deny, policyApplied: "enterprise/actions", reason: "gmail.read is blocked"))
        }
        do {
            try await fakes.context(for: try job()).authorize(.gmailRead, step: "list")
            Issue.record("a denied action was allowed")
        } catch let failure as JobFailure {
            #expect(failure.disposition == .fail)
            #expect(failure.message.contains("blocked"))
        }
        #expect(fakes.audit.events.withLock { $0.map(\.outcome) } == [.denied])
    }

    @Test func aStepIsCheckedAtTheJobsLevelOrHigher() async throws {
        let fakes = HandlerFakes()
        let context = fakes.context(for: try job(.confidential))
        _ = try await context.decide(.modelCall, classification: .public, step: "summary")
        _ = try await context.decide(.modelCall, classification: .restricted, step: "secret")
        #expect(fakes.policy.asked.withLock { $0.map(\.classification) } == [.confidential, .restricted])
    }

    @Test func followUpsCarryTheJobsLevelAndAreKeyedByStep() async throws {
        let fakes = HandlerFakes()
        let context = fakes.context(for: try job(.confidential))
        let outcome = try await context.followUp(
            ClassifierKind.self, action: .gmailRead, payload: .init(source: .gmail, itemID: "m1"), classification: .internal,
            step: "classify:1")
        guard case .queued = outcome else {
            Issue.record("\(outcome)")
            return
        }
        _ = try await context.followUp(
            ClassifierKind.self, action: .gmailRead, payload: .init(source: .gmail, itemID: "m1"), step: "classify:1")
        let submitted = fakes.followUps.submitted.withLock { $0 }
        #expect(submitted.count == 1)
        #expect(submitted.first?.0.job.classification == .confidential)
        #expect(submitted.first?.0.job.kind == .classifier)
        #expect(String(decoding: submitted.first?.0.job.payload ?? [], as: UTF8.self) == #"{"item_id":"m1","source":"gmail"}"#)
    }

    @Test func stepsAreAuditedWithKeysFromJobAndStep() async throws {
        let fakes = HandlerFakes()
        let job = try job()
        let first = fakes.context(for: job)
        try await first.audit.record(
            .dataAccess, step: "page:1", dataAccessed: [.init(source: "gmail", classification: .internal, purpose: "sync")])
        try await first.audit.record(.dataAccess, step: "page:1")
        try await first.audit.record(.modelCall, step: "summary", model: ("local", 120))
        // A retry is a new generation of the job: its steps are its own.
        var retried = job
        retried.attempt = 2
        try await fakes.context(for: retried).audit.record(.dataAccess, step: "page:1")
        let events = fakes.audit.events.withLock { $0 }
        #expect(events.map(\.actionType) == ["data_access", "model_call", "data_access"])
        #expect(events[1].modelUsed == "local")
        #expect(events[1].modelTokens == 120)
        #expect(Set(events.map(\.eventKey)).count == 3)
    }

    @Test func theTenantDatabaseIsTheJobsTenants() async throws {
        let fakes = HandlerFakes()
        let context = fakes.context(for: try job())
        _ = try await context.database { sql in try await sql.query("SELECT 1", []) }
        #expect(fakes.database.statements.withLock { $0.map(\.tenant.rawValue) } == ["acme"])
    }
}
