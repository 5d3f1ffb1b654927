import Contracts
import WorkerRuntime

/// The `noop` kind (`NoopKind`): does no work but count itself, one `INCR` on the tenant's
/// counter (the same round trip every job of the peer benchmarks makes). Its payload can ask it
/// to take a while, fail, or record each run, which the tests and benchmarks use.
struct NoopHandler: KindHandler {
    typealias Contract = NoopKind

    func handle(_ options: NoopKind.Payload, context: HandlerContext) async throws {
        if options.poison == true { throw JobFailure(.deadLetter, "poison payload: this job can never succeed") }
        let sleepAttempts = options.sleepAttempts ?? 0
        if let sleep = options.sleepMs, sleep > 0, sleepAttempts <= 0 || context.attempt <= sleepAttempts {
            try await Task.sleep(for: .milliseconds(sleep))
        }
        if let failures = options.failAttempts, context.attempt <= failures {
            throw JobFailure(.retry, "failing on purpose: attempt \(context.attempt) of \(failures) planned failures")
        }
        if let until = options.failUntilMs, Clock.milliseconds() < until {
            throw JobFailure(.retry, "failing on purpose until \(until)")
        }
        var counters: [(name: String, field: String?)] = [(NoopKind.doneCounter, nil)]
        if options.record == true { counters.append((NoopKind.runsCounter, context.job.id)) }
        try await context.increment(counters)
    }
}
