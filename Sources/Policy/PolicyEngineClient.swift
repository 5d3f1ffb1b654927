import AsyncHTTPClient
import Contracts
import Foundation
import Logging
import Synchronization

/// Asks the OPA engine for decisions and loads it, through a `PolicyTransport`: OPA's REST API
/// (an OPA sidecar in production, the local engine `scripts/opa_server.py` in development) or the
/// engine in process (`EmbeddedPolicyEngine`). One code path above the transport.
///
/// Decisions fail closed: an unreachable, slow, erroring or undefined engine answers
/// `.unavailable` with the reason, never a decision. Decisions are cached by tenant policy
/// revision and the parts of the input a decision can depend on, so a policy change (a new
/// revision) is never answered from the cache: the user's own id is part of the key only when
/// that user has a user-scope policy (the policy reads it only to find that document), so the
/// users of one role, org and team share their entries.
public final class PolicyEngineClient: Sendable {
    public let transport: any PolicyTransport
    let logger: Logger
    private let cache: DecisionCache?
    /// When the engine last answered (ms since the epoch; 0 after a failure). Cached decisions
    /// are served only within `freshness` of it, so with the engine down nothing is allowed, not
    /// even from the cache: at most one real evaluation per `freshness` keeps it confirmed.
    private let lastAnswer = Atomic<Int64>(0)
    private let freshness: Int64
    /// Evaluations running, by what they decide.
    private let evaluations = Mutex<[DecisionCache.Key: Task<PolicyDecision, any Error>]>([:])
    /// Decisions answered from the cache, and by the engine (shared evaluations count once each).
    private let answeredFromCache = Atomic<Int>(0)
    private let answeredByEngine = Atomic<Int>(0)

    /// - Parameters:
    ///   - transport: how the engine is reached.
    ///   - cacheSize: decisions kept (0 disables the cache).
    ///   - freshness: how long after the engine's last answer cached decisions are served.
    public init(
        transport: any PolicyTransport, cacheSize: Int = 100_000, cacheTTL: Duration = .seconds(60), freshness: Duration = .seconds(1),
        logger: Logger = Logger(label: "policy")
    ) {
        self.transport = transport
        self.freshness = freshness.milliseconds
        self.logger = logger
        self.cache = cacheSize > 0 ? DecisionCache(capacity: cacheSize, ttl: cacheTTL) : nil
    }

    /// An engine behind OPA's REST API at `baseURL` (e.g. `http://127.0.0.1:8181`), waiting at
    /// most `timeout` for a decision.
    public convenience init(
        baseURL: String, timeout: Duration = .milliseconds(500), cacheSize: Int = 100_000, cacheTTL: Duration = .seconds(60),
        freshness: Duration = .seconds(1), httpClient: HTTPClient? = nil, logger: Logger = Logger(label: "policy")
    ) {
        self.init(
            transport: RESTPolicyTransport(baseURL: baseURL, timeout: timeout, httpClient: httpClient), cacheSize: cacheSize,
            cacheTTL: cacheTTL, freshness: freshness, logger: logger)
    }

    /// The engine a configuration names: `embedded` for the engine in process (its C library at
    /// `library`), otherwise the URL of OPA's REST API.
    public static func transport(engine: String, library: String, timeout: Duration, httpClient: HTTPClient? = nil) -> any PolicyTransport {
        engine == embeddedEngine
            ? EmbeddedPolicyEngine(libraryPath: library) : RESTPolicyTransport(baseURL: engine, timeout: timeout, httpClient: httpClient)
    }

    /// The engine setting that selects the engine in process.
    public static let embeddedEngine = "embedded"

    /// Where the engine is: its URL, or `embedded (<library>)`.
    public var location: String { transport.location }

    /// Decisions asked for so far: answered from the cache, and not.
    public var decisionCounts: (cached: Int, uncached: Int) {
        (answeredFromCache.load(ordering: .relaxed), answeredByEngine.load(ordering: .relaxed))
    }

    /// `oc_policy_decisions_total{source="cache"|"engine"}` in Prometheus' text format.
    public var metricsText: String {
        let counts = decisionCounts
        return """
            # HELP oc_policy_decisions_total Policy decisions asked for, by where the answer came from.
            # TYPE oc_policy_decisions_total counter
            oc_policy_decisions_total{source="cache"} \(counts.cached)
            oc_policy_decisions_total{source="engine"} \(counts.uncached)

            """
    }

    /// Forgets every cached decision.
    public func clearCache() { cache?.clear() }

    public func shutdown() async { await transport.shutdown() }

