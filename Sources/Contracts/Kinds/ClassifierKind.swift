/// `classifier`: sets the data level and (for messages) the message class of synced items.
///
/// A sync submits one as a follow-up for what it stored (one job per user and connector, every
/// item the sync changed is waiting for it); a user may ask again for one item.
public enum ClassifierKind: KindContract {
    public static let kind = JobKind.classifier
    public static let summary =
        "Classifies the requester's synced items of one connector: their data level and, for messages, their message class."
    public static let actions: Set<Action>? = Set(Connector.allCases.map(\.readAction))

    public struct Payload: KindPayload {
        /// The connector the items came from.
        public var source: Connector
        /// One item to classify again; without it, every item of `source` waiting for
        /// classification.
        public var itemID: String?

        public init(source: Connector, itemID: String? = nil) {
            self.source = source
            self.itemID = itemID
        }

        enum CodingKeys: String, CodingKey {
            case source
            case itemID = "item_id"
        }

        public static let schema = PayloadSchema([
            .init("source", .string(values: Connector.allCases.map(\.rawValue)), required: true, "the connector the items came from"),
            .init("item_id", .string(maxLength: 256), "one synced item to classify again; without it, every item waiting"),
        ])
    }

    /// Classifying reads the items from their source: the job is submitted under its read
    /// action (a model is asked only where the policy allows, checked at run time).
    public static func validate(_ payload: Payload, action: Action) throws(PayloadError) {
        guard action == payload.source.readAction else {
            throw PayloadError("names source \(payload.source.rawValue) but the action is \(action)")
        }
    }
}
