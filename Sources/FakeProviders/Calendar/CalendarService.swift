/// Google Calendar API v3 under `/calendar/v3`: calendar list, events (list with sync tokens,
/// get, insert, patch, update, delete) and `freeBusy`. Errors in the classic Google envelope.
struct CalendarService: FakeService {
    let stores: [String: CalendarStore]
    let gate: GoogleGate
    let clock: FakeClock
    let jitter: Bool

    static let readScopes: Set<String> = [
        "https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.events.readonly",
    ]
    static let writeScopes: Set<String> = ["https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/calendar.events"]
    static let freeBusyScopes: Set<String> = readScopes.union([
        "https://www.googleapis.com/auth/calendar.freebusy", "https://www.googleapis.com/auth/calendar.events.freebusy",
    ])

    /// One routed call.
    struct Call {
        let request: ProviderRequest
        let store: CalendarStore
        let parameters: [String]
    }

    struct Endpoint: Sendable {
        let scopes: Set<String>
        let handle: @Sendable (CalendarService, Call) -> ProviderResponse
    }

    static let routes = RouteTable<Endpoint>(routes: [
        Route("GET", "/users/me/calendarList", Endpoint(scopes: readScopes) { $0.calendarList($1) }),
        Route("GET", "/users/me/calendarList/{calendarId}", Endpoint(scopes: readScopes) { $0.calendarEntry($1) }),
        Route("GET", "/calendars/{calendarId}", Endpoint(scopes: readScopes) { $0.calendarEntry($1) }),
        Route("GET", "/calendars/{calendarId}/events", Endpoint(scopes: readScopes) { $0.listEvents($1) }),
        Route("POST", "/calendars/{calendarId}/events", Endpoint(scopes: writeScopes) { $0.insertEvent($1) }),
        Route("GET", "/calendars/{calendarId}/events/{eventId}", Endpoint(scopes: readScopes) { $0.getEvent($1) }),
        Route("PATCH", "/calendars/{calendarId}/events/{eventId}", Endpoint(scopes: writeScopes) { $0.patchEvent($1, replace: false) }),
        Route("PUT", "/calendars/{calendarId}/events/{eventId}", Endpoint(scopes: writeScopes) { $0.patchEvent($1, replace: true) }),
        Route("DELETE", "/calendars/{calendarId}/events/{eventId}", Endpoint(scopes: writeScopes) { $0.deleteEvent($1) }),
        Route("POST", "/freeBusy", Endpoint(scopes: freeBusyScopes) { $0.freeBusy($1) }),
    ])

    func respond(to request: ProviderRequest) async -> ProviderResponse {
        guard request.segments.count >= 2, request.segments[0] == "calendar", request.segments[1] == "v3" else {
            return GoogleErrors.notFound("Not Found", style: .classic)
        }
        guard case .found(let endpoint, let parameters) = Self.routes.resolve(request, offset: 2) else {
            return GoogleErrors.notFound("Not Found", style: .classic)
        }
        let principal: TokenAuthority.Principal
        switch gate.authorize(request, scopes: endpoint.scopes) {
        case .failure(let refusal): return refusal.response
        case .success(let value): principal = value
        }
        guard let store = stores[principal.user] else { return GoogleErrors.notFound("Not Found", style: .classic) }
        if let refusal = gate.spend(1, user: principal.user) { return refusal.response }
        return endpoint.handle(self, Call(request: request, store: store, parameters: parameters))
    }

    static func error(
        _ code: Int, _ reason: String, _ message: String, domain: String = "global", location: String? = nil, type: String? = nil
    )
        -> ProviderResponse
    {
        GoogleErrors.response(
            code: code, message: message,
            items: [.init(domain: domain, reason: reason, message: message, location: location, locationType: type)],
            status: nil, style: .classic)
    }

    static func writeError(_ error: CalendarStore.WriteError) -> ProviderResponse {
        switch error {
        case .invalidId: return Self.error(400, "invalid", "Invalid resource id value.")
        case .duplicate: return Self.error(409, "duplicate", "The requested identifier already exists.")
        case .missing(let field): return Self.error(400, "required", "Missing \(field) time.")
        case .timeRangeEmpty:
            return Self.error(400, "timeRangeEmpty", "The specified time range is empty.", location: "timeMax", type: "parameter")
        case .notFound: return Self.error(404, "notFound", "Not Found")
        case .deleted: return Self.error(410, "deleted", "Resource has been deleted")
        case .preconditionFailed: return Self.error(412, "conditionNotMet", "Precondition Failed", location: "If-Match", type: "header")
        }
    }

