import Admission
import Contracts
import Foundation
import Hummingbird

/// `/v1/schedules`: recurring jobs (cron + IANA time zone + job template), fired on behalf of
/// the user who created them.
struct ScheduleRoutes {
    let schedules: ScheduleService
    let body: BodyLimits

    func add(to group: RouterGroup<GatewayContext>, table: RouteTable) {
        table.add(group, prefix: "v1", .post, "schedules", use: create)
        table.add(group, prefix: "v1", .get, "schedules", use: list)
        table.add(group, prefix: "v1", .get, "schedules/:id", use: read)
        table.add(group, prefix: "v1", .delete, "schedules/:id", use: delete)
    }

    struct List: Encodable { var schedules: [ScheduleRecord] }

    func create(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let object = try await RequestBody.object(request, body, allowed: ["cron", "time_zone", "job"], shape: "")
        guard let cron = object["cron"]?.stringValue, cron.utf8.count <= 120 else {
            throw FleetError.invalidRequest("'cron' is required (at most 120 bytes), e.g. \"0 8 * * *\"")
        }
        guard let zone = object["time_zone"]?.stringValue, zone.utf8.count <= 64 else {
            throw FleetError.invalidRequest("'time_zone' must be an IANA time zone such as Europe/Berlin")
        }
        guard let template = object["job"]?.objectValue else {
            throw FleetError.invalidRequest("'job' is required: {kind, action, payload, classification}")
        }
        guard template["run_at"] == nil else { throw FleetError.invalidRequest("'job.run_at' makes no sense in a schedule") }
        let job = try JobDescription(object: template, path: "job.")
        let created = try await schedules.create(identity, cron: cron, timeZone: zone, job: job, requestID: RequestIDs.from(request))
        return try JSONResponse.make(.created, created, location: "/v1/schedules/\(created.id)")
    }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        try JSONResponse.make(.ok, List(schedules: try await schedules.list(try context.caller())))
    }

    func read(_ request: Request, context: GatewayContext) async throws -> Response {
        try JSONResponse.make(.ok, try await schedules.read(try context.caller(), id: try Parameter.id(context, "schedule")))
    }

    func delete(_ request: Request, context: GatewayContext) async throws -> Response {
        try await schedules.delete(try context.caller(), id: try Parameter.id(context, "schedule"), requestID: RequestIDs.from(request))
        return Response(status: .noContent)
    }
}
