/// Who asked for a job. Taken from the verified token only, never from a request body.
public struct Requester: Sendable, Codable, Equatable {
    public var user: String
    public var org: String
    public var team: String
    public var roles: [Role]

    public init(user: String, org: String = "", team: String = "", roles: [Role] = []) {
        self.user = user
        self.org = org
        self.team = team
        self.roles = roles
    }
}

/// W3C trace context carried with a job so a worker's spans join the request's trace.
public struct TraceContext: Sendable, Codable, Equatable {
    public var traceparent: String
    public var tracestate: String

    public init(traceparent: String, tracestate: String = "") {
        self.traceparent = traceparent
        self.tracestate = tracestate
    }
}
