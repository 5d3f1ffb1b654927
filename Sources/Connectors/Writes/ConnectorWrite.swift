import Contracts
import Foundation

/// A change the fleet makes in a connected system for a job. Each is checked against the
/// policy when it is made (its `action` must be in the tenant's `integrations.write` list and
/// allowed at its autonomy), and each is made at most once per (job, step): a job run again
/// after a crash finds what its first run did instead of doing it twice.
public enum ConnectorWrite: Sendable, Equatable {
    /// A draft in the user's mailbox (a reply in its thread when `replyTo` is set).
    case gmailDraft(MailMessage)
    /// Sends a message (a reply in its thread when `replyTo` is set).
    case gmailSend(MailMessage)
    /// A comment on a Jira issue.
    case jiraComment(issue: String, text: String)
    /// Moves a Jira issue to the status named `status` (through whichever transition leads there).
    case jiraTransition(issue: String, status: String)
    /// An event in the user's primary calendar.
    case calendarInsert(CalendarEventDraft)

    public var connector: Connector {
        switch self {
        case .gmailDraft, .gmailSend: .gmail
        case .jiraComment, .jiraTransition: .jira
        case .calendarInsert: .gcal
        }
    }

    /// The action the policy decides on.
    public var action: Action {
        switch self {
        case .gmailDraft: .gmailDraft
        case .gmailSend: .gmailSend
        case .jiraComment: .jiraComment
        case .jiraTransition: .jiraTransition
        case .calendarInsert: .gcalCreateEvent
        }
    }

    /// What the change is aimed at, for the policy and the audit (no content).
    public var target: String {
        switch self {
        case .gmailDraft(let message), .gmailSend(let message): message.to.joined(separator: ",")
        case .jiraComment(let issue, _): issue
        case .jiraTransition(let issue, let status): "\(issue)->\(status)"
        case .calendarInsert(let event): event.attendees.joined(separator: ",")
        }
    }
}

/// A mail message to draft or send.
public struct MailMessage: Sendable, Equatable {
    public var to: [String]
    public var cc: [String]
    public var subject: String
    /// Plain text.
    public var body: String
    /// The message replied to: its Gmail thread and its `Message-ID` header (for
    /// `In-Reply-To` and `References`).
    public var replyTo: (threadID: String, messageID: String)?
    /// The `References` of the message replied to (its id is added after them).
    public var references: String?
    /// An automatic reply: sent with `Auto-Submitted: auto-replied` (RFC 3834), so that other
    /// responders leave it alone.
    public var autoReplied: Bool

    public init(
        to: [String], cc: [String] = [], subject: String, body: String, replyTo: (threadID: String, messageID: String)? = nil,
        references: String? = nil, autoReplied: Bool = false
    ) {
        self.to = to
        self.cc = cc
        self.subject = subject
        self.body = body
        self.replyTo = replyTo
        self.references = references
        self.autoReplied = autoReplied
    }

    public static func == (lhs: MailMessage, rhs: MailMessage) -> Bool {
        lhs.to == rhs.to && lhs.cc == rhs.cc && lhs.subject == rhs.subject && lhs.body == rhs.body
            && lhs.replyTo?.threadID == rhs.replyTo?.threadID && lhs.replyTo?.messageID == rhs.replyTo?.messageID
            && lhs.references == rhs.references && lhs.autoReplied == rhs.autoReplied
    }
}

/// An event to put in a calendar.
public struct CalendarEventDraft: Sendable, Equatable {
    public var summary: String
    public var description: String?
    public var start: Date
    public var end: Date
    public var attendees: [String]

    public init(summary: String, description: String? = nil, start: Date, end: Date, attendees: [String] = []) {
        self.summary = summary
        self.description = description
        self.start = start
        self.end = end
        self.attendees = attendees
    }
}

/// What a write produced: the provider's id of it and where to see it.
public struct WriteReceipt: Sendable, Equatable, Codable {
    public var connector: String
    public var action: String
    /// The provider's id (a message, draft, comment or event id; the status reached).
    public var id: String
    public var link: String?
    /// True when a repeated run found the write its first run made.
    public var replayed: Bool

    public init(connector: String, action: String, id: String, link: String? = nil, replayed: Bool = false) {
        self.connector = connector
        self.action = action
        self.id = id
        self.link = link
        self.replayed = replayed
    }

    public var json: [String: JSONValue] {
        var out: [String: JSONValue] = [
            "connector": .string(connector), "action": .string(action), "id": .string(id), "replayed": .bool(replayed),
        ]
        if let link { out["link"] = .string(link) }
        return out
    }
}
