import Contracts
import Testing

@testable import Policy

/// The in-process engine's answers, read without a decoder: the value, undefined, or its error.
@Suite struct EngineEnvelopeTests {
    static func value(_ text: String) throws -> JSONValue? { try EngineEnvelope.value(Array(text.utf8)) }

    @Test func theValueIsTheFirstExpressions() throws {
        #expect(
            try Self.value(#"{"result":[{"expressions":[{"value":{"a":[1,true]},"text":"data.x"}]}]}"#)
                == .object(["a": .array([.integer(1), .bool(true)])]))
        #expect(try Self.value(#"{"result":[{"expressions":[{"value":false}]}]}"#) == .bool(false))
    }

    @Test(arguments: [
        #"{}"#, #"{"result":[]}"#, #"{"result":null}"#, #"{"result":[{"expressions":[]}]}"#,
        #"{"result":[{"expressions":[{"value":null}]}]}"#,
    ])
    func anUndefinedDocumentIsNil(envelope: String) throws {
        #expect(try Self.value(envelope) == nil)
    }

    @Test func theEnginesErrorIsThrownWithItsCodeAndMessage() throws {
        let error = #"{"error":{"code":"rego_type_error","message":"undefined function foo"}}"#
        #expect {
            _ = try Self.value(error)
        } throws: { ($0 as? PolicyTransportFailure)?.description == "the OPA engine failed (rego_type_error): undefined function foo" }
        #expect {
            try EngineEnvelope.check(Array(error.utf8))
        } throws: { ($0 as? PolicyTransportFailure)?.description == "the OPA engine refused it (rego_type_error): undefined function foo" }
        try EngineEnvelope.check(Array(#"{"result":"ok"}"#.utf8))
        #expect(throws: PolicyTransportFailure.self) { _ = try Self.value("not json") }
    }
}
