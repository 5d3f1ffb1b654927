/// The formats of `messages.get`.
enum GmailFormat: String, Sendable, Hashable {
    case minimal, metadata, full, raw
}

/// Reads of a mailbox: message and thread lists, history pages, drafts, labels, the profile.
extension Mailbox {
    /// One page of `messages.list`.
    struct ListPage {
        let messages: [MailMessage]
        let nextPageToken: String?
        let estimate: Int
    }

    /// Pages through live messages, newest first. `fingerprint` ties a page token to its query.
    func list(fingerprint: String, maxResults: Int, pageToken: String?, matching: (MailMessage) -> Bool) -> ListPage? {
        state.withLock { state -> ListPage? in
            var start = state.order.count - 1
            if let pageToken {
                guard let cursor = state.listTokens[pageToken], cursor.fingerprint == fingerprint else { return nil }
                start = state.order.partitioningIndex { $0 >= cursor.after } - 1
            }
            var found: [MailMessage] = []
            var index = start
            var more = false
            var scanned = 0
            // Stop at the first match past the page: the estimate extrapolates the match rate
            // (Gmail's `resultSizeEstimate` is an estimate too), so a page costs its own size.
            while index >= 0 {
                scanned += 1
                if let message = state.messages[state.order[index].id], matching(message) {
                    if found.count < maxResults {
                        found.append(message)
                    } else {
                        more = true
                        break
                    }
                }
                index -= 1
            }
            var estimate = found.count
            if more {
                let rate = Double(found.count + 1) / Double(max(1, scanned))
                estimate = found.count + max(1, Int((Double(index + 1) * rate).rounded()))
            }
            var token: String?
            if more, let last = found.last {
                let next = OpaqueToken.make(20, alphabet: "0123456789")
                if state.listTokens.count > 200_000 { state.listTokens.removeAll() }
                state.listTokens[next] = (fingerprint, OrderKey(date: last.internalDate, id: last.id))
                token = next
            }
            return ListPage(messages: found, nextPageToken: token, estimate: estimate)
        }
    }

    /// One page of `history.list`, or why there is none.
    enum HistoryPage {
        case page(records: [HistoryRecord], nextPageToken: String?, historyId: UInt64)
        case tooOld
        case invalidPageToken
    }

    func history(
        start: UInt64, types: Set<String>, labelId: String?, maxResults: Int, pageToken: String?, now: Int64, retentionMillis: Int64
    ) -> HistoryPage {
        prune(now: now, retentionMillis: retentionMillis)
        return state.withLock { state -> HistoryPage in
            guard start >= state.historyFloor, start <= state.historyId else { return .tooOld }
            let fingerprint = "\(start)|\(types.sorted())|\(labelId ?? "")"
            var after = start
            if let pageToken {
                guard let cursor = state.historyTokens[pageToken], cursor.fingerprint == fingerprint else { return .invalidPageToken }
                after = cursor.after
                guard after >= state.historyFloor else { return .tooOld }
            }
            var index = state.history.partitioningIndex { $0.id > after }
            var records: [HistoryRecord] = []
            var more = false
            while index < state.history.count {
                let record = state.history[index]
                index += 1
                if !types.isEmpty, !types.contains(record.change.typeName) { continue }
                if let labelId {
                    var touched = record.labelsAfter.contains(labelId)
                    switch record.change {
                    case .labelsAdded(let labels), .labelsRemoved(let labels): touched = touched || labels.contains(labelId)
                    default: break
                    }
                    if !touched { continue }
                }
                if records.count == maxResults {
                    more = true
                    break
                }
                records.append(record)
            }
            var token: String?
            if more, let last = records.last {
                let next = OpaqueToken.make(20, alphabet: "0123456789")
                if state.historyTokens.count > 100_000 { state.historyTokens.removeAll() }
                state.historyTokens[next] = (fingerprint, last.id)
                token = next
            }
            return .page(records: records, nextPageToken: token, historyId: state.historyId)
        }
    }

    /// `getProfile`'s numbers.
    func profile() -> (messages: Int, threads: Int, historyId: UInt64) {
        state.withLock { ($0.messages.count - $0.drafts.count, $0.threads.count, $0.historyId) }
    }

    /// Messages of a thread, oldest first.
    func thread(_ id: String) -> [MailMessage]? {
        state.withLock { state in
            guard let ids = state.threads[id] else { return nil }
            return ids.compactMap { state.messages[$0] }.sorted { $0.internalDate < $1.internalDate }
        }
    }

    func labels() -> [MailLabel] {
        state.withLock { state in
            let system = MailLabel.systemIds.compactMap { state.labels[$0] }
            let user = state.labels.values.filter { !$0.isSystem }.sorted { $0.id < $1.id }
            return system + user
        }
    }

    /// Counts of one label (for `labels.get`).
    func counts(label: String) -> (total: Int, unread: Int, threadsTotal: Int, threadsUnread: Int) {
        state.withLock { state in
            var total = 0
            var unread = 0
            var threads: Set<String> = []
            var unreadThreads: Set<String> = []
            for message in state.messages.values where message.labelIds.contains(label) {
                total += 1
                threads.insert(message.threadId)
                if message.labelIds.contains("UNREAD") {
                    unread += 1
                    unreadThreads.insert(message.threadId)
                }
            }
            return (total, unread, threads.count, unreadThreads.count)
        }
    }

    func createLabel(name: String) -> MailLabel? {
        state.withLock { state in
            guard !state.labels.values.contains(where: { $0.name.lowercased() == name.lowercased() }) else { return nil }
            let number = state.labels.values.filter { !$0.isSystem }.count + 1
            var id = "Label_\(number)"
            var bump = number
            while state.labels[id] != nil {
                bump += 1
                id = "Label_\(bump)"
            }
            let label = MailLabel(id: id, name: name, isSystem: false)
            state.labels[id] = label
            return label
        }
    }

    func labelExists(_ id: String) -> Bool { state.withLock { $0.labels[id] != nil } }

    // MARK: Drafts

    /// Records `message` (already added with `DRAFT`) as a draft; returns the draft id.
    func registerDraft(messageId: String) -> String {
        state.withLock { state in
            let id = "r" + String(Int64(bitPattern: state.random.next()))
            state.drafts[id] = messageId
            state.draftOrder.append(id)
            return id
        }
    }

    /// Draft ids with their messages, newest first.
    func drafts() -> [(id: String, message: MailMessage)] {
        state.withLock { state in
            state.draftOrder.reversed().compactMap { id in state.drafts[id].flatMap { state.messages[$0] }.map { (id, $0) } }
        }
    }

    func draft(_ id: String) -> MailMessage? { state.withLock { state in state.drafts[id].flatMap { state.messages[$0] } } }

    /// Forgets a draft (its message stays, e.g. once sent).
    func unregisterDraft(_ id: String) -> String? {
        state.withLock { state in
            state.draftOrder.removeAll { $0 == id }
            return state.drafts.removeValue(forKey: id)
        }
    }
}
