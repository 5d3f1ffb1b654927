/// `briefing`: a user's daily briefing: prioritized tasks, time blocks, alerts.
public enum BriefingKind: KindContract {
    public static let kind = JobKind.briefing
    public static let summary = "Builds a user's daily briefing from their synced tasks, calendar and mail."
    public static let actions: Set<Action>? = Set(Connector.allCases.map(\.readAction)).union([.modelCall])

    public struct Payload: KindPayload {
        /// The day to brief on (default: today in the user's time zone).
        public var date: String?

        public init(date: String? = nil) { self.date = date }

        public static let schema = PayloadSchema([.init("date", .date, "the day to brief on (default: today)")])
    }
}