    private func calendarJSON(_ calendar: CalendarStore.Calendar, entry: Bool) -> JSON {
        var object = JSONObjectBuilder()
        object.set("kind", entry ? "calendar#calendarListEntry" : "calendar#calendar")
        object.set("etag", "\"\(1_700_000_000_000 + Int64(calendar.id.utf8.count))\"")
        object.set("id", calendar.id)
        object.set("summary", calendar.summary)
        object.set("timeZone", calendar.timeZone)
        if entry {
            object.set("accessRole", "owner")
            object.set("defaultReminders", .array([.object([("method", "popup"), ("minutes", 10)])]))
            if calendar.primary { object.set("primary", true) }
        }
        return object.json
    }

    func calendarList(_ call: Call) -> ProviderResponse {
        let items = call.store.calendars.map { calendarJSON($0, entry: true) }
        return .json(
            .object([
                ("kind", "calendar#calendarList"), ("etag", "\"p32g9nb5bkt3ee0o\""),
                ("nextSyncToken", .string("C" + OpaqueToken.make(26, alphabet: OpaqueToken.alphanumerics) + "=")), ("items", .array(items)),
            ]))
    }

    func calendarEntry(_ call: Call) -> ProviderResponse {
        guard let calendar = call.store.calendar(call.parameters[0]) else { return Self.error(404, "notFound", "Not Found") }
        return .json(calendarJSON(calendar, entry: call.request.segments.contains("calendarList")))
    }

    func listEvents(_ call: Call) -> ProviderResponse {
        guard let calendar = call.store.calendar(call.parameters[0]) else { return Self.error(404, "notFound", "Not Found") }
        let query = call.request.query
        var p = CalendarStore.ListParameters()
        for name in ["timeMin", "timeMax", "updatedMin"] {
            guard let text = query[name] else { continue }
            guard let millis = Timestamps.parseRFC3339(text) else {
                return Self.error(400, "invalid", "Invalid value for: \(name)", location: name, type: "parameter")
            }
            if name == "timeMin" { p.timeMin = millis } else if name == "timeMax" { p.timeMax = millis } else { p.updatedMin = millis }
        }
        if let min = p.timeMin, let max = p.timeMax, min >= max {
            return Self.error(400, "timeRangeEmpty", "The specified time range is empty.", location: "timeMax", type: "parameter")
        }
        p.singleEvents = query.bool("singleEvents") ?? false
        switch query["orderBy"] {
        case nil: break
        case "startTime":
            guard p.singleEvents else {
                return Self.error(400, "badRequest", "The requested ordering is not available for the particular query.")
            }
            p.orderByStartTime = true
        case "updated": p.orderByUpdated = true
        case let other?: return Self.error(400, "invalid", "Invalid value for: orderBy (\(other))", location: "orderBy", type: "parameter")
        }
        p.showDeleted = query.bool("showDeleted") ?? false
        p.q = query["q"]
        p.iCalUID = query["iCalUID"]
        if let text = query["maxResults"] {
            guard let value = Int(text), value > 0 else {
                return Self.error(
                    400, "invalid", "Invalid value '\(text)'. Values must be within the range: [1, 2500]", location: "maxResults",
                    type: "parameter")
            }
            p.maxResults = min(value, 2500)
        }
        let syncToken = query["syncToken"]
        if syncToken != nil {
            for forbidden in [
                "iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin",
            ]
            where query.has(forbidden) {
                return Self.error(
                    400, "invalid", "The parameter \(forbidden) cannot be combined with syncToken.", location: forbidden, type: "parameter")
            }
            if query["showDeleted"] == "false" {
                return Self.error(
                    400, "invalid", "showDeleted=false cannot be combined with syncToken.", location: "showDeleted", type: "parameter")
            }
        }
        p.fingerprint =
            query.items.filter { $0.name != "pageToken" && $0.name != "fields" && $0.name != "prettyPrint" }.map {
                "\($0.name)=\($0.value)"
            }
            .joined(separator: "&") + "|" + calendar.id
        switch call.store.list(
            calendarId: calendar.id, parameters: p, syncToken: syncToken, pageToken: query["pageToken"], now: clock.nowMillis,
            jitter: jitter)
        {
        case .syncTokenInvalid:
            return Self.error(
                410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.", domain: "calendar",
                location: "syncToken",
                type: "parameter")
        case .pageTokenInvalid:
            return Self.error(400, "invalid", "Invalid page token value.", location: "pageToken", type: "parameter")
        case .page(let items, let next, let sync, let updated):
            var object = JSONObjectBuilder()
            object.set("kind", "calendar#events")
            object.set("etag", "\"\(3_400_000_000_000_000 + updated % 1_000_000_000)\"")
            object.set("summary", calendar.summary)
            object.set("updated", Timestamps.rfc3339Millis(updated))
            object.set("timeZone", query["timeZone"] ?? calendar.timeZone)
            object.set("accessRole", "owner")
            object.set("defaultReminders", .array([.object([("method", "popup"), ("minutes", 10)])]))
            object.setIfPresent("nextPageToken", next)
            object.setIfPresent("nextSyncToken", sync)
            object.set("items", .array(items))
            return FieldMasks.apply(object.json, query: query, style: .classic)
        }
    }

