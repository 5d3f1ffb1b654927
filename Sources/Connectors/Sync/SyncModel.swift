import Contracts
import Foundation

/// An item of a connected system as the tenant's records hold it: structured facts (who,
/// when, what state, where), never the raw content (bodies are processed and discarded).
public struct SyncedItem: Sendable, Equatable {
    /// `message`, `event`, `document`, `ticket`, `pull_request`, `issue`.
    public var type: String
    /// The provider's id (`owner/repo#12` for GitHub).
    public var sourceID: String
    public var title: String
    /// Who is involved: sender and recipients, organizer and attendees, assignee and reporter...
    public var people: [String: JSONValue]
    /// When it happened: a message's date, an event's start, a ticket's or PR's last update.
    public var occurredAt: Date?
    public var updatedAt: Date?
    public var link: String?
    public var status: String?
    /// Facts a later worker needs (labels, thread id, due date, headers that mark automated mail).
    public var details: [String: JSONValue]
    public var classification: Classification

    public init(
        type: String, sourceID: String, title: String, people: [String: JSONValue] = [:], occurredAt: Date? = nil, updatedAt: Date? = nil,
        link: String? = nil, status: String? = nil, details: [String: JSONValue] = [:], classification: Classification = .internal
    ) {
        self.type = type
        self.sourceID = sourceID
        self.title = title
        self.people = people
        self.occurredAt = occurredAt
        self.updatedAt = updatedAt
        self.link = link
        self.status = status
        self.details = details
        self.classification = classification
    }
}

/// A change a sync page brings.
public enum ItemChange: Sendable, Equatable {
    case upsert(SyncedItem)
    /// Deleted, cancelled, or no longer visible to the user.
    case delete(sourceID: String)
}

/// Where a sync of one (user, connector) stands; stored with the items it led to, in one
/// transaction, so a sync killed at any moment resumes from its last stored page.
public struct SyncCursor: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        /// Reading everything (the first sync, a resync, or a periodic full pass).
        case full
        /// Reading changes since `token`.
        case incremental
    }

    public var phase: Phase
    /// The provider's change cursor: a Gmail history id, a Calendar sync token, a Drive page
    /// token, the last update a Jira or GitHub pass saw.
    public var token: String?
    /// The page within the current pass.
    public var page: String?
    /// Provider state beside the token (the change cursor taken before a full crawl, ETags).
    public var state: [String: String]
    /// The pass a full sync writes its items under: items of older passes are gone at its end.
    public var generation: Int64
    /// When a full pass last completed (ms): some providers are swept with one periodically.
    public var lastFullAt: Int64

    public init(
        phase: Phase, token: String? = nil, page: String? = nil, state: [String: String] = [:], generation: Int64, lastFullAt: Int64 = 0
    ) {
        self.phase = phase
        self.token = token
        self.page = page
        self.state = state
        self.generation = generation
        self.lastFullAt = lastFullAt
    }

    /// A cursor as stored (its JSON); nil when it does not read as one.
    public init?(stored: String) {
        guard let cursor = try? JSONDecoder().decode(SyncCursor.self, from: Data(stored.utf8)) else { return nil }
        self = cursor
    }

    /// A full pass from the start.
    public static func full(now: Int64 = Clock.milliseconds()) -> SyncCursor { SyncCursor(phase: .full, generation: now) }
}

/// One page of a sync: its changes, the cursor after them, and whether the pass is complete.
public struct SyncPage: Sendable {
    public var changes: [ItemChange]
    public var cursor: SyncCursor
    public var done: Bool

    public init(changes: [ItemChange], cursor: SyncCursor, done: Bool) {
        self.changes = changes
        self.cursor = cursor
        self.done = done
    }
}

/// A provider's sync: the next page from a cursor.
public protocol ConnectorSyncer: Sendable {
    func next(_ cursor: SyncCursor, session: ProviderSession) async throws(ConnectorFailure) -> SyncPage
}

/// Timestamps as providers write them.
public enum ProviderTime {
    /// RFC 3339 with or without fractional seconds (Google, GitHub).
    public static func rfc3339(_ text: String?) -> Date? {
        text.flatMap(RFC3339.parse)
    }

    /// Jira's `2024-05-01T12:34:56.789+0000` (its offset without the colon).
    public static func jira(_ text: String?) -> Date? {
        guard let text else { return nil }
        let bytes = Array(text.utf8)
        if bytes.count >= 5, bytes[bytes.count - 5] == UInt8(ascii: "+") || bytes[bytes.count - 5] == UInt8(ascii: "-"),
            !text.hasSuffix(":")
        {
            let cut = text.index(text.endIndex, offsetBy: -2)
            if let date = RFC3339.parse(text[..<cut] + ":" + text[cut...]) { return date }
        }
        return RFC3339.parse(text)
    }

    /// A calendar day `YYYY-MM-DD` at midnight UTC.
    public static func day(_ text: String?) -> Date? {
        guard let text, text.utf8.count == 10 else { return nil }
        return RFC3339.parse(text + "T00:00:00Z")
    }

    public static func string(_ date: Date) -> String { RFC3339.format(date) }
}
