/// `standup`: a user's end-of-day standup from their actual activity.
public enum StandupKind: KindContract {
    public static let kind = JobKind.standup
    public static let summary = "Writes a user's standup (done, next, blockers) from their activity."
    public static let actions: Set<Action>? = Set(Connector.allCases.map(\.readAction)).union([.modelCall])

    public struct Payload: KindPayload {
        /// The day to report on (default: today in the user's time zone).
        public var date: String?

        public init(date: String? = nil) { self.date = date }

        public static let schema = PayloadSchema([.init("date", .date, "the day to report on (default: today)")])
    }
}
