import Contracts
import Foundation
import Settings
import Testing

@Suite struct SettingsTests {
    func file(_ yaml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("oc-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theEnvironmentWinsOverTheFileAndNestedMapsAreJoined() throws {
        let path = try file(
            """
            redis_url: redis://from-file:6379/0
            opa_timeout_ms: 250
            oidc:
              issuer: https://id.example.com
              algorithms: [RS256, ES256]
            """)
        let values = try ConfigurationValues.load(environment: ["OC_CONFIG_FILE": path, "OC_REDIS_URL": "redis://from-env:6379/1"])
        #expect(values.string("redis_url") == "redis://from-env:6379/1")
        #expect(values.string("oidc_issuer") == "https://id.example.com")
        #expect(values.list("oidc_algorithms") == ["RS256", "ES256"])
        let settings = try FleetSettings(values)
        #expect(settings.redisURL == "redis://from-env:6379/1")
        #expect(settings.policy.timeout == .milliseconds(250))
    }

    @Test func aBadValueNamesItsKeyAndWhereItCameFrom() throws {
        let values = ConfigurationValues(["opa_timeout_ms": "soon"], source: "test.yaml")
        #expect {
            _ = try FleetSettings(values)
        } throws: { error in
            let message = (error as? FleetError)?.message ?? ""
            return message.contains("opa_timeout_ms") && message.contains("test.yaml") && message.contains("whole number")
        }
        #expect(throws: FleetError.self) { _ = try FleetSettings(ConfigurationValues(["decision_cache_size": "-1"])) }
        #expect(throws: FleetError.self) { _ = try FleetSettings(ConfigurationValues(["log_level": "loud"])) }
    }

    @Test func anUnreadableOrMalformedFileIsOneClearError() throws {
        #expect {
            _ = try ConfigurationValues.load(environment: ["OC_CONFIG_FILE": "/nonexistent/oc.yaml"])
        } throws: { ($0 as? FleetError)?.message.contains("cannot read OC_CONFIG_FILE") == true }
        let broken = try file("port: [unclosed")
        #expect {
            _ = try ConfigurationValues.load(environment: ["OC_CONFIG_FILE": broken])
        } throws: { ($0 as? FleetError)?.message.contains("not valid YAML") == true }
        let list = try file("- a\n- b\n")
        #expect {
            _ = try ConfigurationValues.load(environment: ["OC_CONFIG_FILE": list])
        } throws: { ($0 as? FleetError)?.message.contains("must be a YAML map") == true }
    }
}
