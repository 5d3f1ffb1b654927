import AsyncHTTPClient
import Contracts
import Foundation
import TestSupport
import Testing

@testable import Policy

/// The two ways of reaching the OPA engine, side by side: a sidecar (the local engine behind
/// OPA's REST API, one per test) and the engine in process through its C library. Both
/// hold the same modules and documents and must give the same answers.
@Suite struct EngineIdentityTests {
    static func embedded() throws -> EmbeddedPolicyEngine {
        let engine = EmbeddedPolicyEngine(libraryPath: TestEnvironment.opaLibrary)
        if let problem = engine.loadError { throw PolicyTransportFailure(description: problem) }
        return engine
    }

    /// Every `.rego` file under `policies`, the Rego unit tests included, by path.
    static func modules() throws -> [(id: String, source: String)] {
        let root = URL(fileURLWithPath: "policies")
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        return try files.filter { $0.pathExtension == "rego" }.map {
            ($0.path.replacingOccurrences(of: root.path + "/", with: ""), try String(contentsOf: $0, encoding: .utf8))
        }.sorted { $0.id < $1.id }
    }

    /// The Rego unit tests (`test_*` rules) of `source` as paths under `data`.
    static func unitTests(_ source: String) -> [String] {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard let package = lines.first(where: { $0.hasPrefix("package ") })?.dropFirst("package ".count) else { return [] }
        let prefix = package.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ".", with: "/")
        var names: [String] = []
        for line in lines where line.hasPrefix("test_") {
            let name = line.prefix { $0 == "_" || $0.isLetter || $0.isNumber }
            if !names.contains(String(name)) { names.append(String(name)) }
        }
        return names.map { prefix + "/" + $0 }
    }

    @Test func theRegoUnitTestsPassInBothEngines() async throws {
        // A local engine of this test's own, so the modules loaded here reach no other test.
        let engine = try await PrivatePolicyEngine()
        defer { engine.stop() }
        let url = engine.url
        let sidecar = RESTPolicyTransport(baseURL: url, timeout: .seconds(30), httpClient: .shared)
        let embedded = try Self.embedded()
        var tests: [String] = []
        for module in try Self.modules() {
            try await sidecar.putPolicy(id: module.id, source: module.source)
            try await embedded.putPolicy(id: module.id, source: module.source)
            tests += Self.unitTests(module.source)
        }
        #expect(tests.count >= 20, "\(tests)")
        for test in tests {
            let remote = try await sidecar.evaluate(test, input: nil)
            let local = try await embedded.evaluate(test, input: nil)
            #expect(remote == .bool(true), "\(test) in the sidecar")
            #expect(local == .bool(true), "\(test) in process")
        }
        await sidecar.shutdown()
    }

    /// Random policy documents for a few tenants and random questions: every answer the same.
    @Test func generatedInputsGetTheSameDecisionFromBothEngines() async throws {
        // A local engine of this test's own, so the modules loaded here reach no other test.
        let engine = try await PrivatePolicyEngine()
        defer { engine.stop() }
        let url = engine.url
        let sidecar = PolicyEngineClient(
            transport: RESTPolicyTransport(baseURL: url, timeout: .seconds(30), httpClient: .shared), cacheSize: 0)
        let embedded = PolicyEngineClient(transport: try Self.embedded(), cacheSize: 0)
        let source = try String(contentsOfFile: "policies/openclaw/decision.rego", encoding: .utf8)
        try await sidecar.putPolicy(id: "openclaw/decision.rego", source: source)
        try await embedded.putPolicy(id: "openclaw/decision.rego", source: source)

        var rng = SeededGenerator(seed: 20_261_201)
        let autonomies = ["block", "approve", "notify", "autonomous"]
        let levels = Classification.allCases.map(\.rawValue)
        let actions = Array(Action.catalog.keys).sorted { $0.rawValue < $1.rawValue }
        func document(_ rng: inout SeededGenerator) -> JSONValue {
            var settings: [String: JSONValue] = [:]
            for action in actions.shuffled(using: &rng).prefix(Int.random(in: 1...8, using: &rng)) {
                var entry: [String: JSONValue] = ["autonomy": .string(autonomies.randomElement(using: &rng)!)]
                if Bool.random(using: &rng) { entry["max_classification"] = .string(levels.randomElement(using: &rng)!) }
                if Bool.random(using: &rng) { entry["self_approval"] = .bool(Bool.random(using: &rng)) }
                settings[action.rawValue] = .object(entry)
            }
            if Bool.random(using: &rng) { settings["default"] = .object(["autonomy": .string(autonomies.randomElement(using: &rng)!)]) }
            var doc: [String: JSONValue] = ["actions": .object(settings)]
            if Bool.random(using: &rng) {
                doc["integrations"] = .object([
                    "write": .array(actions.filter { _ in Bool.random(using: &rng) }.map { .string($0.rawValue) })
                ])
            }
            if Bool.random(using: &rng) {
                doc["models"] = .object(["external_max_classification": .string(levels.randomElement(using: &rng)!)])
            }
            if Bool.random(using: &rng) { doc["data"] = .object(["max_classification": .string(levels.randomElement(using: &rng)!)]) }
            return .object(doc)
        }
        let tenants = (0..<4).map { _ in TestEnvironment.tenant("id") }
        for tenant in tenants {
            let policies: JSONValue = .object([
                "enterprise": document(&rng), "orgs": .object(["eng": document(&rng)]), "teams": .object(["eng:core": document(&rng)]),
                "users": .object(["u1": document(&rng), "u2": document(&rng)]), "revision": .integer(1),
            ])
            try await sidecar.putData(path: "openclaw/tenants/\(tenant.rawValue)", json: policies.canonicalData)
            try await embedded.putData(path: "openclaw/tenants/\(tenant.rawValue)", json: policies.canonicalData)
        }
        var outcomes: [PolicyDecision.Outcome: Int] = [:]
        for _ in 0..<400 {
            let tenant = tenants.randomElement(using: &rng)!
            let requester = Requester(
                user: ["u1", "u2", "u3"].randomElement(using: &rng)!, org: ["", "eng", "ops"].randomElement(using: &rng)!,
                team: ["", "core"].randomElement(using: &rng)!,
                roles: [[.user], [.teamLead], [.enterpriseAdmin]].randomElement(using: &rng)!)
            var input = PolicyInput(
                tenant: tenant, requester: requester, action: actions.randomElement(using: &rng)!,
                classification: Classification.allCases.randomElement(using: &rng)!, target: ["", "JIRA-1"].randomElement(using: &rng)!,
                model: Bool.random(using: &rng) ? PolicyInput.Model(name: "m", external: Bool.random(using: &rng)) : nil)
            if Int.random(in: 0..<20, using: &rng) == 0 { input.tenant = "nobody" }
            let remote = try await sidecar.evaluate(input)
            let local = try await embedded.evaluate(input)
            #expect(remote == local, "\(input)")
            outcomes[local.decision, default: 0] += 1
        }
        // The generated set meets every outcome.
        #expect(outcomes.count == 3, "\(outcomes)")
        await sidecar.shutdown()
    }

    /// Loaded with nothing, the engine in process decides nothing; a module that does not
    /// compile is refused and leaves what was loaded.
    @Test func theEngineInProcessDecidesNothingUntilLoaded() async throws {
        let client = PolicyEngineClient(transport: try Self.embedded(), cacheSize: 0)
        let input = PolicyInput(
            tenant: TestEnvironment.tenant("em"), requester: Requester(user: "u"), action: .noopRun, classification: .internal)
        guard case .unavailable(let reason) = await client.decide(input, policies: .test("v1")) else {
            Issue.record("an empty engine decided")
            return
        }
        #expect(reason.contains("no decision is defined"), "\(reason)")
        #expect(await client.holds(marker: "openclaw/loaded/x-1") == false)
        #expect(await client.isHealthy(marker: "openclaw/loaded/x-1") == false)

        try await client.putPolicy(
            id: "openclaw/decision.rego", source: try String(contentsOfFile: "policies/openclaw/decision.rego", encoding: .utf8))
        await #expect(throws: (any Error).self) {
            try await client.putPolicy(id: "broken.rego", source: "package broken\nthis is not rego")
        }
        try await client.putData(
            path: "openclaw/tenants/\(input.tenant)",
            json: Data(#"{"enterprise":{"actions":{"noop.run":{"autonomy":"autonomous"}}},"orgs":{},"teams":{},"users":{}}"#.utf8))
        #expect(await client.decide(input, policies: .test("v1")).decision?.decision == .allow)
        try await client.putData(path: "openclaw/loaded/x-1", json: Data("true".utf8))
        #expect(await client.isHealthy(marker: "openclaw/loaded/x-1"))

        // A library that is not there: an engine that answers nothing, and says why.
        let missing = EmbeddedPolicyEngine(libraryPath: "/nonexistent/libopabridge.so")
        #expect(missing.loadError?.contains("cannot load the OPA engine library") == true)
        let nowhere = PolicyEngineClient(transport: missing)
        #expect(await nowhere.isHealthy() == false)
        guard case .unavailable = await nowhere.decide(input, policies: .test("v1")) else {
            Issue.record("an engine without its library decided")
            return
        }
    }

    @Test func referencesQuoteWhatIsNotAnIdentifier() throws {
        #expect(try EmbeddedPolicyEngine.reference("openclaw/decision/decision") == "openclaw.decision.decision")
        #expect(try EmbeddedPolicyEngine.reference("openclaw/tenants/t-1/x") == #"openclaw.tenants["t-1"].x"#)
        #expect(try EmbeddedPolicyEngine.reference("openclaw/loaded/9abc") == #"openclaw.loaded["9abc"]"#)
    }
}

/// A small deterministic generator (SplitMix64), so a failing input can be found again.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
