/// `auto-responder`: answers a message under the policy's autonomy for `autorespond.send`.
public enum AutoResponderKind: KindContract {
    public static let kind = JobKind.autoResponder
    public static let summary = "Drafts and, where policy allows, sends a reply to a message that needs one."
    public static let actions: Set<Action>? = [.autorespondSend, .gmailSend, .modelCall]

    public struct Payload: KindPayload {
        public var channel: String
        public var messageID: String

        public init(channel: String, messageID: String) {
            self.channel = channel
            self.messageID = messageID
        }

        enum CodingKeys: String, CodingKey {
            case channel
            case messageID = "message_id"
        }

        public static let schema = PayloadSchema([
            .init("channel", .string(maxLength: 64), required: true, "where the message came from (e.g. gmail)"),
            .init("message_id", .string(maxLength: 256), required: true, "the message to answer"),
        ])
    }

    /// Whatever it is submitted under, an auto-responder may send a reply: the decision covers
    /// `autorespond.send` (the autonomy) and `gmail.send` (the connector write).
    public static func performs(_ payload: Payload, action: Action) -> Set<Action> {
        [action, .autorespondSend, .gmailSend]
    }
}
