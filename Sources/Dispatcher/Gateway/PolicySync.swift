import Contracts
import Foundation
import Logging
import PolicyClient
import ServiceLifecycle
import Synchronization

/// Keeps this Dispatcher's policy engine current: pushes the Rego modules at start, then every
/// tenant whose policy revision changed (polling Redis every `interval`, so a change is
/// effective everywhere within seconds, well inside a minute). Decisions are cached under the
/// revision pushed here, so the cache never outlives a change.
final class PolicySync: Service, Sendable {
    let store: PolicyStore
    let engine: PolicyEngineClient
    let policyDirectory: String?
    let interval: Duration
    let logger: Logger
    private let pushed = Mutex<[TenantID: Int64]>([:])
    private let modulesLoaded = Atomic<Bool>(false)

    init(store: PolicyStore, engine: PolicyEngineClient, policyDirectory: String?, interval: Duration, logger: Logger) {
        self.store = store
        self.engine = engine
        self.policyDirectory = policyDirectory
        self.interval = interval
        self.logger = logger
    }

    /// The revision of `tenant`'s policies in this Dispatcher's engine (0: none pushed).
    func revision(of tenant: TenantID) -> Int64 { pushed.withLock { $0[tenant] ?? 0 } }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.syncOnce()
                } catch {
                    self.logger.warning("policy sync failed; retrying", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: self.interval)
            }
        }
    }

    /// Pushes the modules (once) and every tenant whose revision moved.
    func syncOnce() async throws {
        if !modulesLoaded.load(ordering: .acquiring) {
            try await pushModules()
            modulesLoaded.store(true, ordering: .releasing)
        }
        for (tenant, revision) in try await store.revisions() where revision != self.revision(of: tenant) {
            try await push(tenant, revision: revision)
        }
    }

    /// Loads `tenant`'s documents into the engine now.
    func push(_ tenant: TenantID, revision: Int64) async throws {
        let document = try await store.engineDocument(tenant, revision: revision)
        try await engine.putData(path: "openclaw/tenants/\(tenant.rawValue)", json: document)
        pushed.withLock { $0[tenant] = max($0[tenant] ?? 0, revision) }
        logger.info("policies loaded into the engine", metadata: ["tenant": "\(tenant)", "revision": "\(revision)"])
    }

    private func pushModules() async throws {
        guard let policyDirectory else { return }
        let root = URL(fileURLWithPath: policyDirectory)
        guard let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw FleetError(.invalidConfiguration, "policy directory \(policyDirectory) not found")
        }
        var count = 0
        for case let file as URL in files where file.pathExtension == "rego" && !file.lastPathComponent.hasSuffix("_test.rego") {
            let id = file.path.replacingOccurrences(of: root.path + "/", with: "")
            try await engine.putPolicy(id: id, source: try String(contentsOf: file, encoding: .utf8))
            count += 1
        }
        logger.info("policy modules loaded into the engine", metadata: ["modules": "\(count)"])
    }
}
