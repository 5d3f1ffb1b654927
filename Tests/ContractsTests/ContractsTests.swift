import Foundation
import Testing

@testable import Contracts

@Suite struct TenantIDTests {
    @Test(arguments: ["a", "acme", "acme-corp", "0tenant", String(repeating: "a", count: 63)])
    func acceptsValid(_ value: String) throws {
        #expect(try TenantID(value).rawValue == value)
    }

    @Test(arguments: ["", "-acme", "Acme", "acme_corp", "acme corp", "a}b", "a{b", "a:b", String(repeating: "a", count: 64), "é"])
    func rejectsInvalid(_ value: String) {
        #expect(throws: FleetError.self) { try TenantID(value) }
    }

    @Test func schemaNameIsSafe() throws {
        #expect(try TenantID("acme-corp").schemaName == "t_acme_corp")
    }
}

@Suite struct KindAndClassificationTests {
    @Test func kindsAreStable() throws {
        #expect(
            JobKind.all.map(\.rawValue) == ["connector-sync", "classifier", "auto-responder", "standup", "ocip-relay", "briefing", "noop"])
        #expect(try JobKind("noop") == .noop)
        #expect(throws: FleetError.self) { try JobKind("rm-rf") }
    }

    @Test func classificationOrderAndDefaults() {
        #expect(Classification.public < .internal)
        #expect(Classification.internal < .confidential)
        #expect(Classification.confidential < .restricted)
        #expect(Classification(parsing: "secret") == .restricted)
        #expect(Classification(parsing: nil) == .restricted)
        #expect(Classification.derived(from: [.public, .confidential, .internal]) == .confidential)
    }
}

@Suite struct JobIDTests {
    @Test func formatAndOrder() {
        var rng = SystemRandomNumberGenerator()
        let earlier = JobID.make(milliseconds: 1_700_000_000_000, using: &rng)
        let later = JobID.make(milliseconds: 1_700_000_000_001, using: &rng)
        #expect(JobID.isValid(earlier))
        #expect(earlier.count == 26)
        #expect(earlier < later)
        #expect(!JobID.isValid("../../etc/passwd"))
        #expect(Set((0..<1000).map { _ in JobID.make() }).count == 1000)
    }
}

@Suite struct EnvelopeTests {
    func sample() throws -> JobEnvelope {
        JobEnvelope(
            tenant: try TenantID("acme"), kind: .briefing, action: .gmailRead,
            payload: Array(#"{"x":[1,2,{"y":"z"}],"ü":"\u0000"}"#.utf8),
            classification: .confidential, requester: Requester(user: "u1", org: "eng", team: "core", roles: [.user, .teamLead]),
            requestID: "req-1", idempotencyKey: "k-1", attempt: 3, enqueuedAt: 1_700_000_000_000, runAt: 1_700_000_100_000,
            trace: TraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "v=1"),
            admission: PolicyDecision(
                decision: .allow, policyApplied: "enterprise/actions", reason: "allowed",
                constraints: .init(disclosureRequired: true, maxClassification: .internal, allowedTransitions: ["In Review"])))
    }

    @Test func fieldsRoundTrip() throws {
        let envelope = try sample()
        let flat = envelope.fields
        let pairs = stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }
        #expect(try JobEnvelope(fields: pairs) == envelope)
        #expect(pairs.map { String(decoding: $0.0, as: UTF8.self) } == ["e", "p"])
    }

    @Test func malformedEnvelopesAreNamed() throws {
        let envelope = try sample()
        // The action field emptied in the stored header.
        let header = String(decoding: envelope.header, as: UTF8.self).replacingOccurrences(of: "|10:gmail.read|", with: "|0:|")
        #expect {
            try JobEnvelope(header: Array(header.utf8), payload: [])
        } throws: { error in
            (error as? FleetError)?.message.contains("action") == true
        }
        let good = try sample().header
        for bad in [Array(good.prefix(40)), [UInt8(ascii: "2")] + good.dropFirst(), Array("1|x:abc".utf8), []] {
            #expect(throws: FleetError.self) { try JobEnvelope(header: bad, payload: []) }
        }
        #expect(throws: FleetError.self) { try JobEnvelope(fields: [(Array("p".utf8), Array("{}".utf8))]) }
    }

    @Test func payloadDecodeErrorIsClear() throws {
        struct Expected: Decodable { var count: Int }
        #expect {
            _ = try (try sample()).decodePayload(Expected.self)
        } throws: { error in
            (error as? FleetError)?.code == .invalidPayload
        }
    }
}

@Suite struct KeyTests {
    @Test func tenantKeysShareOneHashTag() throws {
        let tenant = try TenantID("acme")
        let keys = [
            RedisKeys.stream(tenant: tenant, kind: .noop), RedisKeys.job(tenant: tenant, id: "X"),
            RedisKeys.delayed(tenant: tenant, kind: .noop), RedisKeys.envelope(tenant: tenant, id: "X"),
            RedisKeys.deadLetters(tenant: tenant, kind: .noop), RedisKeys.idempotency(tenant: tenant, key: "k"),
            RedisKeys.rateLimit(tenant: tenant, second: 1_796_000_000), RedisKeys.noopCounter(tenant: tenant),
        ]
        for key in keys {
            #expect(key.hasPrefix("oc:{t:acme}:"))
            #expect(hashTag(key) == "t:acme")
        }
    }

    @Test func globalKeysCarryNoHashTagOfATenant() {
        for key in [
            RedisKeys.knownTenants(kind: .noop), RedisKeys.delayedIndex(kind: .noop), RedisKeys.wakeups(kind: .noop),
            RedisKeys.consumers(kind: .noop),
        ] {
            #expect(!key.contains("{"))
        }
    }

