import Contracts
import Foundation
import OutboundHTTP

/// What a connector does with a provider's answer: the one error model shared by the five
/// providers (their particular signals, such as Google's rate-limit 403s or GitHub's
/// `x-ratelimit-reset`, are read here).
public enum ProviderOutcome: Sendable, Equatable {
    /// 2xx (or 304 for a conditional request): use the answer.
    case success
    /// 401: the access token expired or was revoked: refresh it and try once more.
    case refreshToken
    /// 429, or a 403 that says "rate limit": come back after this long (the provider's
    /// `Retry-After` or reset time, else a default), freeing the worker meanwhile.
    case reschedule(after: Duration)
    /// 410 (or 404 for a cursor, or Google's 400 naming the page or sync token): the saved
    /// cursor expired: sync everything again.
    case resync
    /// 404 of an item: it is gone (or no longer shared with the user).
    case notFound
    /// 5xx and transport trouble: retry with backoff.
    case retry
    /// Anything else (400, 403 without a rate limit): this request will not work as it is.
    case fail

    /// Reads `response` to a request made at `now`.
    /// - Parameter cursorRequest: whether the request carried a sync cursor (a 404 then means
    ///   the cursor is unknown to the provider).
    public init(_ response: OutboundResponse, cursorRequest: Bool = false, now: Date = Date()) {
        switch response.status {
        case 200..<300, 304:
            self = .success
        case 401:
            self = .refreshToken
        case 429:
            self = .reschedule(after: Self.wait(response, now: now))
        case 403 where Self.saysRateLimit(response):
            self = .reschedule(after: Self.wait(response, now: now))
        case 410:
            self = .resync
        case 400 where Self.refusesCursor(response):
            self = .resync
        case 404 where cursorRequest:
            self = .resync
        case 404:
            self = .notFound
        case 500..<600:
            self = .retry
        default:
            self = .fail
        }
    }

    /// How long a provider asks to wait: `Retry-After` (seconds or an HTTP date), else
    /// GitHub's `x-ratelimit-reset` (epoch seconds), else a minute. At most an hour.
    static func wait(_ response: OutboundResponse, now: Date) -> Duration {
        var seconds: Double?
        if let value = response.header("Retry-After")?.trimmingCharacters(in: .whitespaces) {
            if let number = Double(value) {
                seconds = number
            } else if let date = Self.httpDate(value) {
                seconds = date.timeIntervalSince(now)
            }
        }
        if seconds == nil, response.header("x-ratelimit-remaining") == "0",
            let reset = response.header("x-ratelimit-reset").flatMap(Double.init)
        {
            seconds = reset - now.timeIntervalSince1970
        }
        let bounded = min(3600, max(1, seconds ?? 60))
        return .milliseconds(Int64(bounded * 1000))
    }

    /// Google answers a page or sync token it no longer knows with 400 and the parameter's name
    /// as the error's location.
    static func refusesCursor(_ response: OutboundResponse) -> Bool {
        struct Body: Decodable {
            struct Failure: Decodable {
                struct Detail: Decodable { let location: String? }
                let errors: [Detail]?
            }
            let error: Failure?
        }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(response.body)) else { return false }
        return (body.error?.errors ?? []).contains { $0.location == "pageToken" || $0.location == "syncToken" }
    }

    /// Google answers some rate limits with 403 and a reason (`rateLimitExceeded`,
    /// `userRateLimitExceeded`); GitHub with 403 and `x-ratelimit-remaining: 0`.
    static func saysRateLimit(_ response: OutboundResponse) -> Bool {
        if response.header("x-ratelimit-remaining") == "0" || response.header("Retry-After") != nil { return true }
        let text = String(decoding: response.body.prefix(4096), as: UTF8.self)
        return text.contains("rateLimitExceeded") || text.contains("userRateLimitExceeded") || text.contains("secondary rate limit")
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
