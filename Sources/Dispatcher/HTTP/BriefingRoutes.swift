import Contracts
import Foundation
import Hummingbird
import TaskIntelligence

/// `/v1/briefings`: the caller's daily briefings, as JSON, an HTML page (the Eisenhower matrix
/// as inline SVG) or plain text (`format`, or the `Accept` header).
struct BriefingRoutes {
    let briefings: BriefingService

    static let formats = ["json", "html", "text"]

    func add(to group: RouterGroup<GatewayContext>, table: RouteTable) {
        table.add(group, prefix: "v1", .get, "briefings", use: list)
        table.add(group, prefix: "v1", .get, "briefings/latest") { request, context in
            try await read(request, context: context, id: nil)
        }
        table.add(group, prefix: "v1", .get, "briefings/:id") { request, context in
            try await read(request, context: context, id: try context.parameters.require("id"))
        }
    }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let limit = try Parameter.integer(request, "limit", in: 1...100) ?? 20
        return try JSONResponse.make(.ok, try await briefings.list(identity, limit: limit))
    }

    func read(_ request: Request, context: GatewayContext, id: String?) async throws -> Response {
        let identity = try context.caller()
        let format = try Self.format(request)
        let briefing = try await briefings.read(identity, id: id)
        switch format {
        case "html": return Self.text(BriefingRendering.html(briefing), type: "text/html; charset=utf-8")
        case "text": return Self.text(BriefingRendering.text(briefing), type: "text/plain; charset=utf-8")
        default: return try JSONResponse.make(.ok, briefing)
        }
    }

    /// `format` when given, else the first of HTML or plain text the `Accept` header names, else JSON.
    static func format(_ request: Request) throws -> String {
        if let asked = try Parameter.text(request, "format", maxBytes: 8) {
            guard formats.contains(asked) else {
                throw FleetError.invalidRequest("format must be one of \(formats.joined(separator: ", "))")
            }
            return asked
        }
        let accept = request.headers[.accept]?.lowercased() ?? ""
        if accept.contains("text/html") { return "html" }
        if accept.contains("text/plain") && !accept.contains("application/json") { return "text" }
        return "json"
    }

    static func text(_ body: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