    /// The decision for `input` under the tenant's policy `revision`. Never throws: an engine
    /// that cannot answer is `.unavailable` with the reason.
    /// - Parameter userHasPolicy: whether the tenant's policies at `revision` hold a user-scope
    ///   policy for `input.user` (false: the decision is shared with the user's peers).
    public func decide(_ input: PolicyInput, revision: Int64, userHasPolicy: Bool = true) async -> PolicyAnswer {
        let key = DecisionCache.Key(revision: revision, input: input, userHasPolicy: userHasPolicy)
        if Clock.milliseconds() - lastAnswer.load(ordering: .relaxed) <= freshness, let cached = cache?.get(key) {
            answeredFromCache.add(1, ordering: .relaxed)
            return .decided(cached)
        }
        answeredByEngine.add(1, ordering: .relaxed)
        // Callers asking the same question at once share one evaluation: when the cache goes
        // stale under load, the engine is asked once, not by every caller at the same moment.
        let evaluation = evaluations.withLock { running in
            if let shared = running[key] { return shared }
            let started = Task { try await self.evaluate(input, key: key) }
            running[key] = started
            return started
        }
        do {
            return .decided(try await evaluation.value)
        } catch {
            return .unavailable(reason: "\(error)")
        }
    }

    /// Asks the engine, caches the answer, and forgets the evaluation (it is no longer shared).
    private func evaluate(_ input: PolicyInput, key: DecisionCache.Key) async throws -> PolicyDecision {
        defer { evaluations.withLock { $0[key] = nil } }
        do {
            let decision = try await evaluate(input)
            lastAnswer.store(Clock.milliseconds(), ordering: .relaxed)
            cache?.put(key, decision)
            return decision
        } catch {
            lastAnswer.store(0, ordering: .relaxed)
            logger.warning("policy engine unavailable; denying", metadata: ["error": "\(error)", "action": "\(input.action)"])
            throw error
        }
    }

    /// The engine's decision for `input`, uncached.
    public func evaluate(_ input: PolicyInput) async throws -> PolicyDecision {
        guard
            let result = try await transport.evaluate(
                "openclaw/decision/decision", input: Array(try JSONEncoder().encode(input)), as: PolicyDecision.self)
        else {
            throw PolicyTransportFailure(description: "no decision is defined (is the openclaw.decision policy loaded?)")
        }
        return result
    }

    // MARK: - Loading policies and data

    /// Replaces the Rego module `id`.
    public func putPolicy(id: String, source: String) async throws {
        try await transport.putPolicy(id: id, source: source)
    }

    /// Replaces the document at `data.<path>` (path segments joined with `/`).
    public func putData(path: String, json: Data) async throws {
        try await transport.putData(path: path, json: Array(json))
    }

    /// Whether the engine answers and holds the policies: `true` at `data.<marker>` (the mark a
    /// complete load leaves; without a marker, whether it answers at all). An engine that
    /// restarted answers but holds nothing, and is not healthy. Remembers the answer for the cache.
    @discardableResult
    public func isHealthy(marker: String? = nil) async -> Bool {
        let ok: Bool
        if let marker {
            ok = await holds(marker: marker) == true
        } else {
            ok = await transport.isAlive()
        }
        lastAnswer.store(ok ? Clock.milliseconds() : 0, ordering: .relaxed)
        return ok
    }

    /// Whether `data.<marker>` is `true` in the engine; nil when the engine did not answer.
    public func holds(marker: String) async -> Bool? {
        do {
            return try await transport.evaluate(marker, input: nil, as: Bool.self) == true
        } catch {
            return nil
        }
    }
}

/// Decisions by (revision, input), bounded and expiring.
final class DecisionCache: Sendable {
    struct Key: Hashable, Sendable {
        let revision: Int64
        let input: PolicyInput

        /// The user's id is left out of the key unless the user has a policy of their own.
        init(revision: Int64, input: PolicyInput, userHasPolicy: Bool) {
            self.revision = revision
            var shared = input
            if !userHasPolicy { shared.user = "" }
            self.input = shared
        }
    }

    private struct Entry {
        let decision: PolicyDecision
        let expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let capacity: Int
    private let ttl: Duration

    init(capacity: Int, ttl: Duration) {
        self.capacity = capacity
        self.ttl = ttl
    }

    func get(_ key: Key) -> PolicyDecision? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if entry.expires < .now {
                entries[key] = nil
                return nil
            }
            return entry.decision
        }
    }

    func clear() { entries.withLock { $0.removeAll() } }

    func put(_ key: Key, _ decision: PolicyDecision) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(decision: decision, expires: .now + ttl)
        }
    }
}
