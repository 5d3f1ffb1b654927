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
/// `.unavailable` with the reason, never a decision. Decisions are cached by tenant, what the
/// tenant's policies say (`PolicyContent`) and the parts of the input a decision can depend on,
/// so a policy change (new content) is never answered from the cache. Tenants whose documents
/// are the same do not share entries: an engine shared by several processes (the local engine
/// serves the Dispatcher and the workers) may hold a tenant's newer documents, pushed by another
/// process, and a decision on those must not reach another tenant. The policy reads the
/// requester's user, org and team only to find the documents of those scopes, so each is part
/// of the key only where the tenant has such a document bearing on the action
/// (`RequesterScopes`, `ScopeBearing`); it does not read the roles, target or channel at all
/// (`PolicyCacheKeyTests` holds the Rego to that). Ten thousand users of a tenant without org,
/// team or user policies share one entry per question.
public final class PolicyEngineClient: Sendable {
    public let transport: any PolicyTransport
    let logger: Logger
    private let cache: DecisionCache?
    /// When the engine last answered (ms since the epoch; 0 after a failure). Cached decisions
    /// are served only within `freshness` of it, so with the engine down nothing is allowed, not
    /// even from the cache. While the cache answers, one confirmation (the engine asked whether
    /// it holds the load) every half `freshness` keeps it confirmed: started in the background by
    /// the first hit past the half, and waited for by hits past the whole, so a lapse costs one
    /// question to the engine, not one evaluation per request arriving meanwhile.
    private let lastAnswer = Atomic<Int64>(0)
    private let freshness: Int64
    /// The confirmation under way, if one is.
    private let confirmation = Mutex<Task<Bool, Never>?>(nil)
    /// When the engine last failed to answer (ms since the epoch; 0: not since it last
    /// answered). For `freshness` after that, decisions are refused at once instead of each
    /// waiting out the engine's timeout (an HTTP client retries a refused connection until its
    /// deadline): the engine is tried again at most once per `freshness` while it is down.
    private let lastFailure = Atomic<Int64>(0)
    /// Evaluations running, by what they decide.
    private let evaluations = Mutex<[DecisionCache.Key: Task<PolicyDecision, any Error>]>([:])
    /// Decisions answered from the cache, and by the engine (shared evaluations count once each).
    private let answeredFromCache = Atomic<Int>(0)
    private let answeredByEngine = Atomic<Int>(0)
    /// Decisions refused without asking the engine: it failed a moment ago, or did not confirm.
    private let refusedUnasked = Atomic<Int>(0)

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

    /// Decisions asked for so far: answered from the cache, by the engine (or its failure to
    /// answer), and refused without asking it (it failed a moment ago, or did not confirm).
    public var decisionCounts: (cached: Int, uncached: Int, refused: Int) {
        (answeredFromCache.load(ordering: .relaxed), answeredByEngine.load(ordering: .relaxed), refusedUnasked.load(ordering: .relaxed))
    }

    /// `oc_policy_decisions_total{source="cache"|"engine"|"refused"}` in Prometheus' text format.
    public var metricsText: String {
        let counts = decisionCounts
        return """
            # HELP oc_policy_decisions_total Policy decisions asked for, by where the answer came from.
            # TYPE oc_policy_decisions_total counter
            oc_policy_decisions_total{source="cache"} \(counts.cached)
            oc_policy_decisions_total{source="engine"} \(counts.uncached)
            oc_policy_decisions_total{source="refused"} \(counts.refused)

            """
    }

    /// Forgets every cached decision.
    public func clearCache() { cache?.clear() }

    public func shutdown() async { await transport.shutdown() }

