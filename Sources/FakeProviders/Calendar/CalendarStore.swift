import Foundation
import Synchronization

/// One user's calendars and events, with the change sequence that sync tokens point into.
final class CalendarStore: Sendable {
    /// A calendar of the user.
    struct Calendar: Sendable {
        let id: String
        let summary: String
        let timeZone: String
        let primary: Bool
    }

    /// Where a sync token points: changes after `seq` of one calendar, in one expansion mode.
    struct SyncCursor: Sendable {
        let calendarId: String
        let seq: Int64
        let epoch: Int
        let singleEvents: Bool
    }

    /// The rest of a listing being paged through.
    struct PageState: Sendable {
        let fingerprint: String
        let items: [JSON]
        let offset: Int
        let page: Int
        let syncSeq: Int64
        let singleEvents: Bool
    }

    struct State: Sendable {
        var calendars: [Calendar] = []
        var events: [String: [String: CalendarEvent]] = [:]
        var order: [String: [String]] = [:]
        var changeSeq: Int64 = 1
        var epoch = 0
        var syncTokens: [String: SyncCursor] = [:]
        var pages: [String: PageState] = [:]
    }

    let owner: Person
    let directory: Directory
    let state: Mutex<State>

    init(owner: Person, directory: Directory, calendars: [Calendar]) {
        self.owner = owner
        self.directory = directory
        state = Mutex(State(calendars: calendars))
    }

    var primaryId: String { owner.email }

    /// The calendar `id` names (`primary` → the user's own).
    func calendar(_ id: String) -> Calendar? {
        let wanted = id == "primary" ? owner.email : id.lowercased()
        return state.withLock { $0.calendars.first { $0.id.lowercased() == wanted } }
    }

    var calendars: [Calendar] { state.withLock { $0.calendars } }

    /// Adds or replaces an event, giving it the next change number.
    static func store(_ event: CalendarEvent, calendar: String, in state: inout State) -> CalendarEvent {
        var event = event
        event.changeSeq = state.changeSeq
        state.changeSeq += 1
        if state.events[calendar]?[event.id] == nil { state.order[calendar, default: []].append(event.id) }
        state.events[calendar, default: [:]][event.id] = event
        return event
    }

    func load(_ events: [CalendarEvent], calendar: String) {
        state.withLock { state in for event in events { _ = Self.store(event, calendar: calendar, in: &state) } }
    }

    /// Every sync token issued so far answers 410.
    func invalidateSync() { state.withLock { $0.epoch += 1 } }

    // MARK: Expansion

    /// Exceptions of series in a calendar: series id → original start → exception.
    static func exceptions(_ events: [String: CalendarEvent]) -> [String: [Int64: CalendarEvent]] {
        var result: [String: [Int64: CalendarEvent]] = [:]
        for event in events.values {
            if let series = event.recurringEventId, let original = event.originalStart {
                result[series, default: [:]][original.millis] = event
            }
        }
        return result
    }

    /// Instances of a series as `(start, json)`, exceptions applied. Cancelled ones only when
    /// `withCancelled`.
    func instances(
        of series: CalendarEvent, exceptions: [Int64: CalendarEvent], calendarId: String, until limit: Int64, withCancelled: Bool
    ) -> [(start: Int64, end: Int64, json: JSON)] {
        guard let rule = series.recurrence else { return [] }
        var out: [(Int64, Int64, JSON)] = []
        let starts = rule.occurrences(start: series.start.millis, zone: series.start.zone, limit: limit)
        for start in starts {
            if let exception = exceptions[start] {
                if exception.isCancelled || series.isCancelled {
                    if withCancelled {
                        out.append(
                            (
                                start, start + series.duration,
                                CalendarRepresentation.cancelled(
                                    id: exception.id, etag: exception.etag, series: series.id,
                                    originalStart: series.start.shifted(to: start))
                            ))
                    }
                } else {
                    out.append(
                        (
                            exception.start.millis, exception.end.millis,
                            CalendarRepresentation.event(exception, owner: owner.email, calendarId: calendarId, directory: directory)
                        ))
                }
                continue
            }
            if series.isCancelled {
                if withCancelled {
                    let id = series.id + "_" + series.start.shifted(to: start).instanceStamp
                    out.append(
                        (
                            start, start + series.duration,
                            CalendarRepresentation.cancelled(
                                id: id, etag: series.etag, series: series.id, originalStart: series.start.shifted(to: start))
                        ))
                }
                continue
            }
            out.append(
                (
                    start, start + series.duration,
                    CalendarRepresentation.event(
                        series, owner: owner.email, calendarId: calendarId, directory: directory, instanceStart: start)
                ))
        }
        for exception in exceptions.values
        where !starts.contains(exception.originalStart?.millis ?? -1) && withCancelled && exception.isCancelled {
            out.append(
                (
                    exception.originalStart?.millis ?? 0, exception.originalStart?.millis ?? 0,
                    CalendarRepresentation.cancelled(
                        id: exception.id, etag: exception.etag, series: series.id, originalStart: exception.originalStart)
                ))
        }
        return out
    }

    /// Busy intervals of a calendar between two instants, merged.
    func busy(calendarId: String, from: Int64, to: Int64) -> [(Int64, Int64)]? {
        let id = calendarId == "primary" ? owner.email : calendarId.lowercased()
        guard let events = state.withLock({ state in state.events[id] ?? (state.calendars.contains { $0.id == id } ? [:] : nil) }) else {
            return nil
        }
        let exceptions = Self.exceptions(events)
        var intervals: [(Int64, Int64)] = []
        for event in events.values where !event.isCancelled && !event.transparent && !event.declined(by: owner.email) {
            if event.recurringEventId != nil { continue }
            if event.recurrence != nil {
                let starts = event.recurrence!.occurrences(start: event.start.millis, zone: event.start.zone, limit: to)
                for start in starts {
                    if let exception = exceptions[event.id]?[start] {
                        if !exception.isCancelled { intervals.append((exception.start.millis, exception.end.millis)) }
                    } else {
                        intervals.append((start, start + event.duration))
                    }
                }
            } else {
                intervals.append((event.start.millis, event.end.millis))
            }
        }
        let clipped = intervals.filter { $0.1 > from && $0.0 < to }.map { (max($0.0, from), min($0.1, to)) }.sorted { $0.0 < $1.0 }
        var merged: [(Int64, Int64)] = []
        for interval in clipped {
            if let last = merged.last, interval.0 <= last.1 {
                merged[merged.count - 1].1 = max(last.1, interval.1)
            } else {
                merged.append(interval)
            }
        }
        return merged
    }
}
