import Synchronization

/// One user's mailbox: messages, threads, labels, drafts and the history feed. Readers take the
/// lock only to look things up; answers are encoded outside it.
final class Mailbox: Sendable {
    struct OrderKey: Sendable, Comparable, Hashable {
        let date: Int64
        let id: String
        static func < (a: OrderKey, b: OrderKey) -> Bool { a.date != b.date ? a.date < b.date : a.id < b.id }
    }

    /// Encoded answers of one message revision, per format.
    struct Rendered: Sendable {
        let revision: UInt64
        var forms: [GmailFormat: [UInt8]]
    }

    struct State: Sendable {
        var messages: [String: MailMessage] = [:]
        var revisions: [String: UInt64] = [:]
        /// Live messages, oldest first.
        var order: [OrderKey] = []
        var threads: [String: [String]] = [:]
        var labels: [String: MailLabel] = [:]
        var drafts: [String: String] = [:]
        var draftOrder: [String] = []
        var history: [HistoryRecord] = []
        var historyId: UInt64
        /// The smallest `startHistoryId` still answered.
        var historyFloor: UInt64
        var rendered: [String: Rendered] = [:]
        var listTokens: [String: (fingerprint: String, after: OrderKey)] = [:]
        var historyTokens: [String: (fingerprint: String, after: UInt64)] = [:]
        var nextRevision: UInt64 = 1
        var random: SeededGenerator
        /// `Message-ID` → message id, to thread replies delivered to this mailbox.
        var messageIDs: [String: String] = [:]
    }

    let owner: Person
    let state: Mutex<State>

    init(owner: Person, startHistoryId: UInt64, seed: UInt64) {
        self.owner = owner
        var labels: [String: MailLabel] = [:]
        for id in MailLabel.systemIds { labels[id] = MailLabel(id: id, name: id, isSystem: true) }
        state = Mutex(
            State(historyId: startHistoryId, historyFloor: startHistoryId, random: SeededGenerator(seed: seed, purpose: "history")))
        state.withLock { $0.labels = labels }
    }

    // MARK: Loading (generation; no history records)

    /// Adds generated messages (any order) without history records; the floor moves past them.
    func load(_ messages: [MailMessage], labels: [MailLabel]) {
        state.withLock { state in
            state.messages.reserveCapacity(messages.count)
            state.revisions.reserveCapacity(messages.count)
            state.messageIDs.reserveCapacity(messages.count)
            state.order.reserveCapacity(messages.count)
            for label in labels { state.labels[label.id] = label }
            for message in messages {
                state.messages[message.id] = message
                state.revisions[message.id] = state.nextRevision
                state.nextRevision += 1
                state.order.append(OrderKey(date: message.internalDate, id: message.id))
                state.threads[message.threadId, default: []].append(message.id)
                if let messageID = message.root.header("Message-ID") { state.messageIDs[messageID] = message.id }
                state.historyId = max(state.historyId, message.historyId)
            }
            state.order.sort()
            state.historyFloor = state.historyId
        }
    }

    // MARK: Changes (each bumps the history feed)

    /// A new history id: larger than any before, with a random gap.
    static func nextHistoryId(_ state: inout State) -> UInt64 {
        state.historyId += UInt64.random(in: 1...37, using: &state.random)
        return state.historyId
    }

    private static func bump(_ state: inout State, _ id: String) {
        state.revisions[id] = state.nextRevision
        state.nextRevision += 1
        state.rendered[id] = nil
    }

    /// Adds a message (received, sent or drafted) and records `messageAdded`.
    @discardableResult
    func add(
        root: MIMEPart, raw: [UInt8]?, labels: [String], threadId requestedThread: String?, internalDate: Int64
    ) -> MailMessage {
        state.withLock { state in
            var id = MessageIDs.make(date: internalDate, random: &state.random)
            while state.messages[id] != nil { id = MessageIDs.make(date: internalDate, random: &state.random) }
            var threadId = id
            if let requested = requestedThread, state.threads[requested] != nil {
                threadId = requested
            } else if requestedThread == nil, let parent = root.header("In-Reply-To"), let parentId = state.messageIDs[parent],
                let parentMessage = state.messages[parentId]
            {
                threadId = parentMessage.threadId
            }
            let historyId = Self.nextHistoryId(&state)
            let message = MailMessage(
                id: id, threadId: threadId, labelIds: labels, historyId: historyId, internalDate: internalDate, root: root, raw: raw)
            state.messages[id] = message
            Self.bump(&state, id)
            let key = OrderKey(date: internalDate, id: id)
            if let last = state.order.last, last > key {
                let index = state.order.partitioningIndex { $0 > key }
                state.order.insert(key, at: index)
            } else {
                state.order.append(key)
            }
            state.threads[threadId, default: []].append(id)
            if let messageID = root.header("Message-ID") { state.messageIDs[messageID] = id }
            state.history.append(
                HistoryRecord(id: historyId, time: internalDate, change: .added, messageId: id, threadId: threadId, labelsAfter: labels))
            return message
        }
    }

