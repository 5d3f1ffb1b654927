import Contracts
import Foundation
import Testing

/// The engine's input and answer are written and read without Foundation's coders; they must
/// say exactly what the coders say.
@Suite struct PolicyJSONTests {
    static let inputs: [PolicyInput] = {
        let plain = PolicyInput(
            tenant: try! TenantID("acme"), requester: Requester(user: "alice", org: "eng", team: "core", roles: [.user]),
            action: .noopRun, classification: .internal)
        var odd = PolicyInput(
            tenant: try! TenantID("t-2"),
            requester: Requester(user: "bob \"b\" \\ \u{01}\n\té", org: "", team: "", roles: [.user, .enterpriseAdmin]),
            action: .modelCall, classification: .restricted, target: "#ch/ü\u{1F600}", channel: "worker",
            model: .init(name: "gpt \"x\"", external: true))
        var internalModel = plain
        internalModel.model = .init(name: "local", external: false)
        odd.roles = []
        return [plain, odd, internalModel]
    }()

    @Test(arguments: inputs) func theInputIsWhatTheEncoderWrites(input: PolicyInput) throws {
        let written = try #require(JSONValue.parse(input.json), "not JSON: \(String(decoding: input.json, as: UTF8.self))")
        let encoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(input))
        #expect(written == encoded)
        #expect(try JSONDecoder().decode(PolicyInput.self, from: Data(input.json)) == input)
    }

    static let answers: [String] = [
        #"{"decision":"allow","policy_applied":"enterprise/actions","reason":"ok","constraints":{"disclosure_required":true,"max_classification":"confidential","allowed_transitions":["Done","In Review"],"self_approval":true}}"#,
        #"{"decision":"deny","policy_applied":"openclaw/default","reason":"no policy","constraints":{}}"#,
        #"{"decision":"require_approval"}"#,
        #"{"decision":"allow","policy_applied":null,"reason":null,"constraints":null}"#,
        #"{"decision":"allow","constraints":{"max_classification":"nonsense","allowed_transitions":null}}"#,
        #"{"decision":"allow","extra":[1,2],"constraints":{"disclosure_required":false,"unknown":{}}}"#,
    ]

    @Test(arguments: answers) func aDecisionIsReadAsTheDecoderReadsIt(answer: String) throws {
        let value = try #require(JSONValue.parse(Array(answer.utf8)))
        let decoded = try JSONDecoder().decode(PolicyDecision.self, from: Data(answer.utf8))
        #expect(try PolicyDecision(json: value) == decoded)
    }

    static let malformed: [String] = [
        #"{"policy_applied":"x"}"#,
        #"{"decision":"maybe"}"#,
        #"{"decision":true}"#,
        #"{"decision":"allow","reason":5}"#,
        #"{"decision":"allow","constraints":[]}"#,
        #"{"decision":"allow","constraints":{"disclosure_required":"yes"}}"#,
        #"{"decision":"allow","constraints":{"allowed_transitions":"Done"}}"#,
        #"{"decision":"allow","constraints":{"allowed_transitions":[1]}}"#,
        #"{"decision":"allow","constraints":{"max_classification":3}}"#,
        #"["allow"]"#,
    ]

    @Test(arguments: malformed) func whatTheDecoderRefusesIsRefused(answer: String) throws {
        let value = try #require(JSONValue.parse(Array(answer.utf8)))
        #expect(throws: (any Error).self) { try JSONDecoder().decode(PolicyDecision.self, from: Data(answer.utf8)) }
        #expect(throws: PolicyDecision.Malformed.self) { try PolicyDecision(json: value) }
    }
}
