import Contracts
import Testing

@testable import Dispatcher

/// The gateway's settings from the environment: read, and refused with the fix when out of range.
@Suite struct GatewayConfigurationTests {
    @Test func timeoutsAreReadAndRangeChecked() throws {
        let read = try GatewayConfiguration.load(environment: ["OC_OIDC_KEYS_TIMEOUT_MS": "1500", "OC_BODY_TIMEOUT_MS": "2500"])
        #expect(read.oidc.keysTimeout == .milliseconds(1500))
        #expect(read.bodyTimeout == .milliseconds(2500))
        #expect(try GatewayConfiguration.load(environment: [:]).oidc.keysTimeout == .seconds(5))
        for bad in ["0", "-5", "999999999", "soon"] {
            #expect(throws: FleetError.self) { try GatewayConfiguration.load(environment: ["OC_OIDC_KEYS_TIMEOUT_MS": bad]) }
        }
    }
}
