import Foundation

/// `briefing`: a user's daily briefing: prioritized tasks with their Eisenhower quadrants,
/// deep-work blocks in the day's free time, the auto-responder's summary, alerts and the state
/// of each connector. Fired by the user's schedule or on request; read through
/// `GET /v1/briefings`, and mailed to the user where the policy allows `gmail.send`.
public enum BriefingKind: KindContract {
    public static let kind = JobKind.briefing
    public static let summary = "Builds a user's daily briefing from their synced tasks, calendar and mail."
    public static let actions: Set<Action>? = Set(Connector.allCases.map(\.readAction)).union([.modelCall])

    public struct Payload: KindPayload {
        /// The day to brief on (default: today in `timeZone`).
        public var date: String?
        /// The user's IANA time zone (default UTC): the day, its working hours and the times shown.
        public var timeZone: String?
        /// Also mail it to the user (through their Gmail account, where the policy allows `gmail.send`).
        public var email: Bool?

        public init(date: String? = nil, timeZone: String? = nil, email: Bool? = nil) {
            self.date = date
            self.timeZone = timeZone
            self.email = email
        }

        enum CodingKeys: String, CodingKey {
            case date, email
            case timeZone = "time_zone"
        }

        public static let schema = PayloadSchema([
            .init("date", .date, "the day to brief on (default: today in time_zone)"),
            .init("time_zone", .string(maxLength: 64), "the user's IANA time zone, e.g. Europe/Berlin (default UTC)"),
            .init("email", .boolean, "also mail the briefing to the user where the policy allows gmail.send (default false)"),
        ])
    }

    public static func validate(_ payload: Payload, action: Action) throws(PayloadError) {
        if let zone = payload.timeZone, TimeZone(identifier: zone) == nil {
            throw PayloadError("field 'time_zone' must be an IANA time zone such as Europe/Berlin")
        }
    }
}
