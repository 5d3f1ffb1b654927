import Contracts
import Foundation
import OutboundHTTP

/// Gmail: a full pass lists the mailbox and reads each message's metadata (headers, labels; no
/// body), after noting the mailbox's `historyId`; incremental passes read the history since the
/// stored id. A history id too old for Gmail (404) means a full resync.
public struct GmailSync: ConnectorSyncer {
    let host: String
    let base: String
    /// Messages read in one batch request (Gmail takes 100 and advises at most 50).
    let batchSize: Int
    /// Batch requests in flight at once.
    let concurrency: Int

    /// - Parameter host: Gmail's host (`https://gmail.googleapis.com`).
    public init(host: String, batchSize: Int = 50, concurrency: Int = 4) {
        self.host = host
        base = host + "/gmail/v1/users/me"
        self.batchSize = min(max(1, batchSize), GoogleBatch.maxCalls)
        self.concurrency = max(1, concurrency)
    }

    /// The headers read from every message: who, what, thread, and what marks automated mail.
    static let headers = [
        "From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "List-Unsubscribe", "List-Id",
        "Auto-Submitted", "Precedence", "Reply-To",
    ]

    struct Profile: Decodable { let historyId: String }

    struct MessageList: Decodable {
        struct Ref: Decodable { let id: String }
        let messages: [Ref]?
        let nextPageToken: String?
    }

    struct HistoryList: Decodable {
        struct Ref: Decodable {
            struct Message: Decodable { let id: String }
            let message: Message
        }

        struct Record: Decodable {
            let messagesAdded: [Ref]?
            let messagesDeleted: [Ref]?
            let labelsAdded: [Ref]?
            let labelsRemoved: [Ref]?
        }

        let history: [Record]?
        let historyId: String
        let nextPageToken: String?
    }

    struct Message: Decodable {
        struct Part: Decodable {
            struct Header: Decodable {
                let name: String
                let value: String
            }

            let headers: [Header]?
        }

        let id: String
        let threadId: String
        let labelIds: [String]?
        let internalDate: String?
        let sizeEstimate: Int?
        let payload: Part?
    }

    public func next(_ cursor: SyncCursor, session: ProviderSession) async throws(ConnectorFailure) -> SyncPage {
        var cursor = cursor
        switch cursor.phase {
        case .full:
            if cursor.state["start"] == nil {
                cursor.state["start"] = try await session.get(base + "/profile", as: Profile.self).historyId
            }
            let list = try await session.get(
                base + "/messages?" + Query.string([("maxResults", "500"), ("pageToken", cursor.page)]), as: MessageList.self)
            let changes = try await read((list.messages ?? []).map(\.id), session: session)
            if let next = list.nextPageToken {
                cursor.page = next
                return SyncPage(changes: changes, cursor: cursor, done: false)
            }
            let start = cursor.state["start"]
            cursor = SyncCursor(phase: .incremental, token: start, generation: cursor.generation, lastFullAt: Clock.milliseconds())
            return SyncPage(changes: changes, cursor: cursor, done: true)
        case .incremental:
            let history = try await session.get(
                base + "/history?" + Query.string([("startHistoryId", cursor.token), ("maxResults", "500"), ("pageToken", cursor.page)]),
                as: HistoryList.self, cursorRequest: true)
            // In history order, the last thing that happened to a message decides.
            var touched: [String: Bool] = [:]  // id → still there
            var order: [String] = []
            for record in history.history ?? [] {
                for ref in (record.messagesAdded ?? []) + (record.labelsAdded ?? []) + (record.labelsRemoved ?? []) {
                    if touched[ref.message.id] == nil { order.append(ref.message.id) }
                    touched[ref.message.id] = true
                }
                for ref in record.messagesDeleted ?? [] {
                    if touched[ref.message.id] == nil { order.append(ref.message.id) }
                    touched[ref.message.id] = false
                }
            }
            var changes = order.filter { touched[$0] == false }.map { ItemChange.delete(sourceID: $0) }
            changes += try await read(order.filter { touched[$0] == true }, session: session)
            if let next = history.nextPageToken {
                cursor.page = next
                return SyncPage(changes: changes, cursor: cursor, done: false)
            }
            cursor.page = nil
            cursor.token = history.historyId
            return SyncPage(changes: changes, cursor: cursor, done: true)
        }
    }

