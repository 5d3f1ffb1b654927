import Contracts
import Foundation
import Hummingbird

/// `/v1/tasks`: the caller's tasks, discovered from their synced items; completing or
/// dismissing one.
struct TaskRoutes {
    let tasks: TaskService

    func add(to group: RouterGroup<GatewayContext>, table: RouteTable) {
        table.add(group, prefix: "v1", .get, "tasks", use: list)
        table.add(group, prefix: "v1", .post, "tasks/:id/complete") { request, context in
            try await close(request, context: context, dismiss: false)
        }
        table.add(group, prefix: "v1", .post, "tasks/:id/dismiss") { request, context in
            try await close(request, context: context, dismiss: true)
        }
    }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let status = try Parameter.text(request, "status", maxBytes: 16) ?? "open"
        guard TaskService.statuses.contains(status) else {
            throw FleetError.invalidRequest("status must be one of \(TaskService.statuses.joined(separator: ", "))")
        }
        let quadrant = try Parameter.text(request, "quadrant", maxBytes: 16)
        if let quadrant, !TaskService.quadrants.contains(quadrant) {
            throw FleetError.invalidRequest("quadrant must be one of \(TaskService.quadrants.joined(separator: ", "))")
        }
        let list = try await tasks.list(
            identity, status: status, quadrant: quadrant, limit: try Parameter.integer(request, "limit", in: 1...200) ?? 50)
        return try JSONResponse.make(.ok, list)
    }

    func close(_ request: Request, context: GatewayContext, dismiss: Bool) async throws -> Response {
        let identity = try context.caller()
        let id = try context.parameters.require("id")
        let task = try await tasks.close(identity, id: id, dismiss: dismiss, requestID: RequestIDs.from(request))
        return try JSONResponse.make(.ok, task)
    }
}
