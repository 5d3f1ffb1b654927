import AsyncHTTPClient
import Contracts
import Foundation
import Hummingbird
import Synchronization
import TestSupport
import Testing

@testable import Policy

@Suite struct PolicyValidatorTests {
    func data(_ json: String) -> Data { Data(json.utf8) }

    @Test func restrictingIsFineWideningIsExplained() throws {
        let parent = data(
            #"{"default":{"autonomy":"block"},"gmail.send":{"autonomy":"approve","max_classification":"confidential","allowed_transitions":["Done"]}}"#
        )
        #expect(
            try PolicyValidator.wideningProblems(
                domain: .actions, content: data(#"{"gmail.send":{"autonomy":"block"}}"#), parents: [("enterprise", parent)]
            ).isEmpty)
        let problems = try PolicyValidator.wideningProblems(
            domain: .actions,
            content: data(
                #"{"gmail.send":{"autonomy":"autonomous","max_classification":"restricted","allowed_transitions":["Done","Closed"],"self_approval":true},"gdrive.read":{"autonomy":"notify"}}"#
            ),
            parents: [("enterprise", parent)])
        #expect(problems.count == 5, "\(problems)")
        #expect(problems.contains { $0.contains("gdrive.read: autonomy notify is more permissive than block") })
        #expect(problems.contains { $0.contains("transition 'Closed'") })
    }

