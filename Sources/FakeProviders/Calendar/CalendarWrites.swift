/// Changes to events (API and control port alike): each gets the next change number, so sync
/// tokens see it, and a new etag.
extension CalendarStore {
    enum WriteError: Error {
        case invalidId
        case duplicate
        case missing(String)
        case timeRangeEmpty
        case notFound
        case deleted
        case preconditionFailed
    }

    static func isValidId(_ id: String) -> Bool {
        (5...1024).contains(id.count) && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 118) }
    }

    static func newId() -> String { OpaqueToken.make(26, alphabet: "abcdefghijklmnopqrstuv0123456789") }

    /// Attendees with a `responseStatus`, the organizer accepted.
    private func normalizedAttendees(_ value: JSON?, organizer: String) -> JSON? {
        guard let list = value?.arrayValue else { return value }
        return .array(
            list.map { attendee in
                var entry = attendee
                let email = attendee["email"]?.stringValue?.lowercased() ?? ""
                if email == organizer {
                    entry = entry.setting("organizer", true)
                    if entry["responseStatus"] == nil { entry = entry.setting("responseStatus", "accepted") }
                }
                if entry["responseStatus"] == nil { entry = entry.setting("responseStatus", "needsAction") }
                if email == owner.email { entry = entry.setting("self", true) }
                if entry["displayName"] == nil, let name = directory.person(email)?.name {
                    entry = entry.setting("displayName", .string(name))
                }
                return entry
            })
    }

    private func conference(_ request: JSON?) -> (link: String, data: JSON)? {
        guard let create = request?["createRequest"] else { return nil }
        let code =
            OpaqueToken.make(3, alphabet: "abcdefghijklmnopqrstuvwxyz") + "-" + OpaqueToken.make(4, alphabet: "abcdefghijklmnopqrstuvwxyz")
            + "-"
            + OpaqueToken.make(3, alphabet: "abcdefghijklmnopqrstuvwxyz")
        let link = "https://meet.google.com/\(code)"
        let data: JSON = .object([
            (
                "createRequest",
                .object([
                    ("requestId", create["requestId"] ?? .string(OpaqueToken.make(12))),
                    ("conferenceSolutionKey", create["conferenceSolutionKey"] ?? .object([("type", "hangoutsMeet")])),
                    ("status", .object([("statusCode", "success")])),
                ])
            ),
            (
                "entryPoints",
                .array([.object([("entryPointType", "video"), ("uri", .string(link)), ("label", .string("meet.google.com/\(code)"))])])
            ),
            (
                "conferenceSolution",
                .object([
                    ("key", .object([("type", "hangoutsMeet")])), ("name", "Google Meet"),
                    (
                        "iconUri",
                        "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"
                    ),
                ])
            ),
            ("conferenceId", .string(code)),
        ])
        return (link, data)
    }

    /// `fields` of `body`, without what the server manages.
    private func clientFields(_ body: JSON, organizer: String, withConference: Bool) -> [(String, JSON)] {
        var fields: [(String, JSON)] = []
        for (key, value) in body.objectValue ?? [] where !CalendarEvent.managed.contains(key) && key != "start" && key != "end" {
            if key == "attendees" {
                fields.append((key, normalizedAttendees(value, organizer: organizer) ?? value))
            } else if key == "conferenceData" {
                if withConference, let made = conference(value) {
                    fields.append(("hangoutLink", .string(made.link)))
                    fields.append((key, made.data))
                }
            } else {
                fields.append((key, value))
            }
        }
        return fields
    }

    /// `events.insert`.
    func insert(calendarId: String, body: JSON, now: Int64, conferenceDataVersion: Int) -> Result<JSON, WriteError> {
        let requestedId = body["id"]?.stringValue
        if let requestedId, !Self.isValidId(requestedId) { return .failure(.invalidId) }
        guard let start = EventTime(body["start"]) else { return .failure(.missing("start")) }
        guard let end = EventTime(body["end"]) else { return .failure(.missing("end")) }
        guard end.millis > start.millis || (start.allDay && end.millis >= start.millis) else { return .failure(.timeRangeEmpty) }
        let organizer = body["organizer"]?["email"]?.stringValue?.lowercased() ?? owner.email
        return state.withLock { state -> Result<JSON, WriteError> in
            let id = requestedId ?? Self.newId()
            if state.events[calendarId]?[id] != nil { return .failure(.duplicate) }
            let fields = clientFields(body, organizer: organizer, withConference: conferenceDataVersion >= 1)
            let recurrence = fields.first { $0.0 == "recurrence" }?.1.stringArray.flatMap(RecurrenceRule.init(lines:))
            let event = CalendarEvent(
                id: id, status: body["status"]?.stringValue ?? "confirmed", fields: fields, start: start, end: end, recurrence: recurrence,
                recurringEventId: body["recurringEventId"]?.stringValue, originalStart: EventTime(body["originalStartTime"]), created: now,
                updated: now, sequence: 0, changeSeq: 0, iCalUID: body["iCalUID"]?.stringValue ?? id + "@google.com", organizer: organizer)
            let stored = Self.store(event, calendar: calendarId, in: &state)
            return .success(CalendarRepresentation.event(stored, owner: owner.email, calendarId: calendarId, directory: directory))
        }
    }

    /// The stored event `id`, or an exception made from its series when `id` names an instance.
    private static func target(_ id: String, calendar: String, state: State, owner: String) -> CalendarEvent? {
        let events = state.events[calendar] ?? [:]
        if let event = events[id] { return event }
        guard let underscore = id.lastIndex(of: "_"), let series = events[String(id[..<underscore])], let rule = series.recurrence,
            let original = RecurrenceRule.parseICalTime(String(id[id.index(after: underscore)...])),
            rule.occurrences(start: series.start.millis, zone: series.start.zone, limit: original + 1).contains(original)
        else { return nil }
        return CalendarEvent(
            id: id, status: series.status, fields: series.fields.filter { $0.0 != "recurrence" }, start: series.start.shifted(to: original),
            end: series.end.shifted(to: original + series.duration), recurrence: nil, recurringEventId: series.id,
            originalStart: series.start.shifted(to: original), created: series.created, updated: series.updated, sequence: series.sequence,
            changeSeq: 0, iCalUID: series.iCalUID, organizer: series.organizer)
    }

    /// `events.patch` (`replace: false`) and `events.update` (`replace: true`).
    func patch(calendarId: String, id: String, body: JSON, replace: Bool, ifMatch: String?, now: Int64) -> Result<JSON, WriteError> {
        state.withLock { state -> Result<JSON, WriteError> in
            guard var event = Self.target(id, calendar: calendarId, state: state, owner: owner.email) else { return .failure(.notFound) }
            if let ifMatch, ifMatch != "*", ifMatch != event.etag { return .failure(.preconditionFailed) }
            let changes = clientFields(body, organizer: event.organizer, withConference: true)
            if replace {
                event.fields = changes
            } else {
                for (key, value) in changes {
                    if let index = event.fields.firstIndex(where: { $0.0 == key }) {
                        event.fields[index].1 = value
                    } else {
                        event.fields.append((key, value))
                    }
                }
            }
            var timesChanged = false
            if let start = EventTime(body["start"]) {
                timesChanged = timesChanged || start != event.start
                event.start = start
            }
            if let end = EventTime(body["end"]) {
                timesChanged = timesChanged || end != event.end
                event.end = end
            }
            guard event.end.millis >= event.start.millis else { return .failure(.timeRangeEmpty) }
            if let status = body["status"]?.stringValue { event.status = status }
            if body["recurrence"] != nil { event.recurrence = event.field("recurrence")?.stringArray.flatMap(RecurrenceRule.init(lines:)) }
            if timesChanged { event.sequence += 1 }
            event.updated = max(now, event.updated + 1)
            let stored = Self.store(event, calendar: calendarId, in: &state)
            return .success(CalendarRepresentation.event(stored, owner: owner.email, calendarId: calendarId, directory: directory))
        }
    }

    /// `events.delete`: the event (or instance) becomes `cancelled`.
    func delete(calendarId: String, id: String, ifMatch: String?, now: Int64) -> Result<Void, WriteError> {
        state.withLock { state -> Result<Void, WriteError> in
            guard var event = Self.target(id, calendar: calendarId, state: state, owner: owner.email) else { return .failure(.notFound) }
            if event.isCancelled { return .failure(.deleted) }
            if let ifMatch, ifMatch != "*", ifMatch != event.etag { return .failure(.preconditionFailed) }
            event.status = "cancelled"
            event.updated = max(now, event.updated + 1)
            _ = Self.store(event, calendar: calendarId, in: &state)
            return .success(())
        }
    }
}
