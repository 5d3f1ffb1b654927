import Contracts
import Foundation
import Hummingbird

/// `/v1/items`: synced items with their level, findings and message class; an admin's override
/// of an item's level. `/v1/directory`: the internal domains and VIPs the classifier reads.
/// `/v1/responses`: the auto-responder's replies.
struct ItemRoutes {
    let items: ItemService
    let responses: ResponseService
    let body: BodyLimits

    func add(to group: RouterGroup<GatewayContext>, table: RouteTable) {
        table.add(group, prefix: "v1", .get, "items", use: list)
        table.add(group, prefix: "v1", .put, "items/:connector/:item/classification", use: override)
        table.add(group, prefix: "v1", .get, "directory", use: directory)
        table.add(group, prefix: "v1", .put, "directory", use: replaceDirectory)
        table.add(group, prefix: "v1", .get, "responses", use: replies)
    }

    /// `GET /v1/responses`: the auto-responder's replies.
    func replies(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let status = try Parameter.text(request, "status", maxBytes: 16)
        if let status, !ResponseService.statuses.contains(status) {
            throw FleetError.invalidRequest("status must be one of \(ResponseService.statuses.joined(separator: ", "))")
        }
        let list = try await responses.list(
            identity, user: try Parameter.text(request, "user", maxBytes: 256), status: status,
            limit: try Parameter.integer(request, "limit", in: 1...200) ?? 50)
        return try JSONResponse.make(.ok, list)
    }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        var user = identity.user
        if let asked = try Parameter.text(request, "user", maxBytes: 256), asked != identity.user {
            guard identity.has(.enterpriseAdmin) else {
                throw FleetError.forbidden("only an enterprise admin may list another user's items")
            }
            user = asked
        }
        func value<T: RawRepresentable>(_ name: String, _ type: T.Type) throws(FleetError) -> T? where T.RawValue == String {
            guard let text = try Parameter.text(request, name, maxBytes: 64) else { return nil }
            guard let value = T(rawValue: text) else {
                throw .invalidRequest("\(name) '\(text.prefix(40))' is not a \(name) this API knows")
            }
            return value
        }
        var classified: Bool?
        if let text = try Parameter.text(request, "classified", maxBytes: 8) {
            guard text == "true" || text == "false" else { throw FleetError.invalidRequest("classified must be true or false") }
            classified = text == "true"
        }
        var cursor: ItemService.ItemCursor?
        if let text = try Parameter.text(request, "cursor", maxBytes: 1024) {
            guard let parsed = ItemService.ItemCursor(text) else {
                throw FleetError.invalidRequest("cursor must be a next_cursor this API returned")
            }
            cursor = parsed
        }
        let filter = ItemService.Filter(
            user: user, connector: try value("connector", Connector.self), type: try Parameter.text(request, "type", maxBytes: 32),
            level: try value("classification", Classification.self), messageClass: try value("class", MessageClass.self),
            classified: classified, limit: try Parameter.integer(request, "limit", in: 1...200) ?? 50, cursor: cursor)
        return try JSONResponse.make(.ok, try await items.list(identity, filter))
    }

    func override(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        guard let connector = Connector(rawValue: context.parameter("connector")) else {
            throw FleetError.notFound("no connector '\(context.parameter("connector").prefix(40))'")
        }
        let raw = context.parameter("item")
        guard let id = raw.removingPercentEncoding, !id.isEmpty, id.utf8.count <= 512,
            !id.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 })
        else {
            throw FleetError.notFound("no item '\(raw.prefix(40))'")
        }
        let object = try await RequestBody.object(
            request, body, allowed: ["level", "reason", "user"], shape: "with 'level', 'reason' and an optional 'user'")
        guard let levelText = object["level"]?.stringValue, let level = Classification(rawValue: levelText) else {
            throw FleetError.invalidRequest("'level' must be one of public, internal, confidential, restricted")
        }
        guard let reason = object["reason"]?.stringValue, !reason.trimmingCharacters(in: .whitespaces).isEmpty, reason.utf8.count <= 1000
        else {
            throw FleetError.invalidRequest("'reason' is required: say why the level is set (at most 1000 bytes)")
        }
        var user = identity.user
        if let value = object["user"] {
            guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 256 else {
                throw FleetError.invalidRequest("'user' must be the id of the user whose item it is")
            }
            user = text
        }
        let item = try await items.override(
            identity, user: user, connector: connector, id: id, level: level, reason: reason, requestID: RequestIDs.from(request))
        return try JSONResponse.make(.ok, item)
    }

    func directory(_ request: Request, context: GatewayContext) async throws -> Response {
        try JSONResponse.make(.ok, try await items.directory(try context.caller()))
    }

    func replaceDirectory(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let object = try await RequestBody.object(
            request, body, allowed: ["internal_domains", "vips", "external_recipients_level"],
            shape: "with 'internal_domains', 'vips' and 'external_recipients_level'")
        var externalLevel: Classification?
        if let value = object["external_recipients_level"], value != .null {
            guard let level = value.stringValue.flatMap(Classification.init(rawValue:)) else {
                throw FleetError.invalidRequest(
                    "'external_recipients_level' must be null or one of public, internal, confidential, restricted")
            }
            externalLevel = level
        }
        guard let domainList = (object["internal_domains"] ?? .array([])).arrayValue, domainList.count <= 1000 else {
            throw FleetError.invalidRequest("'internal_domains' must be a list of at most 1000 domains")
        }
        var domains: [String] = []
        for entry in domainList {
            guard let domain = entry.stringValue?.lowercased(), Self.isDomain(domain) else {
                throw FleetError.invalidRequest("'internal_domains' holds domain names such as acme.com")
            }
            if !domains.contains(domain) { domains.append(domain) }
        }
        guard let vipList = (object["vips"] ?? .array([])).arrayValue, vipList.count <= 1000 else {
            throw FleetError.invalidRequest("'vips' must be a list of at most 1000 people")
        }
        var vips: [(email: String, name: String)] = []
        for entry in vipList {
            guard let person = entry.objectValue, Set(person.keys).isSubset(of: ["email", "name"]),
                let email = person["email"]?.stringValue?.lowercased(), Self.isAddress(email)
            else {
                throw FleetError.invalidRequest("each of 'vips' is {\"email\": an address, \"name\": an optional name}")
            }
            let name = person["name"]?.stringValue ?? ""
            guard name.utf8.count <= 200 else { throw FleetError.invalidRequest("a VIP's name is at most 200 bytes") }
            if !vips.contains(where: { $0.email == email }) { vips.append((email, name)) }
        }
        let document = try await items.replaceDirectory(
            identity, domains: domains, vips: vips, externalLevel: externalLevel, requestID: RequestIDs.from(request))
        return try JSONResponse.make(.ok, document)
    }

    static func isDomain(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return text.utf8.count <= 253 && labels.count >= 2
            && labels.allSatisfy { label in
                !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                    && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
            }
    }

    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return text.utf8.count <= 320 && parts.count == 2 && !parts[0].isEmpty
            && !parts[0].unicodeScalars.contains { $0.value <= 32 || $0.value == 127 } && isDomain(String(parts[1]))
    }
}
