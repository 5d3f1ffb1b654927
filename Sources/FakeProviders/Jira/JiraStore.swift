import Synchronization

/// The Jira site: issues of one project, with a search index that lags writes by
/// `indexDelayMillis` (Jira search is eventually consistent).
final class JiraStore: Sendable {
    struct State: Sendable {
        var issues: [Int64: JiraIssue] = [:]
        var keys: [String: Int64] = [:]
        var nextId: Int64 = 10_000
        var nextNumber = 1
        var nextComment: Int64 = 10_000
        /// What search still sees of recently written issues: the state before the write (nil:
        /// not yet visible), until `visibleAt`.
        var pendingIndex: [Int64: (visibleAt: Int64, previous: JiraIssue?)] = [:]
        var pageTokens: [String: (fingerprint: String, offset: Int, issuedAt: Int64)] = [:]
    }

    let projectKey: String
    let projectName: String
    let directory: Directory
    let clock: FakeClock
    let indexDelayMillis: Int64
    let state = Mutex(State())
    /// Account ids by lowercased email, display name and account id (for JQL).
    let accountAliases: [String: String]

    init(projectKey: String, directory: Directory, clock: FakeClock, indexDelayMillis: Int64) {
        self.projectKey = projectKey
        projectName = "Platform"
        self.directory = directory
        self.clock = clock
        self.indexDelayMillis = indexDelayMillis
        accountAliases = Self.aliases(directory)
    }

    /// Adds generated issues (indexed at once).
    func load(_ issues: [JiraIssue]) {
        state.withLock { state in
            for issue in issues {
                state.issues[issue.id] = issue
                state.keys[issue.key.uppercased()] = issue.id
                state.nextId = max(state.nextId, issue.id + 1)
                state.nextNumber = max(state.nextNumber, (Int(issue.key.split(separator: "-").last ?? "0") ?? 0) + 1)
                state.nextComment = max(state.nextComment, (issue.comments.compactMap { Int64($0.id) }.max() ?? 0) + 1)
            }
        }
    }

    /// The next issue id and key (generation and control).
    func allocate() -> (id: Int64, key: String) {
        state.withLock { state in
            defer {
                state.nextId += 1
                state.nextNumber += 1
            }
            return (state.nextId, "\(projectKey)-\(state.nextNumber)")
        }
    }

    func issue(_ idOrKey: String) -> JiraIssue? {
        state.withLock { state in
            if let id = Int64(idOrKey) { return state.issues[id] }
            return state.keys[idOrKey.uppercased()].flatMap { state.issues[$0] }
        }
    }

    /// Changes an issue through `change`; search sees the change after the index delay.
    @discardableResult
    func update(_ idOrKey: String, _ change: (inout JiraIssue, inout Int64) -> Void) -> JiraIssue? {
        let now = clock.nowMillis
        return state.withLock { state -> JiraIssue? in
            let id = Int64(idOrKey) ?? state.keys[idOrKey.uppercased()]
            guard let id, var issue = state.issues[id] else { return nil }
            let before = issue
            change(&issue, &state.nextComment)
            issue.updated = now
            state.issues[id] = issue
            if indexDelayMillis > 0 {
                let previous = state.pendingIndex[id].map { $0.previous } ?? before
                state.pendingIndex[id] = (now + indexDelayMillis, previous)
            }
            return issue
        }
    }

    func insert(_ issue: JiraIssue) {
        let now = clock.nowMillis
        state.withLock { state in
            state.issues[issue.id] = issue
            state.keys[issue.key.uppercased()] = issue.id
            if indexDelayMillis > 0 { state.pendingIndex[issue.id] = (now + indexDelayMillis, nil) }
        }
    }

    @discardableResult
    func delete(_ idOrKey: String) -> Bool {
        let now = clock.nowMillis
        return state.withLock { state in
            guard let id = Int64(idOrKey) ?? state.keys[idOrKey.uppercased()], let issue = state.issues.removeValue(forKey: id) else {
                return false
            }
            state.keys[issue.key.uppercased()] = nil
            if indexDelayMillis > 0 {
                state.pendingIndex[id] = (now + indexDelayMillis, state.pendingIndex[id].map { $0.previous } ?? issue)
            }
            return true
        }
    }

    /// The issues search sees now: indexed states, plus the current state of `reconcile` ids.
    func searchable(reconcile: Set<Int64>) -> [JiraIssue] {
        let now = clock.nowMillis
        return state.withLock { state in
            state.pendingIndex = state.pendingIndex.filter { $0.value.visibleAt > now }
            var result: [JiraIssue] = []
            result.reserveCapacity(state.issues.count)
            for (id, issue) in state.issues {
                if let pending = state.pendingIndex[id], !reconcile.contains(id) {
                    if let previous = pending.previous { result.append(previous) }
                } else {
                    result.append(issue)
                }
            }
            for (id, pending) in state.pendingIndex where state.issues[id] == nil && !reconcile.contains(id) {
                if let previous = pending.previous { result.append(previous) }
            }
            return result
        }
    }

    /// Remembers where a search continues; tokens expire after seven days of the fakes' clock.
    func saveToken(fingerprint: String, offset: Int) -> String {
        let token = OpaqueToken.make(56, alphabet: OpaqueToken.alphanumerics)
        let now = clock.nowMillis
        state.withLock { state in
            if state.pageTokens.count > 100_000 { state.pageTokens.removeAll() }
            state.pageTokens[token] = (fingerprint, offset, now)
        }
        return token
    }

    /// The offset a token continues at (nil: unknown, expired or for another query).
    func offset(for token: String, fingerprint: String) -> Int? {
        let now = clock.nowMillis
        return state.withLock { state in
            guard let saved = state.pageTokens[token], saved.fingerprint == fingerprint, now - saved.issuedAt < 7 * 86_400_000 else {
                return nil
            }
            return saved.offset
        }
    }

    /// Account ids by lowercased email, display name and account id (for JQL).
    static func aliases(_ directory: Directory) -> [String: String] {
        var aliases: [String: String] = [:]
        for person in directory.staff {
            aliases[person.email.lowercased()] = person.accountId
            aliases[person.name.lowercased()] = person.accountId
            aliases[person.accountId.lowercased()] = person.accountId
        }
        return aliases
    }
}
