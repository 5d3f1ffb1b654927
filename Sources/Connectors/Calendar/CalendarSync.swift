import Contracts
import Foundation

/// Google Calendar: the primary calendar's events, recurring ones expanded into instances. A
/// full pass reads from 30 days back and ends with a `nextSyncToken`; incremental passes send
/// that token (a 410 means a full resync). Cancelled events are deleted.
public struct CalendarSync: ConnectorSyncer {
    let base: String
    let lookBack: TimeInterval

    /// - Parameter host: Calendar's host (`https://www.googleapis.com`).
    public init(host: String, lookBack: TimeInterval = 30 * 86_400) {
        base = host + "/calendar/v3/calendars/primary/events"
        self.lookBack = lookBack
    }

    struct Events: Decodable {
        let items: [Event]?
        let nextPageToken: String?
        let nextSyncToken: String?
    }

    struct Event: Decodable {
        struct When: Decodable {
            let dateTime: String?
            let date: String?
            let timeZone: String?
        }

        struct Person: Decodable {
            let email: String?
            let displayName: String?
            let responseStatus: String?
            let organizer: Bool?
            let `self`: Bool?
        }

        let id: String
        let status: String?
        let summary: String?
        let htmlLink: String?
        let start: When?
        let end: When?
        let attendees: [Person]?
        let organizer: Person?
        let recurringEventId: String?
        let updated: String?
        let hangoutLink: String?
    }

    public func next(_ cursor: SyncCursor, session: ProviderSession) async throws(ConnectorFailure) -> SyncPage {
        var cursor = cursor
        var query: [(String, String?)] = [("singleEvents", "true"), ("maxResults", "250"), ("pageToken", cursor.page)]
        if cursor.phase == .full {
            // Every page of a pass repeats the first page's parameters: a page token is bound to them.
            let from = cursor.state["time_min"] ?? ProviderTime.string(Date().addingTimeInterval(-lookBack))
            cursor.state["time_min"] = from
            query.append(("timeMin", from))
        } else {
            query.append(("syncToken", cursor.token))
        }
        let events = try await session.get(base + "?" + Query.string(query), as: Events.self, cursorRequest: cursor.phase == .incremental)
        let changes = (events.items ?? []).map { event -> ItemChange in
            event.status == "cancelled" ? .delete(sourceID: event.id) : .upsert(Self.item(event))
        }
        if let next = events.nextPageToken {
            cursor.page = next
            return SyncPage(changes: changes, cursor: cursor, done: false)
        }
        let wasFull = cursor.phase == .full
        cursor = SyncCursor(
            phase: .incremental, token: events.nextSyncToken ?? cursor.token, state: cursor.state.filter { $0.key != "time_min" },
            generation: cursor.generation,
            lastFullAt: wasFull ? Clock.milliseconds() : cursor.lastFullAt)
        return SyncPage(changes: changes, cursor: cursor, done: true)
    }

    static func time(_ when: Event.When?) -> Date? { ProviderTime.rfc3339(when?.dateTime) ?? ProviderTime.day(when?.date) }

    static func item(_ event: Event) -> SyncedItem {
        let attendees: [JSONValue] = (event.attendees ?? []).map { person in
            var out: [String: JSONValue] = ["email": .string(person.email ?? "")]
            if let status = person.responseStatus { out["response"] = .string(status) }
            if person.`self` == true { out["self"] = .bool(true) }
            return .object(out)
        }
        var details: [String: JSONValue] = ["all_day": .bool(event.start?.dateTime == nil)]
        if let end = time(event.end) { details["end"] = .string(ProviderTime.string(end)) }
        if let series = event.recurringEventId { details["recurring_event_id"] = .string(series) }
        if let zone = event.start?.timeZone { details["time_zone"] = .string(zone) }
        if let own = event.attendees?.first(where: { $0.`self` == true })?.responseStatus { details["self_response"] = .string(own) }
        details["video"] = .bool(event.hangoutLink != nil)
        return SyncedItem(
            type: "event", sourceID: event.id, title: event.summary ?? "",
            people: ["organizer": .string(event.organizer?.email ?? ""), "attendees": .array(attendees)], occurredAt: time(event.start),
            updatedAt: ProviderTime.rfc3339(event.updated), link: event.htmlLink, status: event.status ?? "confirmed", details: details)
    }
}
