import Foundation

/// Google Drive API v3 under `/drive/v3`: `about`, `files.list/get` (with `fields` masks and the
/// default subsets), `alt=media`, `files.export`, `revisions.list`, `changes.getStartPageToken`
/// and `changes.list`.
struct DriveService: FakeService {
    let stores: [String: DriveStore]
    let gate: GoogleGate
    let clock: FakeClock
    let directory: Directory

    static let metadataScopes: Set<String> = [
        "https://www.googleapis.com/auth/drive", "https://www.googleapis.com/auth/drive.readonly",
        "https://www.googleapis.com/auth/drive.metadata.readonly", "https://www.googleapis.com/auth/drive.metadata",
    ]
    static let contentScopes: Set<String> = ["https://www.googleapis.com/auth/drive", "https://www.googleapis.com/auth/drive.readonly"]

    struct Call {
        let request: ProviderRequest
        let store: DriveStore
        let parameters: [String]
        var query: QueryItems { request.query }
    }

    struct Endpoint: Sendable {
        let scopes: Set<String>
        let handle: @Sendable (DriveService, Call) -> ProviderResponse
    }

    static let routes = RouteTable<Endpoint>(routes: [
        Route("GET", "/about", Endpoint(scopes: metadataScopes) { $0.about($1) }),
        Route("GET", "/files", Endpoint(scopes: metadataScopes) { $0.listFiles($1) }),
        Route("GET", "/files/{fileId}", Endpoint(scopes: metadataScopes) { $0.getFile($1) }),
        Route("GET", "/files/{fileId}/export", Endpoint(scopes: contentScopes) { $0.export($1) }),
        Route("GET", "/files/{fileId}/revisions", Endpoint(scopes: metadataScopes) { $0.revisions($1) }),
        Route("GET", "/changes/startPageToken", Endpoint(scopes: metadataScopes) { $0.startPageToken($1) }),
        Route("GET", "/changes", Endpoint(scopes: metadataScopes) { $0.changes($1) }),
    ])

    func respond(to request: ProviderRequest) async -> ProviderResponse {
        guard request.segments.count >= 2, request.segments[0] == "drive", request.segments[1] == "v3",
            case .found(let endpoint, let parameters) = Self.routes.resolve(request, offset: 2)
        else { return GoogleErrors.notFound("Not Found", style: .classic) }
        var scopes = endpoint.scopes
        if request.query["alt"] == "media" { scopes = Self.contentScopes }
        let principal: TokenAuthority.Principal
        switch gate.authorize(request, scopes: scopes) {
        case .failure(let refusal): return refusal.response
        case .success(let value): principal = value
        }
        guard let store = stores[principal.user] else { return GoogleErrors.notFound("Not Found", style: .classic) }
        if let refusal = gate.spend(1, user: principal.user) { return refusal.response }
        return endpoint.handle(self, Call(request: request, store: store, parameters: parameters))
    }

    static func notFound(_ id: String) -> ProviderResponse {
        let message = "File not found: \(id)."
        return GoogleErrors.response(
            code: 404, message: message,
            items: [.init(reason: "notFound", message: message, location: "fileId", locationType: "parameter")],
            status: nil, style: .classic)
    }

    static func invalid(_ message: String, parameter: String) -> ProviderResponse {
        GoogleErrors.response(
            code: 400, message: message,
            items: [.init(reason: "invalid", message: message, location: parameter, locationType: "parameter")],
            status: nil, style: .classic)
    }

    /// `value` reduced by `fields`, or by `defaults` when the request names none.
    func masked(_ value: JSON, query: QueryItems, defaults: String, schema: FieldSchema) -> ProviderResponse {
        if let fields = query["fields"], !fields.isEmpty { return FieldMasks.apply(value, query: query, style: .classic, schema: schema) }
        return .json((try? FieldMask.parse(defaults))?.apply(to: value) ?? value)
    }

    static let fileListSchema = FieldSchema(["kind", "nextPageToken", "incompleteSearch"], nested: ["files": DriveFile.schema])
    static let changeSchema = FieldSchema(
        ["kind", "changeType", "time", "removed", "fileId", "driveId", "drive", "type", "teamDriveId", "teamDrive"],
        nested: ["file": DriveFile.schema])
    static let changeListSchema = FieldSchema(["kind", "nextPageToken", "newStartPageToken"], nested: ["changes": changeSchema])

    func about(_ call: Call) -> ProviderResponse {
        guard let fields = call.query["fields"], !fields.isEmpty else {
            return GoogleErrors.response(
                code: 400, message: "The 'fields' parameter is required for this method.",
                items: [
                    .init(
                        reason: "required", message: "The 'fields' parameter is required for this method.", location: "fields",
                        locationType: "parameter")
                ],
                status: nil, style: .classic)
        }
        let me = call.store.owner.email
        let about: JSON = .object([
            ("kind", "drive#about"), ("user", DriveFile.user(me, directory: directory, me: me)),
            ("storageQuota", .object([("limit", "16106127360"), ("usage", "73819204"), ("usageInDrive", "51231002")])),
        ])
        return FieldMasks.apply(about, query: call.query, style: .classic)
    }

