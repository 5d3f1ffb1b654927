import Admission
import AuditLog
import Contracts
import Foundation
import Logging
import RedisClient

/// Creates, lists, shows and deletes schedules. A schedule is created only when its job would
/// not be denied now (the creator's policy is asked; each occurrence is decided again when it
/// fires).
struct ScheduleService: Sendable {
    let store: ScheduleStore
    let admission: AdmissionService
    let redis: RedisClient
    /// Whether a periodic reindex restores what Redis could not index at once.
    let reindexes: Bool
    let logger: Logger

    struct Created: Encodable {
        var id: String
        var cron: String
        var timeZone: String
        var nextFireAt: String
        var active = true

        enum CodingKeys: String, CodingKey {
            case id, cron, active
            case timeZone = "time_zone"
            case nextFireAt = "next_fire_at"
        }
    }

    func create(
        _ identity: Identity, cron cronText: String, timeZone zoneName: String, job: JobDescription, requestID: String
    )
        async throws -> Created
    {
        let cron = try CronExpression(cronText)
        guard let zone = TimeZone(identifier: zoneName) else {
            throw FleetError.invalidRequest("'time_zone' must be an IANA time zone such as Europe/Berlin")
        }
        guard job.runAt == nil else { throw FleetError.invalidRequest("'job.run_at' makes no sense in a schedule") }
        let request = AdmissionRequest(
            identity: identity, job: job, channel: .schedule, requestID: requestID, detail: ["schedule": "create"])
        _ = try await admission.recheck(request)
        guard let next = cron.next(after: Date(), in: zone) else { throw FleetError.invalidRequest("cron '\(cronText)' never fires") }
        let id = JobID.make()
        var template = job.object
        template["user"] = .string(identity.user)
        template["org"] = .string(identity.org)
        template["team"] = .string(identity.team)
        template["roles"] = .array(identity.requester.roles.map { .string($0.rawValue) })
        // Audited in the transaction that stores it, so a schedule that exists is audited;
        // indexed after, so no scheduler finds it before it exists (one lost between the two is
        // restored by the periodic reindex).
        try await store.insert(
            tenant: identity.tenant, id: id, cron: cronText, timeZone: zoneName, template: .object(template), createdBy: identity.user,
            next: next
        ) {
            try await admission.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "schedule:\(id):created", userID: identity.user, actionType: "schedule.created",
                    actionDetail: JSONText.object([
                        "schedule_id": id, "cron": cronText, "time_zone": zoneName, "action": job.action.rawValue,
                    ]), dataClassification: job.classification, outcome: .success, requestID: requestID))
        }
        do {
            try await redis.send(
                RedisCommand("ZADD", [RedisKeys.scheduleIndex, String(Clock.milliseconds(next)), "\(identity.tenant.rawValue)/\(id)"]))
        } catch {
            // Created and audited all the same: the periodic reindex puts it in the index.
            logger.error("a new schedule could not be indexed yet", metadata: ["schedule": "\(id)", "error": "\(error)"])
            if !reindexes {
                throw FleetError(
                    .queueUnavailable,
                    "schedule \(id) is created but Redis could not index it, and reindexing is off: it will not fire until it is",
                    retryAfter: 5)
            }
        }
        return Created(id: id, cron: cronText, timeZone: zoneName, nextFireAt: ISOTime.format(milliseconds: Clock.milliseconds(next)))
    }

    func list(_ identity: Identity) async throws -> [ScheduleRecord] {
        try await store.list(tenant: identity.tenant, all: identity.has(.enterpriseAdmin), user: identity.user)
    }

    func read(_ identity: Identity, id: String) async throws -> ScheduleRecord {
        guard let schedule = try await store.read(tenant: identity.tenant, id: id),
            identity.has(.enterpriseAdmin) || schedule.createdBy == identity.user
        else { throw FleetError.notFound("no schedule \(id.prefix(40))") }
        return schedule
    }

    func delete(_ identity: Identity, id: String, requestID: String) async throws {
        let removed = try await store.deactivate(tenant: identity.tenant, id: id, all: identity.has(.enterpriseAdmin), user: identity.user)
        {
            try await admission.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "schedule:\(id):deleted", userID: identity.user, actionType: "schedule.deleted",
                    actionDetail: JSONText.object(["schedule_id": id]), outcome: .success, requestID: requestID))
        }
        guard removed else { throw FleetError.notFound("no schedule \(id.prefix(40))") }
        // A member left behind (this failing) is dropped when it comes due: the row is inactive.
        _ = try? await redis.send(RedisCommand("ZREM", [RedisKeys.scheduleIndex, "\(identity.tenant.rawValue)/\(id)"]))
    }
}
