import Foundation
import JWTKit
import Testing

@testable import Dispatcher

/// Token claims read by the fleet's parser are the claims `JSONDecoder` reads; other types go to
/// JWTKit's decoder.
@Suite struct ClaimsDecoderTests {
    static func sorted(_ claims: Claims) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(claims.values), as: UTF8.self)
    }

    @Test(arguments: [
        #"{"iss":"http://issuer","aud":["fleet","other"],"sub":"alice","tenant":"acme","roles":"user team_lead","exp":1893456000,"nbf":1.5e9,"iat":-3,"admin":true,"x":null,"nested":{"a":[1,2.5,"b",false,{}]},"uni":"é\u00e9\n\"/"}"#,
        #"{}"#,
        #"{"exp":"1893456000","big":12345678901234567890}"#,
    ])
    func claimsAreWhatTheDecoderReads(payload: String) throws {
        let fast = try ClaimsJSONDecoder().decode(Claims.self, from: Data(payload.utf8))
        let slow = try JSONDecoder().decode(Claims.self, from: Data(payload.utf8))
        #expect(try Self.sorted(fast) == Self.sorted(slow))
    }

    /// RFC 7519 section 4: a claim named twice is either refused or its lexically last value used.
    @Test func aClaimNamedTwiceIsItsLastValue() throws {
        let claims = try ClaimsJSONDecoder().decode(Claims.self, from: Data(#"{"tenant":"a","x":{"k":1,"k":2},"tenant":"b"}"#.utf8))
        #expect(claims.values["tenant"]?.string == "b")
        #expect(try Self.sorted(claims) == #"{"tenant":"b","x":{"k":2}}"#)
    }

    @Test func whatIsNotAnObjectOfClaimsIsRefusedAsTheDecoderRefusesIt() throws {
        #expect(throws: (any Error).self) { try ClaimsJSONDecoder().decode(Claims.self, from: Data("[1]".utf8)) }
        #expect(throws: (any Error).self) { try ClaimsJSONDecoder().decode(Claims.self, from: Data(#"{"a":"#.utf8)) }
        let header = try ClaimsJSONDecoder().decode(JWTHeader.self, from: Data(#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#.utf8))
        #expect(header.alg == "ES256" && header.kid == "k1")
    }
}
