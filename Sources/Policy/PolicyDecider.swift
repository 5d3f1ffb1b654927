import Contracts

/// Decisions for one process: asks the engine this process keeps loaded (`PolicySync`), under
/// the content of the tenant's policies it loaded. Nothing is decided for a tenant whose
/// policies this process has not loaded (at start, after an engine restart, after a failed
/// load): the answer is `.unavailable`, and callers fail closed.
public struct PolicyDecider: Sendable {
    public let engine: PolicyEngineClient
    public let sync: PolicySync

    public init(engine: PolicyEngineClient, sync: PolicySync) {
        self.engine = engine
        self.sync = sync
    }

    /// The decision for `identity` doing `action` on data of `classification`.
    /// - Parameter channel: where the request comes from: `api`, `schedule`, `worker`, `approval`.
    public func decide(
        _ identity: Identity, action: Action, classification: Classification, target: String = "", channel: PolicyChannel = .api,
        model: PolicyInput.Model? = nil
    ) async -> PolicyAnswer {
        guard sync.isLoaded(for: identity.tenant) else {
            return .unavailable(reason: "this process has not loaded the tenant's policies into the policy engine yet")
        }
        let input = PolicyInput(
            tenant: identity.tenant, requester: identity.requester, action: action, classification: classification, target: target,
            channel: channel.rawValue, model: model)
        let loaded = sync.loaded(identity.tenant, requester: identity.requester, action: action)
        return await engine.decide(input, policies: loaded.content, scopes: loaded.scopes, marker: sync.marker)
    }

    /// Whether the engine answers and holds this process's load (readiness).
    @discardableResult
    public func isHealthy() async -> Bool { await engine.isHealthy(marker: sync.marker) }
}

/// Where a request for a decision comes from (`input.channel`).
public enum PolicyChannel: String, Sendable {
    case api
    case schedule
    case approval
    /// A worker re-checking an action at run time, or submitting a follow-up job.
    case worker
}
