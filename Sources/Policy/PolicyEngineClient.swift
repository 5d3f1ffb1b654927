import AsyncHTTPClient
import Contracts
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Talks to OPA over its REST API: an OPA sidecar in production, the local OPA engine
/// (`scripts/opa_server.py`) in development and tests. One code path for both.
///
/// Decisions fail closed: an unreachable, slow, erroring or undefined engine answers
/// `.unavailable` with the reason, never a decision. Decisions are cached by tenant policy
/// revision and the parts of the input a decision can depend on, so a policy change (a new
/// revision) is never answered from the cache: the user's own id is part of the key only when
/// that user has a user-scope policy (the policy reads it only to find that document), so the
/// users of one role, org and team share their entries.
public final class PolicyEngineClient: Sendable {
    public let baseURL: String
    let http: HTTPClient
    let timeout: TimeAmount
    let logger: Logger
    private let cache: DecisionCache?
    private let ownsClient: Bool
    /// When the engine last answered (ms since the epoch; 0 after a failure). Cached decisions
    /// are served only within `freshness` of it, so with the engine down nothing is allowed, not
    /// even from the cache: at most one real evaluation per `freshness` keeps it confirmed.
    private let lastAnswer = Atomic<Int64>(0)
    private let freshness: Int64
    /// Evaluations running, by what they decide.
    private let evaluations = Mutex<[DecisionCache.Key: Task<PolicyDecision, any Error>]>([:])

    /// - Parameters:
    ///   - baseURL: e.g. `http://127.0.0.1:8181`.
    ///   - timeout: longest wait for one decision.
    ///   - cacheSize: decisions kept (0 disables the cache).
    ///   - freshness: how long after the engine's last answer cached decisions are served.
    public init(
        baseURL: String, timeout: Duration = .milliseconds(500), cacheSize: Int = 100_000, cacheTTL: Duration = .seconds(60),
        freshness: Duration = .seconds(1), httpClient: HTTPClient? = nil, logger: Logger = Logger(label: "policy")
    ) {
        self.freshness = freshness.milliseconds
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        // Connecting is part of the wait for a decision: it gets the same bound.
        configuration.timeout = .init(connect: .milliseconds(timeout.milliseconds), read: .milliseconds(timeout.milliseconds))
        self.http = httpClient ?? HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.ownsClient = httpClient == nil
        self.timeout = .milliseconds(timeout.milliseconds)
        self.logger = logger
        self.cache = cacheSize > 0 ? DecisionCache(capacity: cacheSize, ttl: cacheTTL) : nil
    }

    /// Forgets every cached decision.
    public func clearCache() { cache?.clear() }

    public func shutdown() async {
        if ownsClient { try? await http.shutdown() }
    }

    /// The decision for `input` under the tenant's policy `revision`. Never throws: an engine
    /// that cannot answer is `.unavailable` with the reason.
    /// - Parameter userHasPolicy: whether the tenant's policies at `revision` hold a user-scope
    ///   policy for `input.user` (false: the decision is shared with the user's peers).
    public func decide(_ input: PolicyInput, revision: Int64, userHasPolicy: Bool = true) async -> PolicyAnswer {
        let key = DecisionCache.Key(revision: revision, input: input, userHasPolicy: userHasPolicy)
        if Clock.milliseconds() - lastAnswer.load(ordering: .relaxed) <= freshness, let cached = cache?.get(key) { return .decided(cached) }
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

    struct EvaluationFailed: Error, CustomStringConvertible {
        let description: String
    }

    private func evaluate(_ input: PolicyInput) async throws -> PolicyDecision {
        struct Request: Encodable { let input: PolicyInput }
        struct Answer: Decodable { let result: PolicyDecision? }
        var request = HTTPClientRequest(url: baseURL + "/v1/data/openclaw/decision/decision")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: Array(try JSONEncoder().encode(Request(input: input)))))
        let response = try await http.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw EvaluationFailed(description: "the policy engine answered \(response.status.code)")
        }
        guard let result = try JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView)).result else {
            throw EvaluationFailed(description: "no decision is defined (is the openclaw.decision policy loaded?)")
        }
        return result
    }

    // MARK: - Loading policies and data

    /// Replaces the Rego module `id`.
    public func putPolicy(id: String, source: String) async throws {
        try await send(.PUT, "/v1/policies/" + id, body: ByteBuffer(string: source), contentType: "text/plain")
    }

    /// Replaces the document at `data.<path>` (path segments joined with `/`).
    public func putData(path: String, json: Data) async throws {
        try await send(.PUT, "/v1/data/" + path, body: ByteBuffer(bytes: Array(json)), contentType: "application/json")
    }

    /// Whether the engine answers and holds the policies: `true` at `data.<marker>` (the mark a
    /// complete load leaves; without a marker, OPA's `/health`). An engine that restarted
    /// answers but holds nothing, and is not healthy. Remembers the answer for the cache.
    @discardableResult
    public func isHealthy(marker: String? = nil) async -> Bool {
        let ok: Bool
        if let marker {
            ok = await holds(marker: marker) == true
        } else {
            var request = HTTPClientRequest(url: baseURL + "/health")
            request.method = .GET
            let response = try? await http.execute(request, timeout: timeout)
            _ = try? await response?.body.collect(upTo: 1 << 16)
            ok = response?.status == .ok
        }
        lastAnswer.store(ok ? Clock.milliseconds() : 0, ordering: .relaxed)
        return ok
    }

    /// Whether `data.<marker>` is `true` in the engine; nil when the engine did not answer.
    public func holds(marker: String) async -> Bool? {
        struct Answer: Decodable { let result: Bool? }
        var request = HTTPClientRequest(url: baseURL + "/v1/data/" + marker)
        request.method = .GET
        guard let response = try? await http.execute(request, timeout: timeout),
            let body = try? await response.body.collect(upTo: 1 << 16), response.status == .ok,
            let answer = try? JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView))
        else { return nil }
        return answer.result == true
    }

    private func send(_ method: HTTPMethod, _ path: String, body: ByteBuffer, contentType: String) async throws {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(body)
        let response = try await http.execute(request, timeout: .seconds(10))
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw EvaluationFailed(description: "\(method) \(path): \(response.status.code) \(String(buffer: answer))")
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
