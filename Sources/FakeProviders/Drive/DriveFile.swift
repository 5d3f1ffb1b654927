import Crypto

/// One file of a user's Drive: a Google-native document (text kept for export), a folder, or a
/// binary file (bytes kept for `alt=media`, with checksums and size).
struct DriveFile: Sendable {
    let id: String
    var name: String
    var mimeType: String
    var parents: [String]
    let createdTime: Int64
    var modifiedTime: Int64
    /// Bumps on every change.
    var version: Int64
    var trashed: Bool
    var sharedPublicly: Bool
    var starred: Bool
    var description: String?
    /// Text of a native file (CSV for a sheet).
    var text: String?
    /// Bytes of a binary file.
    var content: [UInt8]?
    var revisions: [Revision]
    let owner: String
    var lastModifier: String

    /// One saved version.
    struct Revision: Sendable {
        let id: String
        let time: Int64
        let md5: String?
        let size: Int?
        let modifier: String
    }

    static let folderType = "application/vnd.google-apps.folder"
    static let documentType = "application/vnd.google-apps.document"
    static let spreadsheetType = "application/vnd.google-apps.spreadsheet"
    static let presentationType = "application/vnd.google-apps.presentation"

    var isNative: Bool { mimeType.hasPrefix("application/vnd.google-apps.") }
    var isFolder: Bool { mimeType == Self.folderType }
    var isBinary: Bool { !isNative }

    var md5: String? { content.map { Insecure.MD5.hash(data: $0).map { String($0, radix: 16).leftPadded(2) }.joined() } }
    var sha256: String? { content.map { SHA256.hash(data: $0).map { String($0, radix: 16).leftPadded(2) }.joined() } }

    var webViewLink: String {
        switch mimeType {
        case Self.documentType: return "https://docs.google.com/document/d/\(id)/edit?usp=drivesdk"
        case Self.spreadsheetType: return "https://docs.google.com/spreadsheets/d/\(id)/edit?usp=drivesdk"
        case Self.presentationType: return "https://docs.google.com/presentation/d/\(id)/edit?usp=drivesdk"
        case Self.folderType: return "https://drive.google.com/drive/folders/\(id)"
        default: return "https://drive.google.com/file/d/\(id)/view?usp=drivesdk"
        }
    }

    /// Export targets of a native type.
    var exportTypes: [String] {
        switch mimeType {
        case Self.documentType:
            return [
                "text/plain", "text/html", "text/markdown", "application/pdf", "application/rtf", "application/vnd.oasis.opendocument.text",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/epub+zip", "application/zip",
            ]
        case Self.spreadsheetType:
            return [
                "text/csv", "text/tab-separated-values", "application/pdf", "application/x-vnd.oasis.opendocument.spreadsheet",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip",
            ]
        case Self.presentationType:
            return ["text/plain", "application/pdf", "application/vnd.openxmlformats-officedocument.presentationml.presentation"]
        default: return []
        }
    }

    static func user(_ email: String, directory: Directory, me: String) -> JSON {
        let person = directory.person(email)
        return .object([
            ("kind", "drive#user"), ("displayName", .string(person?.name ?? email)),
            ("photoLink", "https://lh3.googleusercontent.com/a/default-user=s64"), ("me", .bool(email == me)),
            ("permissionId", .string(person?.permissionId ?? "0")), ("emailAddress", .string(email)),
        ])
    }

    /// Every field of the `File` resource this fake knows.
    func json(me: String, directory: Directory) -> JSON {
        var o = JSONObjectBuilder()
        o.set("kind", "drive#file")
        o.set("id", id)
        o.set("name", name)
        o.set("mimeType", mimeType)
        o.setIfPresent("description", description)
        o.set("starred", starred)
        o.set("trashed", trashed)
        o.set("explicitlyTrashed", trashed)
        o.set("parents", strings: parents)
        o.set("spaces", strings: ["drive"])
        o.set("version", String(version))
        o.set("webViewLink", webViewLink)
        if isBinary { o.set("webContentLink", "https://drive.google.com/uc?id=\(id)&export=download") }
        o.set("iconLink", "https://drive-thirdparty.googleusercontent.com/16/type/\(mimeType)")
        o.set("hasThumbnail", !isFolder)
        o.set("viewedByMe", true)
        o.set("createdTime", Timestamps.rfc3339Millis(createdTime))
        o.set("modifiedTime", Timestamps.rfc3339Millis(modifiedTime))
        o.set("modifiedByMe", lastModifier == me)
        o.set("owners", .array([Self.user(owner, directory: directory, me: me)]))
        o.set("lastModifyingUser", Self.user(lastModifier, directory: directory, me: me))
        o.set("shared", sharedPublicly)
        o.set("ownedByMe", owner == me)
        o.set("writersCanShare", true)
        o.set("copyRequiresWriterPermission", false)
        if isBinary, let content {
            o.set("originalFilename", name)
            if let dot = name.lastIndex(of: ".") {
                o.set("fullFileExtension", String(name[name.index(after: dot)...]))
                o.set("fileExtension", String(name[name.index(after: dot)...]))
            }
            o.set("md5Checksum", md5 ?? "")
            o.set("sha256Checksum", sha256 ?? "")
            o.set("size", String(content.count))
            o.set("quotaBytesUsed", String(content.count))
            o.setIfPresent("headRevisionId", revisions.last?.id)
        } else {
            o.set("quotaBytesUsed", "0")
        }
        if !exportTypes.isEmpty {
            let base = "https://docs.google.com/feeds/download/documents/export/Export?id=\(id)&exportFormat="
            o.set("exportLinks", .object(exportTypes.map { ($0, .string(base + $0)) }))
        }
        o.set("isAppAuthorized", false)
        return o.json
    }

    static let userSchema = FieldSchema(["kind", "displayName", "photoLink", "me", "permissionId", "emailAddress"])

    static let schema = FieldSchema(
        [
            "kind", "id", "name", "mimeType", "description", "starred", "trashed", "explicitlyTrashed", "parents", "spaces", "version",
            "webViewLink", "webContentLink", "iconLink", "hasThumbnail", "viewedByMe", "createdTime", "modifiedTime", "modifiedByMe",
            "shared", "ownedByMe", "writersCanShare", "copyRequiresWriterPermission", "originalFilename", "fullFileExtension",
            "fileExtension", "md5Checksum", "sha1Checksum", "sha256Checksum", "size", "quotaBytesUsed", "headRevisionId", "exportLinks",
            "isAppAuthorized", "capabilities", "permissions", "permissionIds", "properties", "appProperties", "driveId", "teamDriveId",
            "thumbnailLink", "thumbnailVersion", "modifiedByMeTime", "viewedByMeTime", "sharedWithMeTime", "folderColorRgb",
            "contentHints", "imageMediaMetadata", "videoMediaMetadata", "resourceKey", "linkShareMetadata", "labelInfo", "sharingUser",
            "shortcutDetails", "contentRestrictions", "trashedTime", "trashingUser", "viewersCanCopyContent", "hasAugmentedPermissions",
            "inheritedPermissionsDisabled", "downloadRestrictions",
        ],
        nested: ["owners": userSchema, "lastModifyingUser": userSchema])
}
