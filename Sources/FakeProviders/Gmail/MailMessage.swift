/// One message of a mailbox.
struct MailMessage: Sendable {
    let id: String
    var threadId: String
    var labelIds: [String]
    /// The last history record that touched it.
    var historyId: UInt64
    /// Epoch milliseconds.
    let internalDate: Int64
    let root: MIMEPart
    /// The RFC 2822 bytes when the message came as `raw` (sent, drafted); generated messages are
    /// written from `root` on demand.
    let raw: [UInt8]?
    let snippet: String
    let sizeEstimate: Int
    /// Text for `q` searches, ASCII-lowercased.
    let search: SearchFields

    /// Header and body text a query looks at, lowercased once.
    struct SearchFields: Sendable {
        let from: String
        let to: String
        let cc: String
        let subject: String
        let body: String
        let filenames: [String]
    }

    init(id: String, threadId: String, labelIds: [String], historyId: UInt64, internalDate: Int64, root: MIMEPart, raw: [UInt8]?) {
        self.id = id
        self.threadId = threadId
        self.labelIds = labelIds
        self.historyId = historyId
        self.internalDate = internalDate
        self.root = root
        self.raw = raw
        let text = root.plainText ?? ""
        snippet = Snippet.make(text)
        sizeEstimate = raw?.count ?? root.estimatedSize
        search = SearchFields(
            from: (root.header("From") ?? "").asciiLowercased, to: (root.header("To") ?? "").asciiLowercased,
            cc: (root.header("Cc") ?? "").asciiLowercased, subject: (root.header("Subject") ?? "").asciiLowercased,
            body: text.asciiLowercased,
            filenames: root.filenames.map { $0.asciiLowercased })
    }

    /// The RFC 2822 form.
    var rawBytes: [UInt8] { raw ?? MIMEWriter.render(root) }

    func has(_ label: String) -> Bool { labelIds.contains(label) }

    /// `{"id","threadId"}` as history and list entries show it.
    var reference: JSON { .object([("id", .string(id)), ("threadId", .string(threadId))]) }

    /// `{"id","threadId","labelIds"}`.
    var referenceWithLabels: JSON {
        .object([("id", .string(id)), ("threadId", .string(threadId)), ("labelIds", .array(labelIds.map { .string($0) }))])
    }
}

/// A label of a mailbox (system labels are fixed; user labels have ids like `Label_3`).
struct MailLabel: Sendable {
    let id: String
    var name: String
    let isSystem: Bool

    static let systemIds = [
        "CHAT", "SENT", "INBOX", "IMPORTANT", "TRASH", "DRAFT", "SPAM", "CATEGORY_FORUMS", "CATEGORY_UPDATES", "CATEGORY_PERSONAL",
        "CATEGORY_PROMOTIONS", "CATEGORY_SOCIAL", "STARRED", "UNREAD",
    ]

    var json: JSON {
        var object = JSONObjectBuilder()
        object.set("id", id)
        object.set("name", name)
        if !isSystem {
            object.set("messageListVisibility", "show")
            object.set("labelListVisibility", "labelShow")
        } else if ["SENT", "INBOX", "IMPORTANT", "TRASH", "DRAFT", "SPAM", "STARRED", "UNREAD"].contains(id) {
            object.set("messageListVisibility", id == "UNREAD" || id == "IMPORTANT" || id == "STARRED" ? "hide" : "hide")
            object.set("labelListVisibility", "labelShow")
        }
        object.set("type", isSystem ? "system" : "user")
        return object.json
    }
}

/// One change of a mailbox, as `history.list` reports it.
struct HistoryRecord: Sendable {
    enum Change: Sendable {
        case added
        case deleted
        case labelsAdded([String])
        case labelsRemoved([String])

        var typeName: String {
            switch self {
            case .added: return "messageAdded"
            case .deleted: return "messageDeleted"
            case .labelsAdded: return "labelAdded"
            case .labelsRemoved: return "labelRemoved"
            }
        }
    }

    let id: UInt64
    let time: Int64
    let change: Change
    let messageId: String
    let threadId: String
    /// The message's labels right after the change.
    let labelsAfter: [String]

    var json: JSON {
        let bare: JSON = .object([("id", .string(messageId)), ("threadId", .string(threadId))])
        let withLabels: JSON = .object([
            ("id", .string(messageId)), ("threadId", .string(threadId)), ("labelIds", .array(labelsAfter.map { .string($0) })),
        ])
        var fields: [(String, JSON)] = [("id", .string(String(id))), ("messages", .array([bare]))]
        switch change {
        case .added: fields.append(("messagesAdded", .array([.object([("message", withLabels)])])))
        case .deleted: fields.append(("messagesDeleted", .array([.object([("message", bare)])])))
        case .labelsAdded(let labels):
            fields.append(
                ("labelsAdded", .array([.object([("message", withLabels), ("labelIds", .array(labels.map { .string($0) }))])])))
        case .labelsRemoved(let labels):
            fields.append(
                ("labelsRemoved", .array([.object([("message", withLabels), ("labelIds", .array(labels.map { .string($0) }))])])))
        }
        return .object(fields)
    }
}
