import Contracts
import Foundation
import OutboundHTTP

/// Google Calendar's `freebusy.query` (`POST /calendar/v3/freeBusy`) for the user's primary
/// calendar: the busy ranges only, never what the events are.
public struct CalendarFreeBusy: Sendable {
    public let host: String

    public init(host: String) { self.host = host }

    /// The primary calendar's busy ranges between `from` and `to` (start inclusive, end
    /// exclusive), in time order.
    public func busy(from: Date, to: Date, session: ProviderSession) async throws(ConnectorFailure) -> [(start: Date, end: Date)] {
        struct Answer: Decodable {
            struct Range: Decodable {
                let start: String
                let end: String
            }
            struct Calendar: Decodable {
                struct Problem: Decodable { let reason: String? }
                let busy: [Range]?
                let errors: [Problem]?
            }
            let calendars: [String: Calendar]?
        }
        let url = "\(host)/calendar/v3/freeBusy"
        let body: [String: JSONValue] = [
            "timeMin": .string(Self.stamp(from)), "timeMax": .string(Self.stamp(to)), "timeZone": .string("UTC"),
            "items": .array([.object(["id": .string("primary")])]),
        ]
        let response = try await session.send(
            OutboundRequest(
                method: "POST", url: url, headers: [("Content-Type", "application/json")], body: JSONValue.object(body).canonicalBytes))
        let answer = try ProviderSession.decode(Answer.self, response, from: url)
        guard let calendar = answer.calendars?["primary"] else { throw .fail("\(url) answered without the primary calendar") }
        if let problem = calendar.errors?.first {
            throw .fail("\(url) could not read the primary calendar: \(problem.reason ?? "unknown reason")")
        }
        return (calendar.busy ?? []).compactMap { range in
            guard let start = ProviderTime.rfc3339(range.start), let end = ProviderTime.rfc3339(range.end), start < end else { return nil }
            return (start, end)
        }.sorted { $0.start < $1.start }
    }

    static func stamp(_ date: Date) -> String { RFC3339.format(date) }
}
