/// `auto-responder`: answers a message that needs a reply, under the policy's autonomy for
/// `autorespond.send`.
///
/// In two steps. Without a `draft` the job reads the message (`gmail.read`), checks that it may
/// be answered at all, and writes the reply; it then submits the same kind with the `draft`
/// under `autorespond.send`, and that job is decided like any: `autonomous` sends, `notify`
/// sends with the AI disclosure, `approve` parks it in the approvals API (approvers may edit
/// the draft), `block` refuses it. Only a job with a draft sends.
public enum AutoResponderKind: KindContract {
    public static let kind = JobKind.autoResponder
    public static let summary = "Drafts a reply to a message that needs one and, where the policy allows, sends it."
    public static let actions: Set<Action>? = [.gmailRead, .autorespondSend]
    public static let editableOnApproval: Set<String> = ["draft"]

    public struct Payload: KindPayload {
        /// Where the message came from (`gmail`).
        public var channel: String
        public var messageID: String
        /// The reply to send; without it, the job drafts one.
        public var draft: String?
        /// The message answered, for whoever approves (`from`, `subject`, `excerpt`).
        public var original: [String: String]?

        public init(channel: String, messageID: String, draft: String? = nil, original: [String: String]? = nil) {
            self.channel = channel
            self.messageID = messageID
            self.draft = draft
            self.original = original
        }

        enum CodingKeys: String, CodingKey {
            case channel, draft, original
            case messageID = "message_id"
        }

        public static let schema = PayloadSchema([
            .init("channel", .string(values: ["gmail"]), required: true, "where the message came from"),
            .init("message_id", .string(maxLength: 256), required: true, "the message to answer"),
            .init("draft", .string(maxLength: 20_000), "the reply to send (plain text); without it the job drafts one"),
            .init("original", .object, "the message answered, for approvers: from, subject, excerpt"),
        ])
    }

    public static func validate(_ payload: Payload, action: Action) throws(PayloadError) {
        if payload.draft == nil {
            guard action == .gmailRead else { throw PayloadError("without a 'draft' the job drafts a reply: submit it under gmail.read") }
            guard payload.original == nil else { throw PayloadError("'original' goes with a 'draft'") }
        } else {
            guard action == .autorespondSend else { throw PayloadError("a 'draft' is sent: submit it under autorespond.send") }
            guard payload.draft?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == false else {
                throw PayloadError("'draft' must hold the reply")
            }
        }
        for (key, value) in payload.original ?? [:] {
            guard ["from", "subject", "excerpt"].contains(key) else {
                throw PayloadError("'original' holds only from, subject and excerpt")
            }
            guard value.utf8.count <= 2_000 else { throw PayloadError("'original.\(key)' must be at most 2000 bytes") }
        }
    }

    /// Drafting reads the message; sending is decided on `autorespond.send` (the autonomy) and
    /// `gmail.send` (the connector write) whatever the job is submitted under.
    public static func performs(_ payload: Payload, action: Action) -> Set<Action> {
        payload.draft == nil ? [.gmailRead] : [action, .autorespondSend, .gmailSend]
    }
}
