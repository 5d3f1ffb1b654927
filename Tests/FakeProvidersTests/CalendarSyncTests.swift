import Foundation
import Testing

@testable import FakeProviders

/// Calendar: full sync to a `nextSyncToken` (never with a `nextPageToken`), incremental sync of
/// inserts, changes and deletions, 410 `fullSyncRequired`, client-supplied ids and 409.
@Suite struct CalendarSyncTests {
    static func listAll(_ fakes: Fakes, token: String, extra: [(String, String)]) async throws -> (items: [JSON], syncToken: String) {
        var items: [JSON] = []
        var pageToken: String?
        while true {
            var pairs = extra
            if let pageToken { pairs.append(("pageToken", pageToken)) }
            let response = try await fakes.get(fakes.urls.calendar + "/calendar/v3/calendars/primary/events" + query(pairs), token: token)
            #expect(response.status == 200, "\(response.text)")
            let page = response.json
            #expect((page["nextPageToken"] == nil) != (page["nextSyncToken"] == nil), "exactly one of nextPageToken and nextSyncToken")
            #expect(page["kind"] == "calendar#events")
            items += page["items"]?.arrayValue ?? []
            if let sync = page["nextSyncToken"]?.stringValue { return (items, sync) }
            pageToken = page["nextPageToken"]?.stringValue
        }
    }

