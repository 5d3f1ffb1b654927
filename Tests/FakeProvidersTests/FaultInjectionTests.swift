import Foundation
import OutboundHTTP
import Testing

@testable import FakeProviders

/// Faults set through the control API: rate limits with `Retry-After`, then success; timeouts.
@Suite struct FaultInjectionTests {
    @Test func rateLimitThenSuccessAndTimeouts() async throws {
        let fakes = try await Fakes.start()
        let token = try await fakes.token("google")
        try await fakes.control(
            "POST", "/control/faults",
            .object([
                ("service", "gmail"), ("path_prefix", "/gmail/v1/users/me/messages"), ("method", "GET"), ("count", 2), ("status", 429),
                ("headers", .object([("Retry-After", "2")])),
            ]))
        let url = fakes.urls.gmail + "/gmail/v1/users/me/messages?maxResults=1"
        for _ in 0..<2 {
            let limited = try await fakes.get(url, token: token)
            #expect(limited.status == 429 && limited.header("retry-after") == "2")
            #expect(limited.json["error"]?["errors"]?.arrayValue?.first?["reason"] == "rateLimitExceeded")
        }
        #expect(try await fakes.get(url, token: token).status == 200)
        #expect(try await fakes.get(fakes.urls.gmail + "/gmail/v1/users/me/profile", token: token).status == 200)

        try await fakes.control(
            "POST", "/control/faults",
            .object([("service", "jira"), ("path_prefix", "/ex/jira"), ("count", 1), ("status", 0), ("delay_ms", 1500)]))
        let jira = fakes.urls.jira + "/ex/jira/\(fakes.urls.cloudId)/rest/api/3/myself"
        let jiraToken = try await fakes.token("atlassian")
        await #expect(throws: OutboundHTTPError.self) {
            _ = try await fakes.http.send(
                OutboundRequest(url: jira, headers: [("Authorization", "Bearer \(jiraToken)")], timeout: .milliseconds(400)))
        }
        try await fakes.control(
            "POST", "/control/faults", .object([("service", "github"), ("path_prefix", "/user"), ("count", 5), ("status", 503)]))
        try await fakes.control("DELETE", "/control/faults")
        #expect(try await fakes.get(fakes.urls.github + "/user", token: try await fakes.token("github")).status == 200)
        let log = try await fakes.control("GET", "/control/requests?service=gmail")["requests"]?.arrayValue ?? []
        #expect(log.filter { $0["status"] == 429 }.count == 2)
        await fakes.stop()
    }
}
