import Contracts
import FleetConcurrency
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps this process's policy engine current: pushes the Rego modules at start, then every
/// tenant whose policy revision changed (polling Redis every `interval`, so a change is
/// effective everywhere within seconds, well inside a minute). Decisions are cached under the
/// content of the documents pushed here, so the cache never outlives a change.
///
/// A complete load ends with a marker document of this process in the engine. An engine that
/// restarted (a sidecar holds everything in memory) has lost it: the next round loads the
/// modules and every tenant again, and until then the engine is not healthy, so nothing is
/// decided from the cache either. Pushes run one at a time, so a slower push of an older
/// revision never lands after a newer one.
public final class PolicySync: Service, Sendable {
    let store: PolicyStore
    let engine: PolicyEngineClient
    let policyDirectory: String?
    let interval: Duration
    let logger: Logger
    /// `data.<marker>` is `true` in the engine after this process's complete load.
    public let marker = "openclaw/loaded/" + UUID().uuidString.lowercased()
    /// What this process pushed of each tenant: the revision, and which users, orgs and teams
    /// have documents of their own.
    private let pushed = Mutex<[TenantID: Pushed]>([:])
    /// Tenants whose last load failed.
    private let failed = Mutex<Set<TenantID>>([])
    private let loaded = Atomic<Bool>(false)
    private let oneAtATime = Turnstile()

    public init(store: PolicyStore, engine: PolicyEngineClient, policyDirectory: String?, interval: Duration, logger: Logger) {
        self.store = store
        self.engine = engine
        self.policyDirectory = policyDirectory
        self.interval = interval
        self.logger = logger
    }

    /// The revision of `tenant`'s policies in this process's engine (0: none pushed).
    public func revision(of tenant: TenantID) -> Int64 { pushed.withLock { $0[tenant]?.revision ?? 0 } }

    /// What `tenant`'s policies in the engine say, and which of `requester`'s scopes have
    /// documents in them that bear on `action` (read together, so they always describe the
    /// same load).
    public func loaded(_ tenant: TenantID, requester: Requester, action: Action) -> (content: PolicyContent, scopes: RequesterScopes) {
        pushed.withLock { pushed in
            guard let tenant = pushed[tenant] else { return (.none, .all) }
            return (tenant.document.content, tenant.document.scopes(of: requester, action: action))
        }
    }

    struct Pushed {
        let revision: Int64
        let document: EngineDocument
    }

    /// Whether the engine holds this process's load and `tenant`'s policies did not fail to
    /// load: until then nothing is decided for the tenant (fail closed, as unavailable).
    public func isLoaded(for tenant: TenantID) -> Bool {
        loaded.load(ordering: .acquiring) && !failed.withLock { $0.contains(tenant) }
    }

    public func run() async throws {
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

    /// Loads everything when the engine does not hold this process's load (first round, or
    /// the engine restarted), then every tenant whose revision moved. Tenants load before the
    /// modules, so nothing is decided (or cached) on modules without their data. A tenant that
    /// fails to load is logged and tried again next round; it does not hold up the others.
    public func syncOnce() async throws {
        try await serialized {
            var complete = loaded.load(ordering: .acquiring)
            if complete, await engine.holds(marker: marker) == false {
                logger.warning("the policy engine no longer holds the policies (restarted?); loading them again")
                complete = false
                loaded.store(false, ordering: .releasing)
            }
            if !complete {
                pushed.withLock { $0.removeAll() }
                failed.withLock { $0.removeAll() }
            }
            for (tenant, revision) in try await store.revisions() where revision != self.revision(of: tenant) {
                do {
                    try await load(tenant, revision: revision)
                } catch {
                    _ = failed.withLock { $0.insert(tenant) }
                    logger.error("cannot load a tenant's policies; retrying", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
                }
            }
            if !complete {
                try await pushModules()
                try await engine.putData(path: marker, json: Data("true".utf8))
                // Nothing decided while the engine was being loaded is kept.
                engine.clearCache()
                loaded.store(true, ordering: .releasing)
            }
        }
    }

    /// Loads `tenant`'s documents into the engine now.
    public func push(_ tenant: TenantID, revision: Int64) async throws {
        try await serialized { try await load(tenant, revision: revision) }
    }

    private func serialized<T>(_ body: () async throws -> T) async throws -> T {
        let ticket = oneAtATime.ticket()
        await oneAtATime.wait(for: ticket)
        defer { oneAtATime.done(ticket) }
        return try await body()
    }

    /// The documents are read after `revision` was, so the engine never holds less than it.
    private func load(_ tenant: TenantID, revision: Int64) async throws {
        let document = try await store.engineDocument(tenant, revision: revision)
        try await engine.putData(path: "openclaw/tenants/\(tenant.rawValue)", json: document.data)
        // Pushes run one at a time and read the documents after the revision, so the engine
        // holds at least this revision (a revision that went backwards, as after Redis lost
        // its hash, is taken as it is: decisions cached under the old one are not reused).
        pushed.withLock { $0[tenant] = Pushed(revision: revision, document: document) }
        _ = failed.withLock { $0.remove(tenant) }
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
