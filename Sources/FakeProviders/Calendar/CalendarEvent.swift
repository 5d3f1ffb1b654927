import Foundation

/// `start`/`end` of an event: a `dateTime` with an optional `timeZone`, or an all-day `date`.
struct EventTime: Sendable, Equatable {
    /// Epoch ms (for an all-day date: its UTC midnight).
    let millis: Int64
    let allDay: Bool
    let timeZone: String?

    /// Parses `{"dateTime": RFC 3339, "timeZone"?}` or `{"date": "yyyy-mm-dd"}`.
    init?(_ json: JSON?) {
        guard let json else { return nil }
        if let date = json["date"]?.stringValue, let millis = Timestamps.parseDate(date) {
            self.millis = millis
            allDay = true
        } else if let text = json["dateTime"]?.stringValue, let millis = Timestamps.parseRFC3339(text) {
            self.millis = millis
            allDay = false
        } else {
            return nil
        }
        timeZone = json["timeZone"]?.stringValue
    }

    init(millis: Int64, allDay: Bool, timeZone: String?) {
        self.millis = millis
        self.allDay = allDay
        self.timeZone = timeZone
    }

    var zone: TimeZone { timeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")! }

    /// The API form; timed values in their zone's offset.
    var json: JSON {
        if allDay { return .object([("date", .string(Timestamps.date(millis)))]) }
        var fields: [(String, JSON)] = [("dateTime", .string(Timestamps.rfc3339(millis, zone: zone)))]
        if let timeZone { fields.append(("timeZone", .string(timeZone))) }
        return .object(fields)
    }

    func shifted(to millis: Int64) -> EventTime { EventTime(millis: millis, allDay: allDay, timeZone: timeZone) }

    /// The suffix of an instance id: `20240603T100000Z` or `20240603`.
    var instanceStamp: String {
        let text = Timestamps.rfc3339(millis).filter { $0 != "-" && $0 != ":" }
        return allDay ? String(text.prefix(8)) : text
    }
}

/// One stored event of a calendar: a single event, a recurring series, or an exception of a
/// series (`recurringEventId` set).
struct CalendarEvent: Sendable {
    let id: String
    var status: String
    /// Client-visible fields the API keeps as given (summary, attendees, reminders, ...), in order.
    var fields: [(String, JSON)]
    var start: EventTime
    var end: EventTime
    var recurrence: RecurrenceRule?
    var recurringEventId: String?
    var originalStart: EventTime?
    let created: Int64
    var updated: Int64
    var sequence: Int
    var changeSeq: Int64
    let iCalUID: String
    let organizer: String

    /// Fields computed by the server; a client cannot set them.
    static let managed: Set<String> = [
        "kind", "etag", "id", "status", "htmlLink", "created", "updated", "creator", "organizer", "iCalUID", "sequence",
        "recurringEventId", "originalStartTime", "hangoutLink",
    ]

    func field(_ name: String) -> JSON? { fields.first { $0.0 == name }?.1 }

    var etag: String { "\"\(3_400_000_000_000_000 + changeSeq * 1000 + Int64(sequence))\"" }

    var isCancelled: Bool { status == "cancelled" }

    var duration: Int64 { end.millis - start.millis }

    /// Whether any attendee entry is `owner` with `declined`.
    func declined(by owner: String) -> Bool {
        (field("attendees")?.arrayValue ?? []).contains {
            $0["email"]?.stringValue?.lowercased() == owner && $0["responseStatus"]?.stringValue == "declined"
        }
    }

    var transparent: Bool { field("transparency")?.stringValue == "transparent" }

    /// The text a `q` search looks at.
    var searchText: String {
        let keys = ["summary", "description", "location"]
        var text = keys.compactMap { field($0)?.stringValue }.joined(separator: " ")
        for attendee in field("attendees")?.arrayValue ?? [] {
            text += " " + (attendee["email"]?.stringValue ?? "") + " " + (attendee["displayName"]?.stringValue ?? "")
        }
        return text.lowercased()
    }
}

/// The API form of events, series, instances and deletions.
enum CalendarRepresentation {
    static func person(_ email: String, owner: String, directory: Directory) -> JSON {
        var object = JSONObjectBuilder()
        object.set("email", email)
        object.setIfPresent("displayName", directory.person(email)?.name)
        if email == owner { object.set("self", true) }
        return object.json
    }

    /// A live event or series (`instanceStart` renders one instance of a series).
    static func event(
        _ event: CalendarEvent, owner: String, calendarId: String, directory: Directory, instanceStart: Int64? = nil
    ) -> JSON {
        var object = JSONObjectBuilder()
        object.set("kind", "calendar#event")
        object.set("etag", event.etag)
        let start = instanceStart.map { event.start.shifted(to: $0) } ?? event.start
        let end = instanceStart.map { event.end.shifted(to: $0 + event.duration) } ?? event.end
        object.set("id", instanceStart == nil ? event.id : event.id + "_" + start.instanceStamp)
        object.set("status", event.status)
        let eid = Base64.urlEncodeUnpadded(Array("\(event.id) \(calendarId)".utf8))
        object.set("htmlLink", "https://www.google.com/calendar/event?eid=\(eid)")
        object.set("created", Timestamps.rfc3339Millis(event.created))
        object.set("updated", Timestamps.rfc3339Millis(event.updated))
        for key in ["summary", "description", "location", "colorId"] { object.setIfPresent(key, event.field(key)) }
        object.set("creator", person(event.organizer, owner: owner, directory: directory))
        object.set("organizer", person(event.organizer, owner: owner, directory: directory))
        object.set("start", start.json)
        object.set("end", end.json)
        if instanceStart == nil, let recurrence = event.field("recurrence") { object.set("recurrence", recurrence) }
        if let series = event.recurringEventId {
            object.set("recurringEventId", series)
            object.setIfPresent("originalStartTime", event.originalStart?.json)
        } else if let instanceStart {
            object.set("recurringEventId", event.id)
            object.set("originalStartTime", event.start.shifted(to: instanceStart).json)
        }
        for key in ["transparency", "visibility"] { object.setIfPresent(key, event.field(key)) }
        object.set("iCalUID", event.iCalUID)
        object.set("sequence", event.sequence)
        for key in ["attendees", "guestsCanInviteOthers", "guestsCanSeeOtherGuests", "hangoutLink", "conferenceData", "extendedProperties"]
        {
            object.setIfPresent(key, event.field(key))
        }
        object.set("reminders", event.field("reminders") ?? .object([("useDefault", true)]))
        object.set("eventType", event.field("eventType") ?? "default")
        return object.json
    }

    /// A deleted event or instance: only what a sync needs.
    static func cancelled(id: String, etag: String, series: String? = nil, originalStart: EventTime? = nil) -> JSON {
        var object = JSONObjectBuilder()
        object.set("kind", "calendar#event")
        object.set("etag", etag)
        object.set("id", id)
        object.set("status", "cancelled")
        object.setIfPresent("recurringEventId", series)
        object.setIfPresent("originalStartTime", originalStart?.json)
        return object.json
    }
}
