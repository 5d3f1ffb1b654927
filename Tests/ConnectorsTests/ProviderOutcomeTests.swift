import Connectors
import Foundation
import OutboundHTTP
import Testing

/// The connectors' one error model: what a provider's answer means for the job.
@Suite struct ProviderOutcomeTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func outcome(_ status: Int, _ headers: [(String, String)] = [], body: String = "", cursor: Bool = false) -> ProviderOutcome {
        ProviderOutcome(
            OutboundResponse(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8)),
            cursorRequest: cursor, now: now)
    }

    @Test func statusesMapToWhatTheJobDoes() {
        #expect(outcome(200) == .success)
        #expect(outcome(304) == .success)
        #expect(outcome(401) == .refreshToken)
        #expect(outcome(410) == .resync)
        #expect(outcome(404, cursor: true) == .resync)
        #expect(outcome(404) == .notFound)
        #expect(outcome(400) == .fail)
        // Google's 400 for a page or sync token it no longer knows starts the pass again.
        let unknownPage = #"{"error":{"errors":[{"reason":"invalid","location":"pageToken","locationType":"parameter"}],"code":400}}"#
        #expect(outcome(400, body: unknownPage) == .resync)
        #expect(outcome(400, body: #"{"error":{"errors":[{"reason":"invalid","location":"q"}],"code":400}}"#) == .fail)
        #expect(outcome(403, body: #"{"error":{"errors":[{"reason":"insufficientPermissions"}]}}"#) == .fail)
        #expect(outcome(502) == .retry)
        #expect(outcome(503) == .retry)
    }

    @Test func rateLimitsRescheduleForTheTimeTheProviderNames() {
        #expect(outcome(429, [("Retry-After", "30")]) == .reschedule(after: .seconds(30)))
        #expect(outcome(429, [("retry-after", "Fri, 15 Jan 2027 08:00:10 GMT")]) == .reschedule(after: .seconds(10)))
        // Google's rate-limit 403s.
        #expect(outcome(403, body: #"{"error":{"errors":[{"reason":"userRateLimitExceeded"}]}}"#) == .reschedule(after: .seconds(60)))
        // GitHub's primary limit: remaining 0 and the reset time.
        #expect(
            outcome(403, [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1800000120")]) == .reschedule(after: .seconds(120)))
        // Never less than a second nor more than an hour.
        #expect(outcome(429, [("Retry-After", "0")]) == .reschedule(after: .seconds(1)))
        #expect(outcome(429, [("Retry-After", "86400")]) == .reschedule(after: .seconds(3600)))
    }
}
