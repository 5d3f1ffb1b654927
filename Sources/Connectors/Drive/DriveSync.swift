import Contracts
import Crypto
import Foundation
import OutboundHTTP

/// Google Drive: a full pass takes the changes' start token first (so nothing changed during
/// the crawl is missed) and lists the files; incremental passes follow the changes from the
/// stored page token. Removed and trashed files are deleted. Google Docs are exported as text
/// (at most `exportLimit` bytes) to record what their content is (size and digest) without
/// keeping it. A file shared publicly is `public`, any other `internal`.
public struct DriveSync: ConnectorSyncer {
    let base: String
    let exportLimit: Int

    /// - Parameter host: Drive's host (`https://www.googleapis.com`).
    public init(host: String, exportLimit: Int = 1 << 20) {
        base = host + "/drive/v3"
        self.exportLimit = exportLimit
    }

    static let fileFields =
        "id,name,mimeType,modifiedTime,version,md5Checksum,size,trashed,webViewLink,owners(emailAddress,displayName),lastModifyingUser(emailAddress,displayName),shared,permissions(type,role)"

    struct StartToken: Decodable { let startPageToken: String }

    struct FileList: Decodable {
        let files: [File]?
        let nextPageToken: String?
    }

    struct ChangeList: Decodable {
        struct Change: Decodable {
            let fileId: String?
            let removed: Bool?
            let file: File?
        }

        let changes: [Change]?
        let nextPageToken: String?
        let newStartPageToken: String?
    }

    struct File: Decodable {
        struct User: Decodable {
            let emailAddress: String?
            let displayName: String?
        }

        struct Permission: Decodable { let type: String? }

        let id: String
        let name: String?
        let mimeType: String?
        let modifiedTime: String?
        let version: String?
        let md5Checksum: String?
        let size: String?
        let trashed: Bool?
        let webViewLink: String?
        let owners: [User]?
        let lastModifyingUser: User?
        let shared: Bool?
        let permissions: [Permission]?
    }

    public func next(_ cursor: SyncCursor, session: ProviderSession) async throws(ConnectorFailure) -> SyncPage {
        var cursor = cursor
        switch cursor.phase {
        case .full:
            if cursor.state["start"] == nil {
                cursor.state["start"] = try await session.get(base + "/changes/startPageToken", as: StartToken.self).startPageToken
            }
            let list = try await session.get(
                base + "/files?"
                    + Query.string([
                        ("pageSize", "1000"), ("pageToken", cursor.page), ("q", "trashed = false"),
                        ("fields", "nextPageToken,files(\(Self.fileFields))"),
                    ]), as: FileList.self)
            var changes: [ItemChange] = []
            for file in list.files ?? [] { changes.append(try await change(file, session: session)) }
            if let next = list.nextPageToken {
                cursor.page = next
                return SyncPage(changes: changes, cursor: cursor, done: false)
            }
            let start = cursor.state["start"]
            return SyncPage(
                changes: changes,
                cursor: SyncCursor(phase: .incremental, token: start, generation: cursor.generation, lastFullAt: Clock.milliseconds()),
                done: true)
        case .incremental:
            let list = try await session.get(
                base + "/changes?"
                    + Query.string([
                        ("pageToken", cursor.token), ("pageSize", "1000"), ("includeRemoved", "true"),
                        ("fields", "nextPageToken,newStartPageToken,changes(fileId,removed,file(\(Self.fileFields)))"),
                    ]), as: ChangeList.self, cursorRequest: true)
            var changes: [ItemChange] = []
            for entry in list.changes ?? [] {
                if entry.removed == true || entry.file == nil {
                    if let id = entry.fileId { changes.append(.delete(sourceID: id)) }
                } else if let file = entry.file {
                    changes.append(try await change(file, session: session))
                }
            }
            if let next = list.nextPageToken {
                cursor.token = next
                return SyncPage(changes: changes, cursor: cursor, done: false)
            }
            cursor.token = list.newStartPageToken ?? cursor.token
            return SyncPage(changes: changes, cursor: cursor, done: true)
        }
    }

    func change(_ file: File, session: ProviderSession) async throws(ConnectorFailure) -> ItemChange {
        if file.trashed == true { return .delete(sourceID: file.id) }
        var details: [String: JSONValue] = ["mime_type": .string(file.mimeType ?? "")]
        if let version = file.version { details["version"] = .string(version) }
        if let md5 = file.md5Checksum { details["md5"] = .string(md5) }
        if let size = file.size.flatMap({ Int64($0) }) { details["size"] = .integer(size) }
        if file.mimeType == "application/vnd.google-apps.document" {
            // The text is read to know what it is, and dropped: only its size and digest stay.
            do throws(ConnectorFailure) {
                let text = try await session.send(
                    OutboundRequest(
                        url: "\(base)/files/\(Query.encode(file.id))/export?mimeType=text/plain", maxResponseBytes: exportLimit))
                details["text_bytes"] = .integer(Int64(text.body.count))
                details["text_sha256"] = .string(SHA256.hash(data: text.body).map { String(format: "%02x", $0) }.joined())
            } catch {
                switch error {
                case .notFound: return .delete(sourceID: file.id)
                case .fail, .retry: details["export"] = .string("unavailable")
                default: throw error
                }
            }
        }
        let isPublic = (file.permissions ?? []).contains { $0.type == "anyone" }
        return .upsert(
            SyncedItem(
                type: "document", sourceID: file.id, title: file.name ?? "",
                people: [
                    "owners": .array((file.owners ?? []).map { .string($0.emailAddress ?? $0.displayName ?? "") }),
                    "last_modified_by": .string(file.lastModifyingUser?.emailAddress ?? file.lastModifyingUser?.displayName ?? ""),
                ], occurredAt: ProviderTime.rfc3339(file.modifiedTime), updatedAt: ProviderTime.rfc3339(file.modifiedTime),
                link: file.webViewLink, details: details, classification: isPublic ? .public : .internal))
    }
}
