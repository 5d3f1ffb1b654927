import Synchronization

/// One user's Drive: files and the change log that page tokens point into.
final class DriveStore: Sendable {
    /// One entry of the change log.
    struct Change: Sendable {
        let seq: Int64
        let fileId: String
        let time: Int64
        let removed: Bool
    }

    struct State: Sendable {
        var files: [String: DriveFile] = [:]
        var order: [String] = []
        var changes: [Change] = []
        var seq: Int64 = 1
        /// Page tokens (start tokens and next-page tokens) → the change seq they continue after.
        var changeTokens: [String: Int64] = [:]
        var listTokens: [String: (fingerprint: String, offset: Int)] = [:]
        var random: SeededGenerator
    }

    let owner: Person
    let directory: Directory
    let state: Mutex<State>

    init(owner: Person, directory: Directory, seed: UInt64) {
        self.owner = owner
        self.directory = directory
        state = Mutex(State(random: SeededGenerator(seed: seed, purpose: "drive-ids:" + owner.email)))
    }

    func load(_ files: [DriveFile]) {
        state.withLock { state in
            for file in files {
                state.files[file.id] = file
                state.order.append(file.id)
            }
        }
    }

    static func newId(_ random: inout SeededGenerator) -> String {
        "1" + random.string(32, alphabet: OpaqueToken.alphanumerics + "-_")
    }

    private static func record(_ state: inout State, fileId: String, time: Int64, removed: Bool) {
        state.changes.append(Change(seq: state.seq, fileId: fileId, time: time, removed: removed))
        state.seq += 1
    }

    // MARK: Changes

    /// A token for "now": the changes after it are the ones still to come.
    func startPageToken() -> String {
        state.withLock { state in
            let token = OpaqueToken.make(24, alphabet: "0123456789")
            state.changeTokens[token] = state.seq - 1
            return token
        }
    }

    enum ChangePage {
        case page(changes: [(change: Change, file: DriveFile?)], nextPageToken: String?, newStartPageToken: String?)
        case invalidToken
    }

    /// The changes after `token`, one per file (its latest), oldest first.
    func changes(after token: String, pageSize: Int, includeRemoved: Bool) -> ChangePage {
        state.withLock { state -> ChangePage in
            guard let after = state.changeTokens[token] else { return .invalidToken }
            let start = state.changes.partitioningIndex { $0.seq > after }
            var latest: [String: Int] = [:]
            for index in start..<state.changes.count { latest[state.changes[index].fileId] = index }
            let indices = latest.values.sorted().filter { includeRemoved || !state.changes[$0].removed }
            let chosen = indices.prefix(pageSize)
            let page = chosen.map { index -> (Change, DriveFile?) in
                let change = state.changes[index]
                return (change, change.removed ? nil : state.files[change.fileId])
            }
            if indices.count > pageSize, let last = chosen.last {
                let next = OpaqueToken.make(24, alphabet: "0123456789")
                state.changeTokens[next] = state.changes[last].seq
                return .page(changes: page, nextPageToken: next, newStartPageToken: nil)
            }
            let fresh = OpaqueToken.make(24, alphabet: "0123456789")
            state.changeTokens[fresh] = state.seq - 1
            return .page(changes: page, nextPageToken: nil, newStartPageToken: fresh)
        }
    }

    // MARK: Files

    func file(_ id: String) -> DriveFile? { state.withLock { $0.files[id] } }

    /// Files matching `predicate` in the store's order, paged by offset tokens.
    func list(
        fingerprint: String, pageSize: Int, pageToken: String?, matching: (DriveFile) -> Bool, sort: ((DriveFile, DriveFile) -> Bool)?
    )
        -> (files: [DriveFile], next: String?)?
    {
        state.withLock { state -> ([DriveFile], String?)? in
            var offset = 0
            if let pageToken {
                guard let saved = state.listTokens[pageToken], saved.fingerprint == fingerprint else { return nil }
                offset = saved.offset
            }
            var all = state.order.compactMap { state.files[$0] }.filter(matching)
            if let sort { all.sort(by: sort) }
            let end = min(all.count, offset + pageSize)
            let page = offset < end ? Array(all[offset..<end]) : []
            guard end < all.count else { return (page, nil) }
            let token = OpaqueToken.make(40, alphabet: OpaqueToken.alphanumerics + "-_")
            state.listTokens[token] = (fingerprint, end)
            return (page, token)
        }
    }

    /// Creates a file (control API).
    func create(name: String, mimeType: String, text: String?, content: [UInt8]?, sharedPublicly: Bool, now: Int64) -> DriveFile {
        state.withLock { state in
            let id = Self.newId(&state.random)
            var file = DriveFile(
                id: id, name: name, mimeType: mimeType, parents: ["0AFakeRootFolderUk9PVA"], createdTime: now, modifiedTime: now,
                version: 1,
                trashed: false, sharedPublicly: sharedPublicly, starred: false, description: nil, text: text, content: content,
                revisions: [],
                owner: owner.email, lastModifier: owner.email)
            file.revisions = [
                DriveFile.Revision(
                    id: Self.revisionId(file, &state.random), time: now, md5: file.md5, size: content?.count, modifier: owner.email)
            ]
            state.files[id] = file
            state.order.append(id)
            Self.record(&state, fileId: id, time: now, removed: false)
            return file
        }
    }

    static func revisionId(_ file: DriveFile, _ random: inout SeededGenerator) -> String {
        file.isNative ? String(file.revisions.count + 1) : "0B" + random.string(49, alphabet: OpaqueToken.alphanumerics)
    }

    /// Renames, rewrites, trashes or restores a file (control API); every change bumps `version`.
    func update(_ id: String, name: String?, text: String?, trashed: Bool?, sharedPublicly: Bool?, now: Int64) -> DriveFile? {
        state.withLock { state in
            guard var file = state.files[id] else { return nil }
            if let name { file.name = name }
            if let trashed { file.trashed = trashed }
            if let sharedPublicly { file.sharedPublicly = sharedPublicly }
            if let text {
                if file.isNative { file.text = text } else { file.content = Array(text.utf8) }
                file.revisions.append(
                    DriveFile.Revision(
                        id: Self.revisionId(file, &state.random), time: now, md5: file.md5, size: file.content?.count, modifier: owner.email
                    ))
            }
            file.version += 1
            file.modifiedTime = now
            file.lastModifier = owner.email
            state.files[id] = file
            Self.record(&state, fileId: id, time: now, removed: false)
            return file
        }
    }

    /// Deletes a file for good: a `removed` change.
    func delete(_ id: String, now: Int64) -> Bool {
        state.withLock { state in
            guard state.files.removeValue(forKey: id) != nil else { return false }
            state.order.removeAll { $0 == id }
            Self.record(&state, fileId: id, time: now, removed: true)
            return true
        }
    }
}