    func getEvent(_ call: Call) -> ProviderResponse {
        guard let calendar = call.store.calendar(call.parameters[0]),
            let found = call.store.event(calendarId: calendar.id, id: call.parameters[1])
        else { return Self.error(404, "notFound", "Not Found") }
        if let match = call.request.header("if-none-match"), match == found.etag {
            return ProviderResponse(status: 304, headers: [("ETag", found.etag)])
        }
        var response = FieldMasks.apply(found.json, query: call.request.query, style: .classic)
        response.headers.append(("ETag", found.etag))
        return response
    }

    func insertEvent(_ call: Call) -> ProviderResponse {
        guard let calendar = call.store.calendar(call.parameters[0]) else { return Self.error(404, "notFound", "Not Found") }
        guard let body = call.request.json, body.objectValue != nil else { return Self.error(400, "parseError", "Parse Error") }
        let version = Int(call.request.query["conferenceDataVersion"] ?? "0") ?? 0
        switch call.store.insert(calendarId: calendar.id, body: body, now: clock.nowMillis, conferenceDataVersion: version) {
        case .failure(let error): return Self.writeError(error)
        case .success(let json): return .json(json)
        }
    }

    func patchEvent(_ call: Call, replace: Bool) -> ProviderResponse {
        guard let calendar = call.store.calendar(call.parameters[0]) else { return Self.error(404, "notFound", "Not Found") }
        guard let body = call.request.json, body.objectValue != nil else { return Self.error(400, "parseError", "Parse Error") }
        switch call.store.patch(
            calendarId: calendar.id, id: call.parameters[1], body: body, replace: replace, ifMatch: call.request.header("if-match"),
            now: clock.nowMillis)
        {
        case .failure(let error): return Self.writeError(error)
        case .success(let json): return .json(json)
        }
    }

    func deleteEvent(_ call: Call) -> ProviderResponse {
        guard let calendar = call.store.calendar(call.parameters[0]) else { return Self.error(404, "notFound", "Not Found") }
        switch call.store.delete(
            calendarId: calendar.id, id: call.parameters[1], ifMatch: call.request.header("if-match"), now: clock.nowMillis)
        {
        case .failure(let error): return Self.writeError(error)
        case .success: return .empty(204)
        }
    }

    func freeBusy(_ call: Call) -> ProviderResponse {
        guard let body = call.request.json, let minText = body["timeMin"]?.stringValue, let maxText = body["timeMax"]?.stringValue else {
            return Self.error(400, "required", "Missing timeMin or timeMax.")
        }
        guard let min = Timestamps.parseRFC3339(minText), let max = Timestamps.parseRFC3339(maxText) else {
            return Self.error(400, "invalid", "Bad Request")
        }
        guard min < max else {
            return Self.error(400, "timeRangeEmpty", "The specified time range is empty.", location: "timeMax", type: "parameter")
        }
        var calendars: [(String, JSON)] = []
        for item in body["items"]?.arrayValue ?? [] {
            guard let id = item["id"]?.stringValue else { continue }
            let key = id == "primary" ? call.store.owner.email : id.lowercased()
            let store = stores[key] ?? (key.hasSuffix("@group.calendar.google.com") ? call.store : nil)
            guard let store, let intervals = store.busy(calendarId: key, from: min, to: max) else {
                calendars.append(
                    (id, .object([("errors", .array([.object([("domain", "global"), ("reason", "notFound")])])), ("busy", .array([]))])))
                continue
            }
            let busy: [JSON] = intervals.map {
                .object([("start", .string(Timestamps.rfc3339($0.0))), ("end", .string(Timestamps.rfc3339($0.1)))])
            }
            calendars.append((id, .object([("busy", .array(busy))])))
        }
        return .json(
            .object([
                ("kind", "calendar#freeBusy"), ("timeMin", .string(Timestamps.rfc3339Millis(min))),
                ("timeMax", .string(Timestamps.rfc3339Millis(max))), ("calendars", .object(calendars)),
            ]))
    }
}

/// The `fields` parameter applied to an answer (400 on a mask that does not parse).
enum FieldMasks {
    static func apply(_ value: JSON, query: QueryItems, style: GoogleErrors.Style, schema: FieldSchema? = nil) -> ProviderResponse {
        guard let text = query["fields"], !text.isEmpty else { return .json(value) }
        do {
            let mask = try FieldMask.parse(text)
            if let schema { try mask.validate(against: schema) }
            return .json(mask.apply(to: value))
        } catch {
            return GoogleErrors.response(
                code: 400, message: "Invalid field selection \(error.field)",
                items: [
                    .init(
                        reason: "invalidParameter", message: "Invalid field selection \(error.field)", location: "fields",
                        locationType: "parameter")
                ],
                status: "INVALID_ARGUMENT", style: style)
        }
    }
}
