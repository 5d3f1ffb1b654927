import Foundation

/// Makes a user's calendars from the seed: recurring meetings (daily stand-up, weekly 1:1,
/// fortnightly planning, monthly all-hands), one-off meetings with attendees (several in the
/// next days, some declined or tentative), all-day events (holidays, an out-of-office trip).
struct CalendarGenerator {
    let owner: Person
    let directory: Directory
    let now: Int64
    var random: SeededGenerator

    static let meetingTitles = [
        "Design review: {project}", "{project} sync", "Customer call – {company}", "Interview: backend engineer", "Budget planning",
        "Retro", "Architecture deep-dive", "Vendor demo – {company}", "Security review", "Roadmap Q3", "Lunch & learn",
    ]

    static func store(for owner: Person, directory: Directory, count: Int, now: Int64, seed: UInt64) -> CalendarStore {
        var teamRandom = SeededGenerator(seed: seed, purpose: "team-cal:" + owner.email)
        let team =
            "c_" + String(teamRandom.next() % 1_000_000_000_000, radix: 36)
            + "@group.calendar.google.com"
        let store = CalendarStore(
            owner: owner, directory: directory,
            calendars: [
                .init(id: owner.email, summary: owner.email, timeZone: owner.timeZone, primary: true),
                .init(id: team, summary: "Team offsites", timeZone: owner.timeZone, primary: false),
            ])
        var generator = CalendarGenerator(
            owner: owner, directory: directory, now: now, random: SeededGenerator(seed: seed, purpose: "calendar:" + owner.email))
        store.load(generator.primaryEvents(count: count), calendar: owner.email)
        store.load(generator.teamEvents(), calendar: team)
        return store
    }

    private var dayStart: Int64 { now - now % 86_400_000 }

    private mutating func id() -> String { random.string(26, alphabet: "abcdefghijklmnopqrstuv0123456789") }

    private func attendee(_ person: Person, status: String, organizer: Bool = false) -> JSON {
        var fields: [(String, JSON)] = [("email", .string(person.email)), ("displayName", .string(person.name))]
        if organizer { fields.append(("organizer", true)) }
        if person.email == owner.email { fields.append(("self", true)) }
        fields.append(("responseStatus", .string(status)))
        return .object(fields)
    }

    private mutating func event(
        summary: String, start: Int64, minutes: Int64, zone: String, attendees: [Person], recurrence: [String]? = nil,
        description: String? = nil, location: String? = nil, ownerStatus: String = "accepted", organizer: Person? = nil,
        allDay: Bool = false,
        transparent: Bool = false
    ) -> CalendarEvent {
        let organizer = organizer ?? owner
        var fields: [(String, JSON)] = [("summary", .string(summary))]
        if let description { fields.append(("description", .string(description))) }
        if let location { fields.append(("location", .string(location))) }
        if transparent { fields.append(("transparency", "transparent")) }
        if let recurrence { fields.append(("recurrence", .array(recurrence.map { .string($0) }))) }
        if !attendees.isEmpty {
            var list = [attendee(organizer, status: "accepted", organizer: true)]
            for person in attendees where person.email != organizer.email {
                let status =
                    person.email == owner.email
                    ? ownerStatus : random.pick(["accepted", "accepted", "needsAction", "tentative", "declined"])
                list.append(attendee(person, status: status))
            }
            if organizer.email != owner.email, !attendees.contains(where: { $0.email == owner.email }) {
                list.append(attendee(owner, status: ownerStatus))
            }
            fields.append(("attendees", .array(list)))
        }
        if location == nil, !attendees.isEmpty, random.chance(0.5) {
            let code =
                random.string(3, alphabet: "abcdefghijklmnopqrstuvwxyz") + "-" + random.string(4, alphabet: "abcdefghijklmnopqrstuvwxyz")
                + "-"
                + random.string(3, alphabet: "abcdefghijklmnopqrstuvwxyz")
            fields.append(("hangoutLink", .string("https://meet.google.com/\(code)")))
        }
        let created = min(start, now) - Int64.random(in: 86_400_000...(20 * 86_400_000), using: &random)
        let eventId = id()
        let startTime = EventTime(millis: start, allDay: allDay, timeZone: allDay ? nil : zone)
        let endTime = EventTime(
            millis: allDay ? start + minutes * 60_000 : start + minutes * 60_000, allDay: allDay, timeZone: allDay ? nil : zone)
        return CalendarEvent(
            id: eventId, status: "confirmed", fields: fields, start: startTime, end: endTime,
            recurrence: recurrence.flatMap(RecurrenceRule.init(lines:)), recurringEventId: nil, originalStart: nil, created: created,
            updated: created + Int64.random(in: 0...3_600_000, using: &random), sequence: 0, changeSeq: 0, iCalUID: eventId + "@google.com",
            organizer: organizer.email)
    }