    /// Reads messages' metadata in batch requests, a few batches at a time; a message gone
    /// meanwhile is deleted.
    func read(_ ids: [String], session: ProviderSession) async throws(ConnectorFailure) -> [ItemChange] {
        let query = Query.string([("format", "metadata")] + Self.headers.map { ("metadataHeaders", $0) })
        let path = "/gmail/v1/users/me/messages/"
        if ids.count == 1 {
            do {
                return [.upsert(Self.item(try await session.get(host + path + Query.encode(ids[0]) + "?" + query, as: Message.self)))]
            } catch {
                guard case .notFound = error else { throw error }
                return [.delete(sourceID: ids[0])]
            }
        }
        return try await session.batchGetAll(
            host: host, batchPath: "/batch/gmail/v1", ids.map { path + Query.encode($0) + "?" + query }, batchSize: batchSize,
            concurrency: concurrency
        ) { index, answer throws(ConnectorFailure) in
            guard let answer else { return .delete(sourceID: ids[index]) }
            return .upsert(Self.item(try ProviderSession.decode(Message.self, answer, from: path + ids[index])))
        }
    }

    /// A message as a record: headers and labels, no body.
    static func item(_ message: Message) -> SyncedItem {
        var headers: [String: String] = [:]
        for header in message.payload?.headers ?? [] where headers[header.name.lowercased()] == nil {
            headers[header.name.lowercased()] = header.value
        }
        func addresses(_ name: String) -> JSONValue {
            .array(Addresses.split(headers[name] ?? "").map { .string($0) })
        }
        var details: [String: JSONValue] = [
            "thread_id": .string(message.threadId), "labels": .array((message.labelIds ?? []).map { .string($0) }),
        ]
        for (header, key) in [
            ("message-id", "message_id"), ("in-reply-to", "in_reply_to"), ("references", "references"),
            ("list-unsubscribe", "list_unsubscribe"),
            ("list-id", "list_id"), ("auto-submitted", "auto_submitted"), ("precedence", "precedence"), ("reply-to", "reply_to"),
        ] {
            if let value = headers[header] { details[key] = .string(String(value.prefix(1000))) }
        }
        if let size = message.sizeEstimate { details["size"] = .integer(Int64(size)) }
        return SyncedItem(
            type: "message", sourceID: message.id, title: headers["subject"] ?? "",
            people: ["from": .string(headers["from"] ?? ""), "to": addresses("to"), "cc": addresses("cc")],
            occurredAt: message.internalDate.flatMap { Int64($0) }.map { Clock.date(milliseconds: $0) },
            link: "https://mail.google.com/mail/u/0/#all/\(message.threadId)", details: details)
    }
}

/// Address lists of mail headers.
public enum Addresses {
    /// `"A, B" <a@x>, b@y` split at the commas outside quotes and angle brackets.
    public static func split(_ header: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        var angle = false
        for character in header {
            switch character {
            case "\"": quoted.toggle()
            case "<": angle = true
            case ">": angle = false
            case "," where !quoted && !angle:
                let trimmed = current.trimmingCharacters(in: .whitespaces)
                if !trimmed.isEmpty { out.append(trimmed) }
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        let trimmed = current.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty { out.append(trimmed) }
        return out
    }

    /// The bare address of `a "Name" <a@x>` form.
    public static func bare(_ text: String) -> String {
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            return String(text[text.index(after: open)..<close]).lowercased()
        }
        return text.trimmingCharacters(in: .whitespaces).lowercased()
    }
}
