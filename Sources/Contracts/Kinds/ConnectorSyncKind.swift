/// `connector-sync`: reads a connected account of one connector into the tenant's records,
/// incrementally from the saved cursor (read-only).
public enum ConnectorSyncKind: KindContract {
    public static let kind = JobKind.connectorSync
    public static let summary =
        "Syncs the requester's connected account of one connector (Gmail, Calendar, Drive, Jira, GitHub) into the tenant's records."
    public static let actions: Set<Action>? = Set(Connector.allCases.map(\.readAction))

    public struct Payload: KindPayload {
        /// The connector whose account (the requester's) is synced.
        public var connector: Connector
        /// Ignore the saved cursor and read everything again.
        public var full: Bool?

        public init(connector: Connector, full: Bool? = nil) {
            self.connector = connector
            self.full = full
        }

        public static let schema = PayloadSchema([
            .init("connector", .string(values: Connector.allCases.map(\.rawValue)), required: true, "the connector to sync"),
            .init("full", .boolean, "ignore the saved cursor and read everything"),
        ])
    }

    /// A sync is submitted under its connector's read action.
    public static func validate(_ payload: Payload, action: Action) throws(PayloadError) {
        guard action == payload.connector.readAction else {
            throw PayloadError("names connector \(payload.connector.rawValue) but the action is \(action)")
        }
    }
}