    /// Deletes a message for good (`messageDeleted`); false when unknown.
    @discardableResult
    func delete(_ id: String, now: Int64) -> Bool {
        state.withLock { state in
            guard let message = state.messages.removeValue(forKey: id) else { return false }
            Self.bump(&state, id)
            let key = OrderKey(date: message.internalDate, id: id)
            let index = state.order.partitioningIndex { $0 >= key }
            if index < state.order.count, state.order[index] == key { state.order.remove(at: index) }
            state.threads[message.threadId]?.removeAll { $0 == id }
            if state.threads[message.threadId]?.isEmpty == true { state.threads[message.threadId] = nil }
            if let draft = state.drafts.first(where: { $0.value == id })?.key {
                state.drafts[draft] = nil
                state.draftOrder.removeAll { $0 == draft }
            }
            let historyId = Self.nextHistoryId(&state)
            state.history.append(
                HistoryRecord(id: historyId, time: now, change: .deleted, messageId: id, threadId: message.threadId, labelsAfter: []))
            return true
        }
    }

    /// Adds and removes labels (`labelAdded`/`labelRemoved` for actual changes); nil when unknown.
    func modify(_ id: String, add: [String], remove: [String], now: Int64) -> MailMessage? {
        state.withLock { state in
            guard var message = state.messages[id] else { return nil }
            let added = add.filter { !message.labelIds.contains($0) }
            let removed = remove.filter { message.labelIds.contains($0) && !add.contains($0) }
            guard !added.isEmpty || !removed.isEmpty else { return message }
            message.labelIds = message.labelIds.filter { !removed.contains($0) } + added
            if !added.isEmpty {
                message.historyId = Self.nextHistoryId(&state)
                state.history.append(
                    HistoryRecord(
                        id: message.historyId, time: now, change: .labelsAdded(added), messageId: id, threadId: message.threadId,
                        labelsAfter: message.labelIds))
            }
            if !removed.isEmpty {
                message.historyId = Self.nextHistoryId(&state)
                state.history.append(
                    HistoryRecord(
                        id: message.historyId, time: now, change: .labelsRemoved(removed), messageId: id, threadId: message.threadId,
                        labelsAfter: message.labelIds))
            }
            state.messages[id] = message
            Self.bump(&state, id)
            return message
        }
    }

    /// Every history id issued so far becomes too old (`startHistoryId` → 404).
    func expireHistory() {
        state.withLock { state in
            state.history.removeAll()
            state.historyFloor = Self.nextHistoryId(&state)
        }
    }

    /// Drops records older than `retentionMillis` (the floor moves past them).
    func prune(now: Int64, retentionMillis: Int64) {
        state.withLock { state in
            guard let first = state.history.first, first.time < now - retentionMillis else { return }
            let keep = state.history.partitioningIndex { $0.time >= now - retentionMillis }
            state.historyFloor = max(state.historyFloor, state.history[keep - 1].id)
            state.history.removeFirst(keep)
        }
    }

    // MARK: Reading

    func message(_ id: String) -> MailMessage? { state.withLock { $0.messages[id] } }

    /// The message and the revision its cached forms belong to, plus a cached form if there is one.
    func lookup(_ id: String, format: GmailFormat) -> (message: MailMessage, revision: UInt64, cached: [UInt8]?)? {
        state.withLock { state in
            guard let message = state.messages[id], let revision = state.revisions[id] else { return nil }
            let cached = state.rendered[id].flatMap { $0.revision == revision ? $0.forms[format] : nil }
            return (message, revision, cached)
        }
    }

    /// Keeps an encoded form, unless the message changed meanwhile.
    func remember(_ id: String, revision: UInt64, format: GmailFormat, bytes: [UInt8]) {
        state.withLock { state in
            guard state.revisions[id] == revision else { return }
            if state.rendered[id]?.revision == revision {
                state.rendered[id]?.forms[format] = bytes
            } else {
                state.rendered[id] = Rendered(revision: revision, forms: [format: bytes])
            }
        }
    }

    var historyId: UInt64 { state.withLock { $0.historyId } }
}

/// Gmail's message ids: 16 hex digits that grow with the message's date.
enum MessageIDs {
    static func make(date: Int64, random: inout SeededGenerator) -> String {
        let value = (UInt64(max(0, date)) << 20) | (random.next() & 0xFFFFF)
        return String(value, radix: 16).leftPadded(16)
    }
}

extension Array {
    /// The first index whose element satisfies `predicate` (which must be false, then true).
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