    @Test func syncTokenRoundTripAndFullSyncRequired() async throws {
        let fakes = try await Fakes.start()
        let token = try await fakes.token("google")
        let (items, syncToken) = try await Self.listAll(fakes, token: token, extra: [("singleEvents", "true"), ("maxResults", "7")])
        #expect(items.count > 40, "recurring series expand into instances")
        #expect(items.contains { $0["recurringEventId"] != nil && $0["originalStartTime"] != nil })
        #expect(items.allSatisfy { $0["status"]?.stringValue != "cancelled" })
        let updated = try #require(items.first?["updated"]?.stringValue)
        #expect(updated.hasSuffix("Z") && updated.contains("."), "RFC 3339 with milliseconds")

        let now = Date().addingTimeInterval(86_400)
        let start = Timestamps.rfc3339(Int64(now.timeIntervalSince1970 * 1000))
        let end = Timestamps.rfc3339(Int64(now.timeIntervalSince1970 * 1000) + 3_600_000)
        let inserted = try await fakes.send(
            "POST", fakes.urls.calendar + "/calendar/v3/calendars/primary/events?conferenceDataVersion=1", token: token,
            json: .object([
                ("id", "briefing0001abc"), ("summary", "Planning"), ("start", .object([("dateTime", .string(start))])),
                ("end", .object([("dateTime", .string(end))])), ("attendees", [.object([("email", "bob@acme.test")])]),
                (
                    "conferenceData",
                    .object([
                        (
                            "createRequest",
                            .object([("requestId", "req-1"), ("conferenceSolutionKey", .object([("type", "hangoutsMeet")]))])
                        )
                    ])
                ),
            ]))
        #expect(inserted.status == 200, "\(inserted.text)")
        #expect(inserted.json["id"] == "briefing0001abc")
        #expect(inserted.json["hangoutLink"]?.stringValue?.hasPrefix("https://meet.google.com/") == true)
        #expect(inserted.json["conferenceData"]?["createRequest"]?["status"]?["statusCode"] == "success")
        let duplicate = try await fakes.send(
            "POST", fakes.urls.calendar + "/calendar/v3/calendars/primary/events", token: token,
            json: .object([
                ("id", "briefing0001abc"), ("start", .object([("dateTime", .string(start))])),
                ("end", .object([("dateTime", .string(end))])),
            ]))
        #expect(duplicate.status == 409)
        #expect(duplicate.json["error"]?["errors"]?.arrayValue?.first?["reason"] == "duplicate")

        let victim = try #require(items.first { $0["recurringEventId"] == nil }?["id"]?.stringValue)
        try await fakes.control("DELETE", "/control/calendar/alice@acme.test/events/\(victim)")
        let created = try await fakes.control(
            "POST", "/control/calendar/alice@acme.test/events",
            .object([
                ("summary", "Dentist"), ("start", .object([("date", .string(Timestamps.date(Int64(now.timeIntervalSince1970 * 1000))))])),
                ("end", .object([("date", .string(Timestamps.date(Int64(now.timeIntervalSince1970 * 1000) + 86_400_000)))])),
            ]))
        let createdId = try #require(created["id"]?.stringValue)
        try await fakes.control("PATCH", "/control/calendar/alice@acme.test/events/\(createdId)", .object([("summary", "Dentist (moved)")]))

        let (changes, nextSync) = try await Self.listAll(fakes, token: token, extra: [("singleEvents", "true"), ("syncToken", syncToken)])
        #expect(Set(changes.compactMap { $0["id"]?.stringValue }) == ["briefing0001abc", victim, createdId])
        let cancelled = try #require(changes.first { $0["id"]?.stringValue == victim })
        #expect(cancelled["status"] == "cancelled")
        #expect(cancelled["summary"] == nil, "a deletion carries little more than its id")
        #expect(changes.first { $0["id"]?.stringValue == createdId }?["summary"] == "Dentist (moved)")
        #expect(changes.first { $0["id"]?.stringValue == createdId }?["start"]?["date"] != nil, "all-day events use date")

        let (none, _) = try await Self.listAll(fakes, token: token, extra: [("singleEvents", "true"), ("syncToken", nextSync)])
        #expect(none.isEmpty)

        let forbidden = try await fakes.get(
            fakes.urls.calendar + "/calendar/v3/calendars/primary/events" + query([("syncToken", nextSync), ("timeMin", start)]),
            token: token)
        #expect(forbidden.status == 400)

        try await fakes.control("POST", "/control/calendar/alice@acme.test/invalidate-sync")
        let gone = try await fakes.get(
            fakes.urls.calendar + "/calendar/v3/calendars/primary/events" + query([("syncToken", nextSync)]), token: token)
        #expect(gone.status == 410)
        #expect(
            gone.text
                == #"{"error":{"errors":[{"domain":"calendar","reason":"fullSyncRequired","message":"Sync token is no longer valid, a full sync is required.","locationType":"parameter","location":"syncToken"}],"code":410,"message":"Sync token is no longer valid, a full sync is required."}}"#
        )
        await fakes.stop()
    }

    @Test func windowOrderingAndFreeBusy() async throws {
        let fakes = try await Fakes.start { $0.calendarPageJitter = false }
        let token = try await fakes.token("google")
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let timeMin = Timestamps.rfc3339(nowMillis - nowMillis % 86_400_000)
        let timeMax = Timestamps.rfc3339(nowMillis - nowMillis % 86_400_000 + 3 * 86_400_000)
        let (items, _) = try await Self.listAll(
            fakes, token: token, extra: [("singleEvents", "true"), ("orderBy", "startTime"), ("timeMin", timeMin), ("timeMax", timeMax)])
        #expect(items.count >= 4, "meetings in the next days")
        let starts = items.compactMap {
            Timestamps.parseRFC3339($0["start"]?["dateTime"]?.stringValue ?? "")
                ?? Timestamps.parseDate($0["start"]?["date"]?.stringValue ?? "")
        }
        #expect(starts == starts.sorted())
        let unordered = try await fakes.get(
            fakes.urls.calendar + "/calendar/v3/calendars/primary/events" + query([("orderBy", "startTime")]), token: token)
        #expect(unordered.status == 400)
        let empty = try await fakes.get(
            fakes.urls.calendar + "/calendar/v3/calendars/primary/events" + query([("timeMin", timeMax), ("timeMax", timeMin)]),
            token: token)
        #expect(empty.status == 400)
        #expect(empty.json["error"]?["errors"]?.arrayValue?.first?["reason"] == "timeRangeEmpty")
        let busy = try await fakes.send(
            "POST", fakes.urls.calendar + "/calendar/v3/freeBusy", token: token,
            json: .object([
                ("timeMin", .string(timeMin)), ("timeMax", .string(timeMax)),
                ("items", [.object([("id", "primary")]), .object([("id", "nobody@nowhere.example")])]),
            ]))
        let intervals = busy.json["calendars"]?["primary"]?["busy"]?.arrayValue ?? []
        #expect(!intervals.isEmpty)
        #expect(busy.json["calendars"]?["nobody@nowhere.example"]?["errors"]?.arrayValue?.first?["reason"] == "notFound")
        await fakes.stop()
    }
}
