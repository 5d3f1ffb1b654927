import Contracts
import Foundation
import Hummingbird
import Synchronization
import TestSupport
import Testing

@testable import Policy

/// What a cached decision is keyed by, and the Rego it must match.
@Suite struct PolicyCacheKeyTests {
    let tenant = TestEnvironment.tenant("ck")

    func key(
        _ requester: Requester, _ document: EngineDocument, action: Action = .gmailRead, target: String = "", tenant: TenantID? = nil
    ) -> DecisionCache.Key {
        let input = PolicyInput(
            tenant: tenant ?? self.tenant, requester: requester, action: action, classification: .internal, target: target)
        return DecisionCache.Key(policies: document.content, input: input, scopes: document.scopes(of: requester))
    }

    @Test func tenantsShareEntriesWhenTheirDocumentsSayTheSame() {
        let other = TestEnvironment.tenant("ck2")
        let alice = Requester(user: "alice", org: "eng")
        let template = EngineDocument(data: Data(#"{"enterprise":{}}"#.utf8), users: [], orgs: [], teams: [])
        let same = EngineDocument(data: Data(#"{"enterprise":{}}"#.utf8), users: [], orgs: [], teams: [])
        let changed = EngineDocument(data: Data(#"{"enterprise":{"x":1}}"#.utf8), users: [], orgs: [], teams: [])
        #expect(key(alice, template) == key(alice, same, tenant: other))
        #expect(key(alice, template) != key(alice, changed))
        #expect(key(alice, template) != key(alice, changed, tenant: other))
        #expect(PolicyContent.none != template.content)
    }

    @Test func requestersShareEntriesUnlessAScopeOfTheirsHasADocument() {
        let plain = EngineDocument(data: Data(), users: [], orgs: [], teams: [])
        let alice = Requester(user: "alice", org: "eng", team: "core", roles: [.user])
        let lead = Requester(user: "lead", org: "sales", team: "web", roles: [.teamLead])
        #expect(key(alice, plain) == key(lead, plain), "no org, team or user documents: one entry for the tenant")
        #expect(key(alice, plain, target: "x") == key(alice, plain, target: "y"), "the policy does not read the target")
        #expect(key(alice, plain) != key(alice, plain, action: .gmailSend))

        let org = EngineDocument(data: Data(), users: [], orgs: ["eng"], teams: [])
        #expect(key(alice, org) != key(lead, org), "eng has a document: its members are asked apart")
        #expect(key(Requester(user: "bob", org: "sales"), org) == key(lead, org), "other orgs still share")

        let team = EngineDocument(data: Data(), users: [], orgs: [], teams: ["eng:core"])
        let colleague = Requester(user: "carol", org: "eng", team: "core")
        let namesake = Requester(user: "dan", org: "ops", team: "core")
        #expect(key(alice, team) == key(colleague, team))
        #expect(key(alice, team) != key(namesake, team), "a team is named within its org")
        #expect(key(namesake, team) == key(lead, team))

        let user = EngineDocument(data: Data(), users: ["alice"], orgs: [], teams: [])
        #expect(key(alice, user) != key(colleague, user))
        #expect(key(colleague, user) == key(lead, user))
    }

    /// The key leaves out the tenant, the roles, target and channel, and the user, org and team
    /// unless a scope of theirs has a document; that holds only while the policy reads nothing
    /// else of its input. Every reference to `input` in the policies must name a field the key
    /// keeps (or one found only through a scope document); the tenant is read only to find its
    /// documents (whose content the key holds), and their revision not at all (it is not part of
    /// that content).
    @Test func thePoliciesReadOnlyWhatTheCacheKeyHolds() throws {
        let keyed: Set<String> = ["action", "classification", "model", "user", "org", "team"]
        let findingTheTenant = "data.openclaw.tenants[input.tenant]"
        let root = URL(fileURLWithPath: "policies")
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }
            .filter { $0.pathExtension == "rego" && !$0.lastPathComponent.hasSuffix("_test.rego") }
        #expect(!files.isEmpty)
        let field = try Regex(#"^(?:\.([a-z_]+)|\["([a-z_]+)"\])"#)
        let whole = try Regex(#"object\.get\(\s*$"#)
        let named = try Regex(#"^\s*,\s*"([a-z_]+)""#)
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (number, line) in lines.enumerated() {
                let code = String(line.prefix { $0 != "#" }).replacingOccurrences(of: findingTheTenant, with: "the_tenants_documents")
                let place = "\(file.lastPathComponent):\(number + 1)"
                #expect(!code.contains("revision"), "\(place) reads the documents' revision, which the decision cache's key leaves out")
                #expect(!code.contains("openclaw.tenants"), "\(place) reads documents other than the requester's tenant's")
                for match in code.matches(of: try Regex(#"\binput\b"#)) {
                    let after = code[match.range.upperBound...]
                    let before = code[..<match.range.lowerBound]
                    var name: Substring?
                    if let found = after.prefixMatch(of: field) {
                        name = found.output[1].substring ?? found.output[2].substring
                    } else if before.contains(whole), let found = after.prefixMatch(of: named) {
                        name = found.output[1].substring
                    }
                    guard let name else {
                        Issue.record("\(place) reads the input whole; the decision cache cannot know what it depends on")
                        continue
                    }
                    #expect(keyed.contains(String(name)), "\(place) reads input.\(name), which the decision cache's key leaves out")
                }
            }
        }
    }
}

/// Cached decisions stay confirmed by the engine: one question per half freshness while the
/// cache answers, none served once the engine stops answering, and questions refused at once
/// for a freshness after it failed to answer.
@Suite struct DecisionConfirmationTests {
    /// An engine that answers decisions `allow` and the load marker `true`, counting both, until
    /// it is told to fail.
    final class Engine: Sendable {
        let decisions = Atomic<Int>(0)
        let confirmations = Atomic<Int>(0)
        let failing = Atomic<Bool>(false)

        func start() async throws -> (url: String, task: Task<Void, any Error>) {
            let router = Router()
            router.post("v1/data/openclaw/decision/decision") { _, _ -> Response in
                self.decisions.add(1, ordering: .relaxed)
                return self.reply(#"{"decision":"allow","policy_applied":"enterprise/actions","reason":"allowed","constraints":{}}"#)
            }
            router.get("v1/data/openclaw/loaded/:id") { _, _ -> Response in
                self.confirmations.add(1, ordering: .relaxed)
                return self.reply("true")
            }
            return try await startTestServer(router)
        }

        func reply(_ result: String) -> Response {
            if failing.load(ordering: .relaxed) { return Response(status: .internalServerError) }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"result":\#(result)}"#)))
        }
    }

    @Test func aWarmCacheIsConfirmedOncePerLapseNotEvaluatedAgain() async throws {
        let engine = Engine()
        let (url, server) = try await engine.start()
        defer { server.cancel() }
        let client = PolicyEngineClient(baseURL: url, timeout: .seconds(10), freshness: .milliseconds(400))
        let marker = "openclaw/loaded/test"
        let input = PolicyInput(
            tenant: TestEnvironment.tenant("cf"), requester: Requester(user: "u"), action: .gmailRead, classification: .internal)
        func askMany() async -> [PolicyDecision.Outcome?] {
            await withTaskGroup(of: PolicyDecision.Outcome?.self) { group in
                for _ in 0..<50 {
                    group.addTask { await client.decide(input, policies: .test("v1"), marker: marker).decision?.decision }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(await client.decide(input, policies: .test("v1"), marker: marker).decision?.decision == .allow)
        #expect(engine.decisions.load(ordering: .relaxed) == 1)
        // Past the freshness: every caller at once is answered from the cache after one
        // confirmation, and the engine evaluates nothing again.
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(500))
            let before = engine.confirmations.load(ordering: .relaxed)
            #expect(await askMany().allSatisfy { $0 == .allow })
            #expect(engine.confirmations.load(ordering: .relaxed) - before == 1)
        }
        #expect(engine.decisions.load(ordering: .relaxed) == 1)

        // The engine fails: once its last answer is older than the freshness, nothing is
        // served from the cache.
        engine.failing.store(true, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(500))
        #expect(await askMany().allSatisfy { $0 == nil })
        await client.shutdown()
    }

    /// Just after the engine failed to answer, questions are refused at once instead of each
    /// waiting on it; a freshness later it is asked again.
    @Test func anEngineThatFailedIsLeftAloneForAFreshness() async throws {
        let engine = Engine()
        let (url, server) = try await engine.start()
        defer { server.cancel() }
        // A freshness long enough that the steps below always fall inside it, however slow the machine.
        let client = PolicyEngineClient(baseURL: url, timeout: .seconds(10), freshness: .seconds(3))
        let marker = "openclaw/loaded/test"
        var input = PolicyInput(
            tenant: TestEnvironment.tenant("cf"), requester: Requester(user: "u"), action: .gmailRead, classification: .internal)
        engine.failing.store(true, ordering: .relaxed)
        #expect(await client.decide(input, policies: .test("v1"), marker: marker).decision == nil)
        #expect(engine.decisions.load(ordering: .relaxed) == 1)
        input.action = .gmailSend
        #expect(await client.decide(input, policies: .test("v1"), marker: marker).decision == nil)
        #expect(engine.decisions.load(ordering: .relaxed) == 1, "refused without asking the engine again")
        #expect(client.decisionCounts.refused == 1 && client.decisionCounts.uncached == 1)
        #expect(client.metricsText.contains(#"oc_policy_decisions_total{source="refused"} 1"#))
        engine.failing.store(false, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(3200))
        #expect(await client.decide(input, policies: .test("v1"), marker: marker).decision?.decision == .allow)
        #expect(engine.decisions.load(ordering: .relaxed) == 2)
        await client.shutdown()
    }
}
