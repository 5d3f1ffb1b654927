/// `noop`: does no work but count itself (one Redis `INCR`, the round trip every job of the peer
/// benchmarks makes). It acts on nothing outside the fleet, so it may be submitted under any
/// action name; tests and benchmarks use its options to make it slow, fail or record its runs.
public enum NoopKind: KindContract {
    public static let kind = JobKind.noop
    public static let summary = "Does nothing but count itself (benchmarks and tests)."
    public static let actions: Set<Action>? = nil

    /// The tenant counter every run increments.
    public static let doneCounter = "noop:done"
    /// The tenant hash of runs per job id (payload `record`).
    public static let runsCounter = "noop:runs"

    public struct Payload: KindPayload {
        /// Sleep this long first (cancellable).
        public var sleepMs: Int?
        /// Sleep only while the attempt number is at most this (0: every attempt).
        public var sleepAttempts: Int?
        /// Fail (retryably) while the attempt number is at most this.
        public var failAttempts: Int?
        /// Fail (retryably) until this time (ms since the epoch).
        public var failUntilMs: Int64?
        /// Fail with a payload error (dead-lettered at once).
        public var poison: Bool?
        /// Also count runs per job id.
        public var record: Bool?

        public init(
            sleepMs: Int? = nil, sleepAttempts: Int? = nil, failAttempts: Int? = nil, failUntilMs: Int64? = nil, poison: Bool? = nil,
            record: Bool? = nil
        ) {
            self.sleepMs = sleepMs
            self.sleepAttempts = sleepAttempts
            self.failAttempts = failAttempts
            self.failUntilMs = failUntilMs
            self.poison = poison
            self.record = record
        }

        enum CodingKeys: String, CodingKey {
            case sleepMs = "sleep_ms"
            case sleepAttempts = "sleep_attempts"
            case failAttempts = "fail_attempts"
            case failUntilMs = "fail_until_ms"
            case poison, record
        }

        public static let schema = PayloadSchema([
            .init("sleep_ms", .integer(0...600_000), "sleep this long (ms) before finishing"),
            .init("sleep_attempts", .integer(0...1000), "sleep only while the attempt is at most this (0: every attempt)"),
            .init("fail_attempts", .integer(0...1000), "fail (retryably) while the attempt is at most this"),
            .init("fail_until_ms", .integer(0...Int64(Int32.max) * 1000), "fail (retryably) until this time (ms since the epoch)"),
            .init("poison", .boolean, "fail with a payload error: dead-lettered at once"),
            .init("record", .boolean, "count runs per job id"),
        ])
    }
}