    @Test func theReadyIndexSharesOneSlotOfItsOwn() {
        let keys = [
            RedisKeys.readyTenants(kind: .noop), RedisKeys.readyList(kind: .noop), RedisKeys.readyLeases(kind: .noop),
            RedisKeys.readyCounts(kind: .noop),
        ]
        for key in keys { #expect(hashTag(key) == "ready:noop") }
        #expect(Set(keys).count == 4)
        #expect(hashTag(RedisKeys.readyTenants(kind: .connectorSync)) == "ready:connector-sync")
    }

    /// The substring Redis Cluster hashes: between the first `{` and the next `}`.
    func hashTag(_ key: String) -> String? {
        guard let open = key.firstIndex(of: "{"), let close = key[open...].firstIndex(of: "}"), key.index(after: open) < close else {
            return nil
        }
        return String(key[key.index(after: open)..<close])
    }
}

@Suite struct PolicyDecisionTests {
    @Test func decodesTheDecisionDocument() throws {
        let json =
            #"{"decision":"require_approval","policy_applied":"team/actions","reason":"needs a lead","constraints":{"disclosure_required":true,"max_classification":"internal"}}"#
        let decision = try JSONDecoder().decode(PolicyDecision.self, from: Data(json.utf8))
        #expect(decision.decision == .requireApproval)
        #expect(decision.constraints.disclosureRequired)
        #expect(decision.constraints.maxClassification == .internal)
        // An engine that cannot answer is audited as a denial, never taken for a decision.
        let unavailable = PolicyAnswer.unavailable(reason: "timeout")
        #expect(unavailable.decision == nil)
        #expect(unavailable.audited.decision == .deny)
        #expect(unavailable.audited.policyApplied == "engine-unavailable")
    }
}

@Suite struct AuditEventTests {
    @Test func dataAccessedIsCanonicalJSON() throws {
        let tenant = try TenantID("acme")
        var event = AuditEvent(
            tenant: tenant, userID: "u", actionType: "data_access",
            dataAccessed: [.init(source: "gmail \"inbox\"\n", classification: .confidential, purpose: "triage\\x")], outcome: .success,
            requestID: "r")
        #expect(event.dataAccessedJSON == #"[{"classification":"confidential","purpose":"triage\\x","source":"gmail \"inbox\"\n"}]"#)
        #expect(event.dataAccessed.first?.source == "gmail \"inbox\"\n")
        event.dataAccessed = []
        #expect(event.dataAccessedJSON == "[]")
        #expect(JSONText.quoted("\u{1}") == #""\u0001""#)
    }

    @Test func aNULCharacterIsFoundWhereverItIs() {
        #expect(!"".containsNUL && !"plain text".containsNUL && !"héllo 😀".containsNUL)
        #expect("\u{0}".containsNUL && "a\u{0}b".containsNUL && "é😀\u{0}".containsNUL)
        #expect(String(repeating: "x", count: 1000).appending("\u{0}").containsNUL)
        #expect(AuditEvent.storable("a\u{0}b") == "a\u{FFFD}b")
    }

    /// The hand-written escaping agrees with `JSONEncoder`'s for every ASCII character, alone
    /// and between runs of text, and for text beyond ASCII.
    @Test func quotedTextIsEscapedAsJSONEncoderEscapesIt() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var samples = ["", "plain", "héllo wörld 😀", "a/b", "end\\", "\"start", "x\ny\tz\u{7f}"]
        samples += (0..<128).map { String(UnicodeScalar(UInt8($0))) }
        samples += (0..<128).map { "run " + String(UnicodeScalar(UInt8($0))) + " of text" }
        for sample in samples {
            let expected = String(decoding: try encoder.encode(sample), as: UTF8.self)
            #expect(JSONText.quoted(sample) == expected, "\(Array(sample.utf8))")
        }
    }
}

@Suite struct JSONParserTests {
    @Test func parsesStrictly() {
        let value = JSONValue.parse(Array(#" {"a": [1, -2.5e1, true, false, null], "b": "x\"y\u00e9\ud83d\ude00\n", "c": {}} "#.utf8))
        #expect(
            value
                == .object([
                    "a": .array([.integer(1), .number(-25), .bool(true), .bool(false), .null]), "b": .string("x\"yé😀\n"), "c": .object([:]),
                ]))
        for bad in [
            "", "{", "{\"a\":}", "[1,]", "01", "1.", "\"\u{1}\"", "{\"a\":1} x", "tru", "\"\\ud800\"", "{a:1}",
            String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
        ] {
            #expect(JSONValue.parse(Array(bad.utf8)) == nil, "\(bad)")
        }
        #expect(JSONValue.parse(Array("9223372036854775807".utf8)) == .integer(Int64.max))
        #expect(JSONValue.parse(Array("1e400".utf8)) == nil)
    }

    @Test func canonicalFormIsWhatJSONEncoderWritesWithSortedKeys() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let values: [JSONValue] = [
            .object([:]), .array([]), .null, .bool(false), .integer(-42), .integer(Int64.max), .number(0.1), .number(1e100),
            .number(-2.5), .string("a/b \"q\" \\ \u{1}\u{8}\u{c}\n\r\t\u{7f} é 😀"),
            .object([
                "b": .array([.integer(1), .string("x"), .object(["z": .null, "B": .bool(true), "a": .number(1.5)])]),
                "a": .object([:]), "aa": .string(""), "é": .integer(0), "10": .integer(10), "9": .integer(9),
                "e\u{301}x": .integer(1), "f": .integer(2),
            ]),
        ]
        for value in values {
            #expect(String(decoding: value.canonicalData, as: UTF8.self) == String(decoding: try encoder.encode(value), as: UTF8.self))
        }
    }
}