    /// The local wall time `hour:minute` of the day `dayOffset` from today, in UTC ms (approximate zone offset).
    private func at(dayOffset: Int64, hour: Int64, minute: Int64 = 0) -> Int64 {
        let wall = dayStart + dayOffset * 86_400_000 + (hour * 60 + minute) * 60_000
        return wall - Int64(Timestamps.offsetSeconds(zone: owner.timeZone, at: wall)) * 1000
    }

    mutating func primaryEvents(count: Int) -> [CalendarEvent] {
        var events: [CalendarEvent] = []
        let team = Array(directory.colleagues.prefix(5)) + directory.users.filter { $0.email != owner.email }.prefix(2)
        let zone = owner.timeZone
        if count >= 4 {
            let weekday = (Timestamps.weekday(dayStart / 86_400_000))
            let lastMonday = Int64(-((weekday + 6) % 7)) - 56
            events.append(
                event(
                    summary: "Daily stand-up", start: at(dayOffset: lastMonday, hour: 9, minute: 30), minutes: 15, zone: zone,
                    attendees: team,
                    recurrence: ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
                    description: "What did you do, what will you do, what blocks you?"))
            let manager = directory.colleagues.first ?? owner
            events.append(
                event(
                    summary: "1:1 \(owner.firstName) / \(manager.firstName)", start: at(dayOffset: lastMonday + 1, hour: 14), minutes: 30,
                    zone: zone,
                    attendees: [manager, owner], recurrence: ["RRULE:FREQ=WEEKLY;BYDAY=TU"], organizer: manager))
            events.append(
                event(
                    summary: "Sprint planning", start: at(dayOffset: lastMonday + 2, hour: 10), minutes: 90, zone: zone, attendees: team,
                    recurrence: ["RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=WE"], location: "Room Ada"))
            events.append(
                event(
                    summary: "All-hands", start: at(dayOffset: -40, hour: 16), minutes: 60, zone: zone, attendees: team,
                    recurrence: ["RRULE:FREQ=MONTHLY;COUNT=12"], description: "Company update and Q&A."))
            events.append(
                event(
                    summary: "Public holiday", start: dayStart + 9 * 86_400_000, minutes: 24 * 60, zone: zone, attendees: [], allDay: true,
                    transparent: true))
            events.append(
                event(
                    summary: "Out of office – conference", start: dayStart + 20 * 86_400_000, minutes: 3 * 24 * 60, zone: zone,
                    attendees: [],
                    description: "At KubeCon; limited availability.", allDay: true))
        }
        // Fixed meetings in the next days so a briefing has free/busy to talk about.
        let soon: [(Int64, Int64, Int64)] = [(0, 11, 45), (0, 15, 30), (1, 10, 60), (1, 13, 30), (2, 11, 60), (3, 9, 30)]
        for (day, hour, minutes) in soon where events.count < count {
            let people = Array(team.shuffled(using: &random).prefix(Int.random(in: 1...3, using: &random)))
            events.append(
                event(
                    summary: title(), start: at(dayOffset: day, hour: hour), minutes: minutes, zone: zone,
                    attendees: people + [directory.externals[Int(day) % directory.externals.count]],
                    description: "Agenda:\n1. Status\n2. Open questions\n3. Next steps", ownerStatus: day == 2 ? "tentative" : "accepted"))
        }
        while events.count < count {
            let day = Int64.random(in: -30...14, using: &random)
            let hour = Int64.random(in: 8...17, using: &random)
            let people = Array((team + directory.externals).shuffled(using: &random).prefix(Int.random(in: 1...4, using: &random)))
            let status = random.pick(["accepted", "accepted", "accepted", "declined", "needsAction"])
            let external = random.chance(0.3)
            events.append(
                event(
                    summary: title(), start: at(dayOffset: day, hour: hour, minute: random.pick([0, 30])),
                    minutes: random.pick([30, 45, 60]), zone: zone,
                    attendees: people, location: random.chance(0.3) ? random.pick(["Room Ada", "Room Turing", "Café"]) : nil,
                    ownerStatus: status,
                    organizer: external ? people.first : nil))
        }
        return events
    }

    mutating func teamEvents() -> [CalendarEvent] {
        [
            event(
                summary: "Team offsite", start: dayStart + 30 * 86_400_000, minutes: 2 * 24 * 60, zone: owner.timeZone,
                attendees: Array(directory.colleagues.prefix(4)), location: "Lisbon", allDay: true)
        ]
    }

    private mutating func title() -> String {
        MailboxGenerator.fill(
            random.pick(Self.meetingTitles),
            ["project": random.pick(MailCorpus.projects), "company": random.pick(["Globex", "Initech", "Umbrella Labs", "Vandelay"])])
    }
}

extension Timestamps {
    /// 0 = Sunday for days since the epoch (1970-01-01 was a Thursday).
    static func weekday(_ days: Int64) -> Int64 { ((days % 7) + 7 + 4) % 7 }

    /// The UTC offset of `zone` at `millis`, in seconds.
    static func offsetSeconds(zone: String, at millis: Int64) -> Int {
        (TimeZone(identifier: zone) ?? TimeZone(identifier: "UTC")!).secondsFromGMT(for: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