    func listFiles(_ call: Call) -> ProviderResponse {
        let query = call.query
        var pageSize = 100
        if let text = query["pageSize"] {
            guard let value = Int(text), (1...1000).contains(value) else {
                return Self.invalid("Invalid value '\(text)'. Values must be within the range: [1, 1000]", parameter: "pageSize")
            }
            pageSize = value
        }
        let me = call.store.owner.email
        var predicate: DriveQuery.Predicate = { _ in true }
        if let q = query["q"], !q.isEmpty {
            do { predicate = try DriveQuery.compile(q, me: me) } catch { return Self.invalid("Invalid Value", parameter: "q") }
        }
        var sort: ((DriveFile, DriveFile) -> Bool)?
        if let order = query["orderBy"] {
            let key = order.split(separator: ",").first.map { String($0).trimmingSpaces } ?? ""
            let descending = key.hasSuffix(" desc")
            switch key.replacingOccurrences(of: " desc", with: "") {
            case "modifiedTime": sort = { descending ? $0.modifiedTime > $1.modifiedTime : $0.modifiedTime < $1.modifiedTime }
            case "createdTime": sort = { descending ? $0.createdTime > $1.createdTime : $0.createdTime < $1.createdTime }
            case "name", "name_natural": sort = { descending ? $0.name > $1.name : $0.name < $1.name }
            case "folder": sort = { $0.isFolder && !$1.isFolder }
            default: return Self.invalid("Invalid Value", parameter: "orderBy")
            }
        }
        let fingerprint = query.items.filter { $0.name != "pageToken" && $0.name != "fields" }.map { "\($0.name)=\($0.value)" }.joined(
            separator: "&")
        guard
            let page = call.store.list(
                fingerprint: fingerprint, pageSize: pageSize, pageToken: query["pageToken"], matching: predicate, sort: sort)
        else { return Self.invalid("Invalid Value", parameter: "pageToken") }
        var object = JSONObjectBuilder()
        object.set("kind", "drive#fileList")
        object.setIfPresent("nextPageToken", page.next)
        object.set("incompleteSearch", false)
        object.set("files", .array(page.files.map { $0.json(me: me, directory: directory) }))
        return masked(
            object.json, query: query, defaults: "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)",
            schema: Self.fileListSchema)
    }

    func getFile(_ call: Call) -> ProviderResponse {
        let id = call.parameters[0]
        guard let file = call.store.file(id) else { return Self.notFound(id) }
        if call.query["alt"] == "media" {
            guard let content = file.content, file.isBinary else {
                return GoogleErrors.response(
                    code: 403, message: "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
                    items: [
                        .init(
                            reason: "fileNotDownloadable",
                            message: "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
                            location: "alt", locationType: "parameter")
                    ], status: nil, style: .classic)
            }
            return ProviderResponse(status: 200, headers: [("Content-Type", file.mimeType)], body: content)
        }
        return masked(
            file.json(me: call.store.owner.email, directory: directory), query: call.query, defaults: "kind,id,name,mimeType",
            schema: DriveFile.schema)
    }

    func export(_ call: Call) -> ProviderResponse {
        let id = call.parameters[0]
        guard let file = call.store.file(id) else { return Self.notFound(id) }
        guard let target = call.query["mimeType"], !target.isEmpty else {
            return GoogleErrors.response(
                code: 400, message: "Required parameter: mimeType",
                items: [
                    .init(reason: "required", message: "Required parameter: mimeType", location: "mimeType", locationType: "parameter")
                ],
                status: nil, style: .classic)
        }
        guard file.isNative, !file.isFolder else {
            return GoogleErrors.response(
                code: 403, message: "Export only supports Docs Editors files.",
                items: [.init(reason: "fileNotExportable", message: "Export only supports Docs Editors files.")], status: nil,
                style: .classic)
        }
        guard file.exportTypes.contains(target) else {
            return GoogleErrors.response(
                code: 400, message: "The requested conversion is not supported.",
                items: [
                    .init(
                        reason: "badRequest", message: "The requested conversion is not supported.", location: "convertTo",
                        locationType: "parameter")
                ],
                status: nil, style: .classic)
        }
        let bytes = DriveExport.render(file, as: target)
        guard bytes.count <= 10 << 20 else {
            return GoogleErrors.response(
                code: 403, message: "This file is too large to be exported.",
                items: [.init(reason: "exportSizeLimitExceeded", message: "This file is too large to be exported.")], status: nil,
                style: .classic)
        }
        return ProviderResponse(status: 200, headers: [("Content-Type", target)], body: bytes)
    }

