/// `events.list`: full listings with their filters, incremental listings from a sync token,
/// opaque page tokens over a snapshot, and `nextPageToken` XOR `nextSyncToken`.
extension CalendarStore {
    /// The parameters of one `events.list` call that shape its result.
    struct ListParameters {
        var timeMin: Int64?
        var timeMax: Int64?
        var singleEvents = false
        var orderByStartTime = false
        var orderByUpdated = false
        var showDeleted = false
        var updatedMin: Int64?
        var q: String?
        var iCalUID: String?
        var maxResults = 250
        var fingerprint = ""
    }

    enum ListOutcome {
        case page(items: [JSON], nextPageToken: String?, nextSyncToken: String?, updated: Int64)
        case syncTokenInvalid
        case pageTokenInvalid
    }

    func list(
        calendarId: String, parameters p: ListParameters, syncToken: String?, pageToken: String?, now: Int64, jitter: Bool
    ) -> ListOutcome {
        state.withLock { state -> ListOutcome in
            let events = state.events[calendarId] ?? [:]
            let latest = events.values.map(\.updated).max() ?? now
            var snapshot: PageState
            if let pageToken {
                guard let saved = state.pages[pageToken], saved.fingerprint == p.fingerprint else { return .pageTokenInvalid }
                snapshot = saved
            } else {
                var since: Int64?
                var singleEvents = p.singleEvents
                if let syncToken {
                    guard let cursor = state.syncTokens[syncToken], cursor.calendarId == calendarId, cursor.epoch == state.epoch else {
                        return .syncTokenInvalid
                    }
                    since = cursor.seq
                    singleEvents = p.singleEvents
                }
                let items = self.items(
                    events: events, order: state.order[calendarId] ?? [], calendarId: calendarId, parameters: p, since: since,
                    singleEvents: singleEvents, now: now)
                snapshot = PageState(
                    fingerprint: p.fingerprint, items: items, offset: 0, page: 0, syncSeq: state.changeSeq - 1, singleEvents: singleEvents)
            }
            var size = p.maxResults
            let remaining = snapshot.items.count - snapshot.offset
            if jitter, remaining > size {
                // Google's pages may be short, even empty, before the last one.
                if snapshot.page % 5 == 3 { size = 0 } else if snapshot.page % 3 == 1 { size = max(1, size / 2) }
            }
            let end = min(snapshot.items.count, snapshot.offset + size)
            let items = Array(snapshot.items[snapshot.offset..<end])
            if end < snapshot.items.count {
                let token = OpaqueToken.make(44, alphabet: OpaqueToken.alphanumerics + "_-")
                if state.pages.count > 50_000 { state.pages.removeAll() }
                state.pages[token] = PageState(
                    fingerprint: snapshot.fingerprint, items: snapshot.items, offset: end, page: snapshot.page + 1,
                    syncSeq: snapshot.syncSeq, singleEvents: snapshot.singleEvents)
                return .page(items: items, nextPageToken: token, nextSyncToken: nil, updated: latest)
            }
            let token = "C" + OpaqueToken.make(26, alphabet: OpaqueToken.alphanumerics) + "="
            state.syncTokens[token] = SyncCursor(
                calendarId: calendarId, seq: snapshot.syncSeq, epoch: state.epoch, singleEvents: snapshot.singleEvents)
            return .page(items: items, nextPageToken: nil, nextSyncToken: token, updated: latest)
        }
    }

