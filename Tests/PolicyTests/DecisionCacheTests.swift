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
        return DecisionCache.Key(policies: document.content, input: input, scopes: document.scopes(of: requester, action: action))
    }

    @Test func aScopeWhoseDocumentsNameOnlySomeActionsKeysThoseAlone() {
        func bearing(_ json: String) -> ScopeBearing { ScopeBearing(JSONValue.parse(Array(json.utf8))!.objectValue!) }
        #expect(bearing(#"{"actions":{"jira.read":{"autonomy":"approve"}}}"#) == .named(["jira.read"]))
        #expect(bearing(#"{"actions":{"jira.read":{}},"data":{"max_classification":"internal"}}"#) == .every)
        #expect(bearing(#"{"actions":{"default":{"autonomy":"block"}}}"#) == .every)
        #expect(bearing(#"{"integrations":{"write":[]}}"#) == .every)
        #expect(bearing(#"{"models":{"external_max_classification":"public"}}"#) == .every)
        #expect(bearing(#"{"actions":"not an object"}"#) == .every)

        let owner = Requester(user: "alice", org: "eng", team: "core")
        let peer = Requester(user: "bob", org: "eng", team: "core")
        let narrow = EngineDocument(
            data: Data(), users: ["alice": .named(["jira.read"])], orgs: ["eng": .named(["gdrive.read"])], teams: [:])
        #expect(key(owner, narrow, action: .gmailRead) == key(peer, narrow, action: .gmailRead), "no document of theirs bears on it")
        #expect(key(owner, narrow, action: .jiraRead) != key(peer, narrow, action: .jiraRead))
        #expect(key(owner, narrow, action: .gdriveRead) == key(peer, narrow, action: .gdriveRead), "both are in eng")
        #expect(key(owner, narrow, action: .gdriveRead) != key(Requester(user: "cy", org: "ops"), narrow, action: .gdriveRead))
    }

    /// Questions that share a cache key get the same decision from the engine: random documents
    /// (an enterprise that allows much; scopes naming a few actions, some with a default,
    /// ceilings, integrations or models), random requesters and questions; grouped by key, one
    /// decision per group.
    @Test func scopeKeysHoldWhatDecisionsDependOn() async throws {
        let client = PolicyEngineClient(transport: EmbeddedPolicyEngine(libraryPath: TestEnvironment.opaLibrary), cacheSize: 0)
        try await client.putPolicy(
            id: "openclaw/decision.rego", source: try String(contentsOfFile: "policies/openclaw/decision.rego", encoding: .utf8))
        var rng = SeededGenerator(seed: 20_261_203)
        // A few actions (reads, writes, a model call), so that questions meet often.
        let actions: [Action] = [.noopRun, .gmailRead, .gmailSend, .jiraRead, .jiraComment, .modelCall]
        let autonomies = ["block", "approve", "notify", "autonomous"]
        let levels = Classification.allCases.map(\.rawValue)
        func setting(_ autonomy: [String], _ rng: inout SeededGenerator) -> JSONValue {
            var entry: [String: JSONValue] = ["autonomy": .string(autonomy.randomElement(using: &rng)!)]
            if Int.random(in: 0..<3, using: &rng) == 0 { entry["max_classification"] = .string(levels.randomElement(using: &rng)!) }
            if Bool.random(using: &rng) { entry["self_approval"] = .bool(Bool.random(using: &rng)) }
            if Bool.random(using: &rng) {
                entry["allowed_transitions"] = .array([.string(["Done", "Closed"].randomElement(using: &rng)!)])
            }
            return .object(entry)
        }
        // The enterprise allows much, so what lower scopes say shows in the decisions.
        func enterpriseDocuments(_ rng: inout SeededGenerator) -> [String: JSONValue] {
            var settings: [String: JSONValue] = ["default": .object(["autonomy": .string("autonomous")])]
            for action in actions { settings[action.rawValue] = setting(["autonomous", "notify", "approve"], &rng) }
            return [
                "actions": .object(settings), "integrations": .object(["write": .array(actions.map { .string($0.rawValue) })]),
                "models": .object(["external_max_classification": .string("restricted")]),
            ]
        }
        // A scope's documents: a few actions, and one of nothing more, a default, a data
        // ceiling, integrations or a model ceiling (each of which bears on every action).
        func scopeDocuments(_ rng: inout SeededGenerator) -> [String: JSONValue] {
            var settings: [String: JSONValue] = [:]
            for action in actions.shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)) {
                settings[action.rawValue] = setting(autonomies, &rng)
            }
            var documents: [String: JSONValue] = [:]
            switch ["", "", "default", "data", "integrations", "models"].randomElement(using: &rng)! {
            case "default": settings["default"] = setting(autonomies, &rng)
            case "data": documents["data"] = .object(["max_classification": .string(["public", "internal"].randomElement(using: &rng)!)])
            case "integrations":
                documents["integrations"] = .object([
                    "write": .array(actions.filter { _ in Bool.random(using: &rng) }.map { .string($0.rawValue) })
                ])
            case "models":
                documents["models"] = .object(["external_max_classification": .string(["public", "internal"].randomElement(using: &rng)!)])
            default: break
            }
            documents["actions"] = .object(settings)
            return documents
        }
        var tenants: [(TenantID, EngineDocument)] = []
        for _ in 0..<6 {
            let tenant = TestEnvironment.tenant("kd")
            let enterprise = enterpriseDocuments(&rng)
            let scoped: [String: [String: [String: JSONValue]]] = [
                "orgs": ["eng": scopeDocuments(&rng)], "teams": ["eng:core": scopeDocuments(&rng)],
                "users": ["u1": scopeDocuments(&rng), "u2": scopeDocuments(&rng)],
            ]
            var whole = scoped.mapValues { JSONValue.object($0.mapValues { .object($0) }) }
            whole["enterprise"] = .object(enterprise)
            let data = JSONValue.object(whole).canonicalData
            try await client.putData(path: "openclaw/tenants/\(tenant.rawValue)", json: data)
            tenants.append(
                (
                    tenant,
                    EngineDocument(
                        data: data, users: scoped["users"]!.mapValues(ScopeBearing.init),
                        orgs: scoped["orgs"]!.mapValues(ScopeBearing.init),
                        teams: scoped["teams"]!.mapValues(ScopeBearing.init))
                ))
        }
        var first: [DecisionCache.Key: (decision: PolicyDecision, input: PolicyInput)] = [:]
        var shared = 0
        for _ in 0..<2000 {
            let (tenant, document) = tenants.randomElement(using: &rng)!
            let requester = Requester(
                user: ["u1", "u2", "u3"].randomElement(using: &rng)!, org: ["", "eng", "ops"].randomElement(using: &rng)!,
                team: ["", "core"].randomElement(using: &rng)!, roles: [[.user], [.teamLead]].randomElement(using: &rng)!)
            let action = actions.randomElement(using: &rng)!
            let input = PolicyInput(
                tenant: tenant, requester: requester, action: action,
                classification: [Classification.internal, .confidential].randomElement(using: &rng)!,
                model: action == .modelCall ? PolicyInput.Model(name: "m", external: Bool.random(using: &rng)) : nil)
            let decision = try await client.evaluate(input)
            let key = DecisionCache.Key(policies: document.content, input: input, scopes: document.scopes(of: requester, action: action))
            if let earlier = first[key] {
                shared += 1
                #expect(earlier.decision == decision, "\(earlier.input) and \(input) share a cache key")
            } else {
                first[key] = (decision, input)
            }
        }
        #expect(shared >= 1000, "the generated questions share keys: \(shared)")
        await client.shutdown()
    }

    @Test func tenantsNeverShareEntriesAndContentIsWhatTheDocumentsSay() {
        let other = TestEnvironment.tenant("ck2")
        let alice = Requester(user: "alice", org: "eng")
        let template = EngineDocument(data: Data(#"{"enterprise":{}}"#.utf8), users: [:], orgs: [:], teams: [:])
        let same = EngineDocument(data: Data(#"{"enterprise":{}}"#.utf8), users: [:], orgs: [:], teams: [:])
        let changed = EngineDocument(data: Data(#"{"enterprise":{"x":1}}"#.utf8), users: [:], orgs: [:], teams: [:])
        #expect(key(alice, template) == key(alice, same), "changed and changed back: the same entries")
        #expect(key(alice, template) != key(alice, changed))
        #expect(key(alice, template) != key(alice, same, tenant: other), "the same documents, another tenant")
        #expect(PolicyContent.none != template.content)
    }

    /// The key leaves out the roles, target and channel, and the user, org and team unless a
    /// scope of theirs has a document; that holds only while the policy reads nothing else of
    /// its input. Every reference to `input` in the policies must name a field the key keeps
    /// (or one found only through a scope document); of the documents, the policy reads the
    /// requester's tenant's (whose content the key holds) and not their revision (not part of
    /// that content).
    @Test func thePoliciesReadOnlyWhatTheCacheKeyHolds() throws {
        let keyed: Set<String> = ["tenant", "action", "classification", "model", "user", "org", "team"]
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
                let code = String(line.prefix { $0 != "#" }).replacingOccurrences(
                    of: findingTheTenant, with: "tenant_documents(input.tenant)")
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
        // A freshness and a timeout long enough that a machine starved by other work still
        // confirms within them, and callers held up after a confirmation still find it fresh.
        let client = PolicyEngineClient(baseURL: url, timeout: .seconds(60), cacheTTL: .seconds(3600), freshness: .seconds(3))
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
            try await Task.sleep(for: .milliseconds(3200))
            let before = engine.confirmations.load(ordering: .relaxed)
            #expect(await askMany().allSatisfy { $0 == .allow })
            // One, or two when a caller held up past half the freshness after the first started
            // another in the background: never one per caller.
            #expect((1...2).contains(engine.confirmations.load(ordering: .relaxed) - before))
        }
        #expect(engine.decisions.load(ordering: .relaxed) == 1)

        // The engine fails: once its last answer is older than the freshness, nothing is
        // served from the cache.
        engine.failing.store(true, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(3200))
        #expect(await askMany().allSatisfy { $0 == nil })
        await client.shutdown()
    }

    /// Just after the engine failed to answer, questions are refused at once instead of each
    /// waiting on it; a freshness later it is asked again.
    @Test func anEngineThatFailedIsLeftAloneForAFreshness() async throws {
        let engine = Engine()
        let (url, server) = try await engine.start()
        defer { server.cancel() }
        // A freshness long enough that the steps below fall inside it on a machine starved by the
        // rest of the suite.
        let client = PolicyEngineClient(baseURL: url, timeout: .seconds(60), freshness: .seconds(15))
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
        try await Task.sleep(for: .milliseconds(15_200))
        #expect(await client.decide(input, policies: .test("v1"), marker: marker).decision?.decision == .allow)
        #expect(engine.decisions.load(ordering: .relaxed) == 2)
        await client.shutdown()
    }
}

extension EngineDocument {
    /// Documents whose content is `data` as it stands (tests push no revision with them).
    init(data: Data, users: [String: ScopeBearing], orgs: [String: ScopeBearing], teams: [String: ScopeBearing]) {
        self.init(data: data, content: PolicyContent(digesting: data), users: users, orgs: orgs, teams: teams)
    }
}
