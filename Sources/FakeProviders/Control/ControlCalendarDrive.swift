/// Control routes for Calendar and Drive.
extension ControlService {
    private func calendarTarget(_ request: ProviderRequest, _ user: String) -> (CalendarStore, String)? {
        guard let store = world.calendars[user.lowercased()] else { return nil }
        let wanted = request.query["calendarId"] ?? "primary"
        guard let calendar = store.calendar(wanted) else { return nil }
        return (store, calendar.id)
    }

    func calendarInsert(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let (store, calendar) = calendarTarget(request, parameters[0]) else {
            return Self.error("unknown user or calendar", status: 404)
        }
        guard case .success(let body) = Self.body(request) else { return Self.error("the body must be an event") }
        switch store.insert(calendarId: calendar, body: body, now: world.clock.nowMillis, conferenceDataVersion: 1) {
        case .success(let event): return .json(event)
        case .failure(let error): return CalendarService.writeError(error)
        }
    }

    func calendarGet(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let (store, calendar) = calendarTarget(request, parameters[0]) else {
            return Self.error("unknown user or calendar", status: 404)
        }
        guard let found = store.event(calendarId: calendar, id: parameters[1]) else {
            return Self.error("no event \(parameters[1])", status: 404)
        }
        return .json(found.json)
    }

    func calendarPatch(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let (store, calendar) = calendarTarget(request, parameters[0]) else {
            return Self.error("unknown user or calendar", status: 404)
        }
        guard case .success(let body) = Self.body(request) else { return Self.error("the body must be an event") }
        switch store.patch(calendarId: calendar, id: parameters[1], body: body, replace: false, ifMatch: nil, now: world.clock.nowMillis) {
        case .success(let event): return .json(event)
        case .failure(let error): return CalendarService.writeError(error)
        }
    }

    func calendarDelete(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let (store, calendar) = calendarTarget(request, parameters[0]) else {
            return Self.error("unknown user or calendar", status: 404)
        }
        switch store.delete(calendarId: calendar, id: parameters[1], ifMatch: nil, now: world.clock.nowMillis) {
        case .success: return Self.ok
        case .failure(let error): return CalendarService.writeError(error)
        }
    }

    func calendarInvalidate(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let store = world.calendars[parameters[0].lowercased()] else { return Self.error("unknown user", status: 404) }
        store.invalidateSync()
        return Self.ok
    }

    func driveCreate(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let store = world.drives[parameters[0].lowercased()] else { return Self.error("unknown user", status: 404) }
        guard case .success(let body) = Self.body(request), let name = body["name"]?.stringValue else {
            return Self.error("needs name and mimeType")
        }
        let type = body["mimeType"]?.stringValue ?? DriveFile.documentType
        let text = body["text"]?.stringValue
        let native = type.hasPrefix("application/vnd.google-apps.")
        let file = store.create(
            name: name, mimeType: type, text: native ? (text ?? "") : nil, content: native ? nil : Array((text ?? "").utf8),
            sharedPublicly: body["shared_publicly"]?.boolValue ?? false, now: world.clock.nowMillis)
        return .json(file.json(me: store.owner.email, directory: world.directory))
    }

    func driveUpdate(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let store = world.drives[parameters[0].lowercased()] else { return Self.error("unknown user", status: 404) }
        guard case .success(let body) = Self.body(request) else { return Self.error("the body must be a JSON object") }
        guard
            let file = store.update(
                parameters[1], name: body["name"]?.stringValue, text: body["text"]?.stringValue, trashed: body["trashed"]?.boolValue,
                sharedPublicly: body["shared_publicly"]?.boolValue, now: world.clock.nowMillis)
        else { return Self.error("no file \(parameters[1])", status: 404) }
        return .json(file.json(me: store.owner.email, directory: world.directory))
    }

    func driveDelete(_ request: ProviderRequest, _ parameters: [String]) -> ProviderResponse {
        guard let store = world.drives[parameters[0].lowercased()] else { return Self.error("unknown user", status: 404) }
        guard store.delete(parameters[1], now: world.clock.nowMillis) else { return Self.error("no file \(parameters[1])", status: 404) }
        return Self.ok
    }
}