    func revisions(_ call: Call) -> ProviderResponse {
        let id = call.parameters[0]
        guard let file = call.store.file(id) else { return Self.notFound(id) }
        let me = call.store.owner.email
        let list: [JSON] = file.revisions.map { revision in
            var o = JSONObjectBuilder()
            o.set("kind", "drive#revision")
            o.set("id", revision.id)
            o.set("mimeType", file.mimeType)
            o.set("modifiedTime", Timestamps.rfc3339Millis(revision.time))
            o.set("keepForever", false)
            o.set("lastModifyingUser", DriveFile.user(revision.modifier, directory: directory, me: me))
            if file.isBinary {
                o.setIfPresent("md5Checksum", revision.md5)
                o.setIfPresent("size", revision.size.map { .string(String($0)) })
                o.set("originalFilename", file.name)
            }
            return o.json
        }
        let value: JSON = .object([("kind", "drive#revisionList"), ("revisions", .array(list))])
        let schema = FieldSchema(
            ["kind", "nextPageToken"],
            nested: [
                "revisions": FieldSchema(
                    [
                        "kind", "id", "mimeType", "modifiedTime", "keepForever", "published", "md5Checksum", "size", "originalFilename",
                        "exportLinks",
                    ],
                    nested: ["lastModifyingUser": DriveFile.userSchema])
            ])
        return masked(value, query: call.query, defaults: "kind,nextPageToken,revisions(kind,id,mimeType,modifiedTime)", schema: schema)
    }

    func startPageToken(_ call: Call) -> ProviderResponse {
        .json(.object([("kind", "drive#startPageToken"), ("startPageToken", .string(call.store.startPageToken()))]))
    }

    func changes(_ call: Call) -> ProviderResponse {
        let query = call.query
        guard let token = query["pageToken"], !token.isEmpty else {
            return GoogleErrors.response(
                code: 400, message: "Required parameter: pageToken",
                items: [
                    .init(reason: "required", message: "Required parameter: pageToken", location: "pageToken", locationType: "parameter")
                ],
                status: nil, style: .classic)
        }
        var pageSize = 100
        if let text = query["pageSize"] {
            guard let value = Int(text), (1...1000).contains(value) else {
                return Self.invalid("Invalid value '\(text)'. Values must be within the range: [1, 1000]", parameter: "pageSize")
            }
            pageSize = value
        }
        let me = call.store.owner.email
        switch call.store.changes(after: token, pageSize: pageSize, includeRemoved: query.bool("includeRemoved") ?? true) {
        case .invalidToken: return Self.invalid("Invalid Value", parameter: "pageToken")
        case .page(let changes, let next, let newStart):
            let list: [JSON] = changes.map { entry in
                var o = JSONObjectBuilder()
                o.set("kind", "drive#change")
                o.set("changeType", "file")
                o.set("time", Timestamps.rfc3339Millis(entry.change.time))
                o.set("removed", entry.change.removed)
                o.set("fileId", entry.change.fileId)
                if let file = entry.file { o.set("file", file.json(me: me, directory: directory)) }
                return o.json
            }
            var object = JSONObjectBuilder()
            object.set("kind", "drive#changeList")
            object.setIfPresent("nextPageToken", next)
            object.setIfPresent("newStartPageToken", newStart)
            object.set("changes", .array(list))
            return masked(
                object.json, query: query,
                defaults: "kind,nextPageToken,newStartPageToken,changes(kind,changeType,time,removed,fileId,file(kind,id,name,mimeType))",
                schema: Self.changeListSchema)
        }
    }
}

/// The bytes of a native file exported to a MIME type.
enum DriveExport {
    static func render(_ file: DriveFile, as type: String) -> [UInt8] {
        let text = file.text ?? ""
        switch type {
        case "text/plain": return [0xEF, 0xBB, 0xBF] + Array(text.utf8)
        case "text/csv": return Array(text.utf8)
        case "text/tab-separated-values": return Array(text.replacingOccurrences(of: ",", with: "\t").utf8)
        case "text/markdown": return Array("# \(file.name)\n\n\(text)\n".utf8)
        case "text/html":
            return Array(
                "<html><head><meta content=\"text/html; charset=UTF-8\" http-equiv=\"content-type\"><title>\(file.name)</title></head><body>\(MIMEComposer.html(from: text))</body></html>"
                    .utf8)
        case "application/pdf": return AttachmentContent.pdf(text: file.name + ": " + text)
        case "application/rtf": return Array("{\\rtf1\\ansi \(text)}".utf8)
        default: return [0x50, 0x4B, 0x03, 0x04] + Array(text.utf8)
        }
    }
}