    @Test func integrationsModelsAndData() throws {
        #expect(
            try PolicyValidator.wideningProblems(
                domain: .integrations, content: data(#"{"write":["jira.comment","gmail.send"]}"#),
                parents: [("enterprise", data(#"{"write":["jira.comment"]}"#))]) == [
                    "integrations.write adds gmail.send, which enterprise does not allow"
                ])
        #expect(
            try PolicyValidator.wideningProblems(
                domain: .models, content: data(#"{"external_max_classification":"confidential"}"#), parents: [("enterprise", data("{}"))]
            ).count == 1)
        #expect(
            try PolicyValidator.wideningProblems(
                domain: .models, content: data(#"{"external_max_classification":"public"}"#), parents: [("enterprise", data("{}"))]
            ).isEmpty)
        #expect(
            try PolicyValidator.wideningProblems(
                domain: .data, content: data(#"{"max_classification":"restricted"}"#),
                parents: [("org", data(#"{"max_classification":"internal"}"#))]
            ).count == 1)
        #expect(throws: FleetError.self) {
            try PolicyValidator.wideningProblems(domain: .actions, content: data(#"{"x":{"autonomy":"yolo"}}"#), parents: [])
        }
        #expect(throws: FleetError.self) { try PolicyValidator.wideningProblems(domain: .features, content: data("[1]"), parents: []) }
    }
}

@Suite struct PolicyEngineClientTests {
    /// A client with the decision policy loaded, over the shared sidecar (the real OPA engine run
    /// by the test services) or the engine in process; cached decisions served however long the
    /// loaded machine takes between steps.
    static func client(_ engine: String) async throws -> PolicyEngineClient {
        let url = ProcessInfo.processInfo.environment["OC_TEST_OPA_URL"] ?? "http://127.0.0.1:8291"
        let client = PolicyEngineClient(
            transport: engine == "embedded"
                ? EmbeddedPolicyEngine(libraryPath: TestEnvironment.opaLibrary)
                : RESTPolicyTransport(baseURL: url, timeout: .seconds(20), httpClient: .shared),
            freshness: .seconds(600))
        try await client.putPolicy(
            id: "openclaw/decision.rego", source: try String(contentsOfFile: "policies/openclaw/decision.rego", encoding: .utf8))
        return client
    }

    /// The same client over both ways of reaching the engine: the shared sidecar and the engine
    /// in process.
    @Test(arguments: ["sidecar", "embedded"]) func decidesAndFailsClosed(engine: String) async throws {
        let client = try await Self.client(engine)
        let tenant = TestEnvironment.tenant("pe")
        try await client.putData(
            path: "openclaw/tenants/\(tenant.rawValue)",
            json: Data(
                #"{"enterprise":{"actions":{"default":{"autonomy":"block"},"noop.run":{"autonomy":"notify"}}},"orgs":{},"teams":{},"users":{}}"#
                    .utf8))
        let input = PolicyInput(tenant: tenant, requester: Requester(user: "u"), action: .noopRun, classification: .internal)
        let decision = try #require(await client.decide(input, policies: .test("v1")).decision)
        #expect(decision.decision == .allow)
        #expect(decision.constraints.disclosureRequired)
        var other = input
        other.action = .gmailRead
        #expect(await client.decide(other, policies: .test("v1")).decision?.decision == .deny)

        // A decision is shared by the user's peers (same role, org and team) under one content,
        // unless the user has a policy of their own: the engine now blocks the action, but
        // only the user with their own policy is asked again.
        let cached = PolicyInput(tenant: tenant, requester: Requester(user: "alice"), action: .noopRun, classification: .internal)
        #expect(await client.decide(cached, policies: .test("v2"), scopes: .peers).decision?.decision == .allow)
        try await client.putData(
            path: "openclaw/tenants/\(tenant.rawValue)",
            json: Data(
                #"{"enterprise":{"actions":{"default":{"autonomy":"block"},"noop.run":{"autonomy":"block"}}},"orgs":{},"teams":{},"users":{}}"#
                    .utf8))
        var peer = cached
        peer.user = "carol"
        #expect(await client.decide(peer, policies: .test("v2"), scopes: .peers).decision?.decision == .allow, "a peer shares the entry")
        var own = cached
        own.user = "bob"
        #expect(await client.decide(own, policies: .test("v2"), scopes: .all).decision?.decision == .deny, "bob is asked for himself")
        #expect(await client.decide(cached, policies: .test("v3"), scopes: .peers).decision?.decision == .deny, "new content asks again")
        await client.shutdown()

        // An engine that cannot answer gives no decision at all, only the reason.
        let nowhere = PolicyEngineClient(baseURL: "http://127.0.0.1:1", timeout: .milliseconds(200))
        guard case .unavailable(let reason) = await nowhere.decide(input, policies: .test("v1")) else {
            Issue.record("an unreachable engine decided")
            return
        }
        #expect(!reason.isEmpty)
        await nowhere.shutdown()
    }

    /// A decision cached for one tenant never answers another, even one whose documents say the
    /// same: an engine shared by several processes may hold a tenant's newer documents (pushed by
    /// another process before this one loaded them), and its decisions on those are that
    /// tenant's alone.
    @Test(arguments: ["sidecar", "embedded"]) func aTenantsDecisionsNeverAnswerAnother(engine: String) async throws {
        let client = try await Self.client(engine)
        let template =
            #"{"enterprise":{"actions":{"default":{"autonomy":"block"},"noop.run":{"autonomy":"notify"},"gmail.read":{"autonomy":"approve"}}},"orgs":{},"teams":{},"users":{}}"#
        let changed = template.replacingOccurrences(
            of: #""gmail.read":{"autonomy":"approve"}"#, with: #""gmail.read":{"autonomy":"autonomous"}"#)
        let first = TestEnvironment.tenant("sh")
        let second = TestEnvironment.tenant("sh")
        // This process loaded the template for both; another has since pushed the first's change.
        try await client.putData(path: "openclaw/tenants/\(first.rawValue)", json: Data(changed.utf8))
        try await client.putData(path: "openclaw/tenants/\(second.rawValue)", json: Data(template.utf8))
        let loaded = PolicyContent(digesting: Array(template.utf8))
        var decided: [TenantID: [PolicyDecision]] = [:]
        for tenant in [first, second] {
            for action in [Action.noopRun, .gmailRead, .gmailSend] {
                let input = PolicyInput(tenant: tenant, requester: Requester(user: "ann"), action: action, classification: .internal)
                let decision = try #require(await client.decide(input, policies: loaded, scopes: .peers).decision)
                #expect(try await client.evaluate(input) == decision, "\(tenant) \(action)")
                decided[tenant, default: []].append(decision)
            }
        }
        #expect(decided[first]?[1].decision == .allow && decided[second]?[1].decision == .requireApproval)
        #expect(client.decisionCounts.uncached == 6)
        await client.shutdown()
    }

    /// An engine that answers every decision `allow` after `delay`, counting the questions.
    final class CountingEngine: Sendable {
        let asked = Mutex(0)
        var count: Int { asked.withLock { $0 } }

        func start(delay: Duration) async throws -> (url: String, task: Task<Void, any Error>) {
            let router = Router()
            router.post("v1/data/openclaw/decision/decision") { _, _ -> Response in
                self.asked.withLock { $0 += 1 }
                try await Task.sleep(for: delay)
                let body = #"{"result":{"decision":"allow","policy_applied":"enterprise/actions","reason":"allowed","constraints":{}}}"#
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: body)))
            }
            return try await startTestServer(router)
        }
    }

    /// Many callers asking the same question at once (a cold or stale cache under load) make
    /// one evaluation, not one each; users with a policy of their own are asked for one by one.
    @Test func callersAskingTheSameAtOnceShareOneEvaluation() async throws {
        let engine = CountingEngine()
        let (url, server) = try await engine.start(delay: .milliseconds(300))
        defer { server.cancel() }
        // A freshness no caller held up by a starved machine outlives (this engine answers no
        // confirmation).
        let client = PolicyEngineClient(baseURL: url, timeout: .seconds(30), freshness: .seconds(600))
        let tenant = TestEnvironment.tenant("sf")
        func ask(_ users: Range<Int>, ownPolicy: Bool) async -> [PolicyDecision.Outcome?] {
            await withTaskGroup(of: PolicyDecision.Outcome?.self) { group in
                for user in users {
                    group.addTask {
                        let input = PolicyInput(
                            tenant: tenant, requester: Requester(user: "u\(user)"), action: .gmailRead, classification: .internal)
                        return await client.decide(input, policies: .test("v1"), scopes: ownPolicy ? .all : .peers).decision?.decision
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(await ask(0..<50, ownPolicy: false).allSatisfy { $0 == .allow })
        #expect(engine.count == 1)
        #expect(await ask(50..<55, ownPolicy: true).allSatisfy { $0 == .allow })
        #expect(engine.count == 6)
        await client.shutdown()
    }
}

extension RequesterScopes {
    /// No scope of the requester has documents of its own: the decision is shared with every peer.
    static let peers = RequesterScopes(user: false, org: false, team: false)
}

extension PolicyContent {
    /// Content standing for a test's documents, by name.
    static func test(_ name: String) -> PolicyContent { PolicyContent(digesting: Array(name.utf8)) }
}
