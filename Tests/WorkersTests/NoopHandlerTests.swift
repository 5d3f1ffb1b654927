import Contracts
import TestSupport
import Testing
import WorkerRuntime

@testable import Workers

/// The noop handler's logic on the fakes (its process wiring is in WorkerProcessTests).
@Suite struct NoopHandlerTests {
    func job(_ tenant: String, _ payload: String = "{}") throws -> JobEnvelope {
        JobEnvelope(
            tenant: try TenantID(tenant), kind: .noop, action: .noopRun, payload: Array(payload.utf8), requester: Requester(user: "u"))
    }

    func run(_ job: JobEnvelope, _ fakes: HandlerFakes, attempt: Int = 1) async throws {
        let handler = RegisteredHandler(NoopHandler())
        try await handler.run(job, context: fakes.context(for: job, attempt: attempt))
    }

    @Test func countsItselfUnderItsTenantAndRecordsRunsWhenAsked() async throws {
        let fakes = HandlerFakes()
        let plain = try job("acme")
        let recorded = try job("acme", #"{"record":true}"#)
        try await run(plain, fakes)
        try await run(recorded, fakes)
        try await run(try job("other"), fakes)
        #expect(fakes.counters.value(try TenantID("acme"), NoopKind.doneCounter) == 2)
        #expect(fakes.counters.value(try TenantID("other"), NoopKind.doneCounter) == 1)
        #expect(fakes.counters.value(try TenantID("acme"), NoopKind.runsCounter, field: recorded.id) == 1)
    }

    @Test func failsAsItsPayloadAsks() async throws {
        let fakes = HandlerFakes()
        await #expect {
            try await run(try job("acme", #"{"poison":true}"#), fakes)
        } throws: { ($0 as? JobFailure)?.disposition == .deadLetter }
        await #expect {
            try await run(try job("acme", #"{"fail_attempts":2}"#), fakes, attempt: 2)
        } throws: { ($0 as? JobFailure)?.disposition == .retry }
        try await run(try job("acme", #"{"fail_attempts":2}"#), fakes, attempt: 3)
        #expect(fakes.counters.value(try TenantID("acme"), NoopKind.doneCounter) == 1)
    }
}
