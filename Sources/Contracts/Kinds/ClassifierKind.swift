/// `classifier`: sets the data level and (for messages) the message class of synced items.
public enum ClassifierKind: KindContract {
    public static let kind = JobKind.classifier
    public static let summary = "Classifies synced items: their data level and, for messages, their message class."
    public static let actions: Set<Action>? = Set(Connector.allCases.map(\.readAction)).union([.modelCall])

    public struct Payload: KindPayload {
        /// The connector the item came from.
        public var source: String
        public var itemID: String

        public init(source: String, itemID: String) {
            self.source = source
            self.itemID = itemID
        }

        enum CodingKeys: String, CodingKey {
            case source
            case itemID = "item_id"
        }

        public static let schema = PayloadSchema([
            .init("source", .string(maxLength: 64), required: true, "the connector the item came from"),
            .init("item_id", .string(maxLength: 256), required: true, "the synced item's id"),
        ])
    }

    /// Classifying an item reads it from its source (a model is asked only where the policy
    /// allows, checked at run time).
    public static func performs(_ payload: Payload, action: Action) -> Set<Action> {
        var actions: Set<Action> = [action]
        if let connector = Connector(rawValue: payload.source) { actions.insert(connector.readAction) }
        return actions
    }
}
