import Contracts
import RedisClient
import WorkerRuntime

/// The `noop` kind: does no work but count itself (one `INCR` on the tenant's counter, the same
/// round trip every job of the peer benchmarks makes). Its payload can ask it to take a while,
/// fail, or record each run, which the tests and benchmarks use:
///
/// `{"sleep_ms": 0, "sleep_attempts": 0, "fail_attempts": 0, "fail_until_ms": 0, "poison": false, "record": false}`
/// - `sleep_ms`: sleep this long first (cancellable);
/// - `sleep_attempts`: sleep only while the attempt number is at most this (0: every attempt);
/// - `fail_attempts`: fail (retryably) while the attempt number is at most this;
/// - `fail_until_ms`: fail (retryably) until this time (ms since the epoch);
/// - `poison`: fail with a payload error (dead-lettered at once);
/// - `record`: also count runs per job id in `oc:{t:<tenant>}:noop:runs`.
struct NoopHandler: JobHandler {
    let kind = JobKind.noop

    struct Options: Decodable {
        var sleep_ms: Int?
        var sleep_attempts: Int?
        var fail_attempts: Int?
        var fail_until_ms: Int64?
        var poison: Bool?
        var record: Bool?
    }

    func handle(_ job: JobEnvelope, context: JobContext) async throws {
        let options: Options
        if job.payload.isEmpty || job.payload == Array("{}".utf8) {
            options = Options()
        } else {
            do {
                options = try job.decodePayload(Options.self)
            } catch {
                throw JobFailure(.deadLetter, error.message)
            }
        }
        if options.poison == true { throw JobFailure(.deadLetter, "poison payload: this job can never succeed") }
        let sleepAttempts = options.sleep_attempts ?? 0
        if let sleep = options.sleep_ms, sleep > 0, sleepAttempts <= 0 || context.attempt <= sleepAttempts {
            try await Task.sleep(for: .milliseconds(sleep))
        }
        if let failures = options.fail_attempts, context.attempt <= failures {
            throw JobFailure(.retry, "failing on purpose: attempt \(context.attempt) of \(failures) planned failures")
        }
        if let until = options.fail_until_ms, Clock.milliseconds() < until {
            throw JobFailure(.retry, "failing on purpose until \(until)")
        }
        var commands = [RedisCommand("INCR", [RedisKeys.noopCounter(tenant: job.tenant)])]
        if options.record == true {
            commands.append(RedisCommand("HINCRBY", [RedisKeys.tenantPrefix(job.tenant) + ":noop:runs", job.id, "1"]))
        }
        for reply in try await context.redis.send(commands) { try reply.orThrow("noop") }
    }
}