    /// The decision for `input` under the tenant's policies, which say `policies`. Never throws:
    /// an engine that cannot answer is `.unavailable` with the reason.
    /// - Parameters:
    ///   - scopes: which of the requester's scopes have documents in the tenant's policies that
    ///     bear on the action (those that do not are left out of the cache key: the decision is
    ///     shared with the requester's peers).
    ///   - marker: the document a complete load leaves in the engine (`PolicySync.marker`): what
    ///     a confirmation asks for. Without one, a confirmation asks whether the engine answers.
    public func decide(
        _ input: PolicyInput, policies: PolicyContent, scopes: RequesterScopes = .all, marker: String? = nil
    ) async
        -> PolicyAnswer
    {
        let failedAt = lastFailure.load(ordering: .relaxed)
        if failedAt > 0, Clock.milliseconds() - failedAt < max(freshness, 1) {
            refusedUnasked.add(1, ordering: .relaxed)
            return .unavailable(reason: "the policy engine did not answer a moment ago (\(transport.location)); it is asked again shortly")
        }
        let key = DecisionCache.Key(policies: policies, input: input, scopes: scopes)
        if let cached = cache?.get(key) {
            // An engine that does not confirm is not asked again for this request: it just
            // failed to answer.
            guard await isConfirmed(marker: marker) else {
                refusedUnasked.add(1, ordering: .relaxed)
                logger.warning("policy engine unavailable; denying", metadata: ["action": "\(input.action)"])
                return .unavailable(reason: "the policy engine did not answer (\(transport.location))")
            }
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

    /// Whether the engine answered within `freshness`, confirming it if needed: a hit past half
    /// of it starts a confirmation and goes on; a hit past all of it waits for one.
    private func isConfirmed(marker: String?) async -> Bool {
        let age = Clock.milliseconds() - lastAnswer.load(ordering: .relaxed)
        if age <= freshness / 2 { return true }
        let confirming = confirmation.withLock { running in
            if let running { return running }
            let started = Task {
                let ok = await self.isHealthy(marker: marker)
                self.confirmation.withLock { $0 = nil }
                return ok
            }
            running = started
            return started
        }
        if age <= freshness { return true }
        return await confirming.value
    }

    /// Asks the engine, caches the answer, and forgets the evaluation (it is no longer shared).
    private func evaluate(_ input: PolicyInput, key: DecisionCache.Key) async throws -> PolicyDecision {
        defer { evaluations.withLock { $0[key] = nil } }
        do {
            let decision = try await evaluate(input)
            lastAnswer.store(Clock.milliseconds(), ordering: .relaxed)
            lastFailure.store(0, ordering: .relaxed)
            cache?.put(key, decision)
            return decision
        } catch {
            lastAnswer.store(0, ordering: .relaxed)
            // An engine that answered "undefined" answered: it is asked again at once.
            if !(error is UndefinedDecision) { lastFailure.store(Clock.milliseconds(), ordering: .relaxed) }
            logger.warning("policy engine unavailable; denying", metadata: ["error": "\(error)", "action": "\(input.action)"])
            throw error
        }
    }

    /// The engine's decision for `input`, uncached.
    public func evaluate(_ input: PolicyInput) async throws -> PolicyDecision {
        guard let result = try await transport.evaluate("openclaw/decision/decision", input: input.json) else {
            throw UndefinedDecision()
        }
        return try PolicyDecision(json: result)
    }

    // MARK: - Loading policies and data

    /// Replaces the Rego module `id`.
    public func putPolicy(id: String, source: String) async throws {
        try await transport.putPolicy(id: id, source: source)
        lastFailure.store(0, ordering: .relaxed)
    }

    /// Replaces the document at `data.<path>` (path segments joined with `/`).
    public func putData(path: String, json: Data) async throws {
        try await transport.putData(path: path, json: Array(json))
        lastFailure.store(0, ordering: .relaxed)
    }

    /// Whether the engine answers and holds the policies: `true` at `data.<marker>` (the mark a
    /// complete load leaves; without a marker, whether it answers at all). An engine that
    /// restarted answers but holds nothing, and is not healthy. Remembers the answer for the cache.
    @discardableResult
    public func isHealthy(marker: String? = nil) async -> Bool {
        let answer: Bool?
        if let marker {
            answer = await holds(marker: marker)
        } else {
            answer = await transport.isAlive() ? true : nil
        }
        let ok = answer == true
        lastAnswer.store(ok ? Clock.milliseconds() : 0, ordering: .relaxed)
        // Only an engine that did not answer at all is left alone for a while; one that answered
        // without the load (restarted, being loaded) is asked again at once.
        lastFailure.store(answer == nil ? Clock.milliseconds() : 0, ordering: .relaxed)
        return ok
    }

    /// Whether `data.<marker>` is `true` in the engine; nil when the engine did not answer.
    public func holds(marker: String) async -> Bool? {
        do {
            return try await transport.evaluate(marker, input: nil) == .bool(true)
        } catch {
            return nil
        }
    }
}

/// Decisions by (the tenant's policy content, input), bounded and expiring.
final class DecisionCache: Sendable {
    struct Key: Hashable, Sendable {
        let policies: PolicyContent
        let input: PolicyInput

        /// The user, team and org are left out of the key unless the tenant has a document of
        /// that scope for them bearing on the action (a team's documents are named by org and
        /// team); the roles, target and channel always are: the policy does not read them.
        init(policies: PolicyContent, input: PolicyInput, scopes: RequesterScopes) {
            self.policies = policies
            var shared = input
            if !scopes.user { shared.user = "" }
            if !scopes.team { shared.team = "" }
            if !scopes.org && !scopes.team { shared.org = "" }
            shared.roles = []
            shared.target = ""
            shared.channel = ""
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

/// Which of a requester's scopes have documents of their own in the tenant's policies: the
/// parts of the requester a decision can depend on.
public struct RequesterScopes: Sendable, Equatable {
    public var user: Bool
    public var org: Bool
    /// The requester's team within their org (`<org>:<team>`).
    public var team: Bool

    public init(user: Bool, org: Bool, team: Bool) {
        self.user = user
        self.org = org
        self.team = team
    }

    /// Every scope counted (no sharing): for callers that do not know the tenant's documents.
    public static let all = RequesterScopes(user: true, org: true, team: true)
}

/// The engine answered, but the decision document is undefined (its policy not loaded).
struct UndefinedDecision: Error, CustomStringConvertible {
    var description: String { "no decision is defined (is the openclaw.decision policy loaded?)" }
}