    private func items(
        events: [String: CalendarEvent], order: [String], calendarId: String, parameters p: ListParameters, since: Int64?,
        singleEvents: Bool, now: Int64
    ) -> [JSON] {
        let exceptions = Self.exceptions(events)
        let incremental = since != nil
        let withCancelled = incremental || p.showDeleted
        let horizon = p.timeMax ?? (now + 366 * 86_400_000)
        var rows: [(start: Int64, updated: Int64, rank: Int, json: JSON)] = []
        let query = p.q?.lowercased()
        for (rank, id) in order.enumerated() {
            guard let event = events[id] else { continue }
            if let since, event.changeSeq <= since { continue }
            if let updatedMin = p.updatedMin, event.updated < updatedMin { continue }
            if let uid = p.iCalUID, event.iCalUID != uid { continue }
            if let query, !query.isEmpty, !event.searchText.contains(query) { continue }
            if event.recurringEventId != nil {
                // Exceptions appear on their own only without expansion, or when changed (a sync).
                if singleEvents && !incremental { continue }
                if event.isCancelled {
                    if withCancelled {
                        rows.append(
                            (
                                event.originalStart?.millis ?? 0, event.updated, rank,
                                CalendarRepresentation.cancelled(
                                    id: event.id, etag: event.etag, series: event.recurringEventId, originalStart: event.originalStart)
                            ))
                    }
                } else if overlaps(event.start.millis, event.end.millis, p) {
                    rows.append(
                        (
                            event.start.millis, event.updated, rank,
                            CalendarRepresentation.event(event, owner: owner.email, calendarId: calendarId, directory: directory)
                        ))
                }
                continue
            }
            if event.recurrence != nil && singleEvents {
                for instance in instances(
                    of: event, exceptions: exceptions[event.id] ?? [:], calendarId: calendarId, until: horizon, withCancelled: withCancelled
                )
                where incremental || overlaps(instance.start, instance.end, p) {
                    rows.append((instance.start, event.updated, rank, instance.json))
                }
                continue
            }
            if event.isCancelled {
                if withCancelled {
                    rows.append((event.start.millis, event.updated, rank, CalendarRepresentation.cancelled(id: event.id, etag: event.etag)))
                }
                continue
            }
            if !incremental {
                if let rule = event.recurrence {
                    let starts = rule.occurrences(start: event.start.millis, zone: event.start.zone, limit: horizon)
                    guard starts.contains(where: { overlaps($0, $0 + event.duration, p) }) else { continue }
                } else if !overlaps(event.start.millis, event.end.millis, p) {
                    continue
                }
            }
            rows.append(
                (
                    event.start.millis, event.updated, rank,
                    CalendarRepresentation.event(event, owner: owner.email, calendarId: calendarId, directory: directory)
                ))
        }
        if p.orderByStartTime {
            rows.sort { $0.start != $1.start ? $0.start < $1.start : $0.rank < $1.rank }
        } else if p.orderByUpdated {
            rows.sort { $0.updated != $1.updated ? $0.updated < $1.updated : $0.rank < $1.rank }
        }
        return rows.map(\.json)
    }

    /// `timeMin` bounds the end (exclusive), `timeMax` the start (exclusive).
    private func overlaps(_ start: Int64, _ end: Int64, _ p: ListParameters) -> Bool {
        if let min = p.timeMin, end <= min { return false }
        if let max = p.timeMax, start >= max { return false }
        return true
    }

    /// One event or instance by id (`<series>_<stamp>` for instances).
    func event(calendarId: String, id: String) -> (json: JSON, etag: String)? {
        state.withLock { state -> (JSON, String)? in
            let events = state.events[calendarId] ?? [:]
            if let event = events[id] {
                if event.isCancelled && event.recurringEventId == nil && event.recurrence == nil {
                    return (
                        CalendarRepresentation.event(event, owner: owner.email, calendarId: calendarId, directory: directory), event.etag
                    )
                }
                return (CalendarRepresentation.event(event, owner: owner.email, calendarId: calendarId, directory: directory), event.etag)
            }
            guard let underscore = id.lastIndex(of: "_"), let series = events[String(id[..<underscore])], series.recurrence != nil else {
                return nil
            }
            let stamp = String(id[id.index(after: underscore)...])
            guard let original = RecurrenceRule.parseICalTime(stamp) else { return nil }
            let starts = series.recurrence!.occurrences(start: series.start.millis, zone: series.start.zone, limit: original + 1)
            guard starts.contains(original) else { return nil }
            let json = CalendarRepresentation.event(
                series, owner: owner.email, calendarId: calendarId, directory: directory, instanceStart: original)
            return (json, series.etag)
        }
    }
}
