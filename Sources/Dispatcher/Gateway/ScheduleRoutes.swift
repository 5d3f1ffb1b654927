import AuditLog
import Contracts
import Foundation
import Hummingbird
import PostgresClient
import RedisClient

/// `/v1/schedules`: recurring jobs (cron + IANA time zone + job template), fired by
/// `ScheduleRunner` on behalf of the user who created them.
struct ScheduleRoutes {
    let gateway: Gateway

    /// Global sorted set "tenant/schedule id" by next firing time (ids only).
    static let indexKey = "oc:schedules"

    func add(to group: RouterGroup<GatewayContext>) {
        let table = gateway.routes
        table.add(group, prefix: "v1", .post, "schedules", use: create)
        table.add(group, prefix: "v1", .get, "schedules", use: list)
        table.add(group, prefix: "v1", .get, "schedules/:id", use: read)
        table.add(group, prefix: "v1", .delete, "schedules/:id", use: delete)
    }

    func create(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let body = try await request.body.collect(upTo: gateway.configuration.maxBodyBytes)
        guard let object = JSONValue.parse(body.readableBytesView)?.objectValue else {
            throw Problem.badRequest("the body must be a JSON object", slug: "malformed-json")
        }
        let unknown = Set(object.keys).subtracting(["cron", "time_zone", "job"])
        guard unknown.isEmpty else {
            throw Problem.badRequest(
                "unknown field(s) \(unknown.sorted().joined(separator: ", ")); allowed: cron, time_zone, job", slug: "unknown-field")
        }
        guard let cronText = object["cron"]?.stringValue else { throw Problem.badRequest("'cron' is required, e.g. \"0 8 * * *\"") }
        let cron = try CronExpression(cronText)
        guard let zoneName = object["time_zone"]?.stringValue, let zone = TimeZone(identifier: zoneName) else {
            throw Problem.badRequest("'time_zone' must be an IANA time zone such as Europe/Berlin")
        }
        guard let template = object["job"]?.objectValue else {
            throw Problem.badRequest("'job' is required: {kind, action, payload, classification}")
        }
        guard template["run_at"] == nil else { throw Problem.badRequest("'job.run_at' makes no sense in a schedule") }
        let job = try JobRequest(object: template, path: "job.")
        let requestID = RequestIDs.from(request)
        let decision = await gateway.decide(identity, action: job.action, classification: job.classification, channel: "schedule")
        if decision.decision == .deny {
            try await gateway.auditDecision(
                identity, action: job.action, decision: decision, classification: job.classification, requestID: requestID,
                detail: ["schedule": "create"])
            throw Problem.policyDenied(decision)
        }
        guard let next = cron.next(after: Date(), in: zone) else { throw Problem.badRequest("cron '\(cronText)' never fires") }
        let id = JobID.make()
        let stored: JSONValue = .object([
            "kind": .string(job.kind.rawValue), "action": .string(job.action), "classification": .string(job.classification.rawValue),
            "payload": JSONValue.parse(job.payload) ?? .object([:]), "user": .string(identity.user), "org": .string(identity.org),
            "team": .string(identity.team), "roles": .array(identity.roles.map { .string($0.rawValue) }),
        ])
        // Audited before the row commits, so a schedule that exists is audited; indexed after,
        // so no scheduler finds it before it exists (one lost between the two is restored by
        // the periodic reindex).
        try await withTenantSchema(gateway, identity.tenant) {
            try await gateway.tenants.session(identity.tenant) { connection in
                try await connection.query(
                    "INSERT INTO schedules (id, cron, time_zone, template, created_by, next_fire_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
                    [id, cronText, zoneName, String(decoding: stored.canonicalData, as: UTF8.self), identity.user, PostgresTimestamp(next)])
                try await gateway.record(
                    AuditEvent(
                        tenant: identity.tenant, eventKey: "schedule:\(id):created", userID: identity.user, actionType: "schedule.created",
                        actionDetail: String(
                            decoding: JSONValue.object([
                                "schedule_id": .string(id), "cron": .string(cronText), "time_zone": .string(zoneName),
                                "action": .string(job.action),
                            ]).canonicalData, as: UTF8.self),
                        dataClassification: job.classification, outcome: .success, requestID: requestID))
            }
        }
        do {
            try await gateway.redis.send(
                RedisCommand("ZADD", [Self.indexKey, String(Clock.milliseconds(next)), "\(identity.tenant.rawValue)/\(id)"]))
        } catch {
            // Created and audited all the same: the periodic reindex puts it in the index.
            gateway.logger.error("a new schedule could not be indexed yet", metadata: ["schedule": "\(id)", "error": "\(error)"])
            if gateway.configuration.scheduleReindexInterval == nil {
                throw Problem.unavailable(
                    "queue", "schedule \(id) is created but Redis could not index it, and reindexing is off: it will not fire until it is")
            }
        }
        return try json(
            .created, ["id": id, "cron": cronText, "time_zone": zoneName, "next_fire_at": iso(Clock.milliseconds(next)), "active": true],
            location: "/v1/schedules/\(id)")
    }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let rows = try await withTenantSchema(gateway, identity.tenant) {
            try await gateway.tenants.session(identity.tenant) { connection in
                try await connection.query(
                    "SELECT \(Self.columns) FROM schedules WHERE active AND ($1::boolean OR created_by = $2) ORDER BY created_at",
                    [identity.has(.enterpriseAdmin), identity.user])
            }
        }
        return try json(.ok, ["schedules": rows.map(Self.representation)])
    }

    func read(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let id = context.parameters.get("id") ?? ""
        let row = try await withTenantSchema(gateway, identity.tenant) {
            try await gateway.tenants.session(identity.tenant) {
                try await $0.query("SELECT \(Self.columns) FROM schedules WHERE id = $1", [id]).first
            }
        }
        guard let row, identity.has(.enterpriseAdmin) || row.string("created_by") == identity.user else {
            throw Problem.notFound("no schedule \(id.prefix(40))")
        }
        return try json(.ok, Self.representation(row))
    }

    func delete(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let id = context.parameters.get("id") ?? ""
        let requestID = RequestIDs.from(request)
        let removed = try await withTenantSchema(gateway, identity.tenant) {
            try await gateway.tenants.session(identity.tenant) { connection in
                let removed = try await connection.query(
                    "UPDATE schedules SET active = false WHERE id = $1 AND active AND ($2::boolean OR created_by = $3) RETURNING id",
                    [id, identity.has(.enterpriseAdmin), identity.user]
                ).first
                if removed != nil {
                    try await gateway.record(
                        AuditEvent(
                            tenant: identity.tenant, eventKey: "schedule:\(id):deleted", userID: identity.user,
                            actionType: "schedule.deleted",
                            actionDetail: String(decoding: JSONValue.object(["schedule_id": .string(id)]).canonicalData, as: UTF8.self),
                            outcome: .success, requestID: requestID))
                }
                return removed
            }
        }
        guard removed != nil else { throw Problem.notFound("no schedule \(id.prefix(40))") }
        // A member left behind (this failing) is dropped when it comes due: the row is inactive.
        try? await gateway.redis.send(RedisCommand("ZREM", [Self.indexKey, "\(identity.tenant.rawValue)/\(id)"]))
        return Response(status: .noContent)
    }

    static let columns = """
        id, cron, time_zone, template::text AS template, created_by, active,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
        to_char(next_fire_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS next_fire_at,
        to_char(last_fired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_fired_at
        """

    static func representation(_ row: PostgresRow) -> [String: Any] {
        var out: [String: Any] = [
            "id": row.string("id") ?? "", "cron": row.string("cron") ?? "", "time_zone": row.string("time_zone") ?? "",
            "created_by": row.string("created_by") ?? "", "created_at": row.string("created_at") ?? "",
            "active": row.bool("active") ?? false,
        ]
        if let next = row.string("next_fire_at") { out["next_fire_at"] = next }
        if let last = row.string("last_fired_at") { out["last_fired_at"] = last }
        if let template = row.string("template").flatMap({ try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }) {
            out["job"] = template.filter { ["kind", "action", "classification", "payload"].contains($0.key) }
        }
        return out
    }
}

/// Fires due schedules. Any number of Dispatchers run it: an occurrence is claimed under the
/// schedule row's lock and fired with an idempotency key naming the occurrence, so each fires
/// once even if a Dispatcher dies mid-way. After downtime a missed schedule fires once (not
/// once per missed occurrence) and continues from the next future time.
struct ScheduleRunner: Sendable {
    let gateway: Gateway

    /// Puts every active schedule of `tenants` (none given: every tenant) back in the index where
    /// it is missing (the index lives in Redis; PostgreSQL holds the schedules). Members present
    /// keep their time.
    func reindex(tenants: [TenantID] = []) async throws {
        try await gateway.restoreIndex(
            ScheduleRoutes.indexKey, tenants: tenants,
            from: """
                SELECT id, (extract(epoch FROM next_fire_at) * 1000)::bigint AS at_ms FROM schedules
                WHERE active AND next_fire_at IS NOT NULL
                """)
    }

    func fireDue(now: Date = Date()) async throws {
        let nowMs = Clock.milliseconds(now)
        let due = try await gateway.redis.send(
            RedisCommand("ZRANGEBYSCORE", [ScheduleRoutes.indexKey, "-inf", String(nowMs), "LIMIT", "0", "100"]))
        for member in (due.array ?? []).compactMap(\.string) {
            let parts = member.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let tenant = try? TenantID(parts[0]) else {
                try await gateway.redis.send(RedisCommand("ZREM", [ScheduleRoutes.indexKey, member]))
                continue
            }
            var delay = GatewayDuties.retryDelay
            do {
                guard try await gateway.tenants.exists(tenant) else {
                    try await gateway.redis.send(RedisCommand("ZREM", [ScheduleRoutes.indexKey, member]))
                    continue
                }
                try await fire(tenant: tenant, id: parts[1], member: member, now: now)
                continue
            } catch let problem as Problem where (400..<500).contains(problem.status.code) {
                // The stored job is not one this Dispatcher accepts (a newer one may): the
                // occurrence stays due, tried again in an hour, and said loudly meanwhile.
                gateway.logger.error(
                    "schedule's job is not accepted; retrying in an hour",
                    metadata: ["tenant": "\(tenant)", "schedule": "\(parts[1])", "problem": "\(problem.detail)"])
                delay = .seconds(3600)
            } catch {
                // Tried again a little later (the occurrence stays due in PostgreSQL, so it still
                // fires once), and meanwhile out of the way of the schedules behind it.
                gateway.logger.error(
                    "schedule could not fire; retrying", metadata: ["tenant": "\(tenant)", "schedule": "\(parts[1])", "error": "\(error)"])
            }
            let later = Clock.milliseconds() + delay.milliseconds
            try await gateway.redis.send(RedisCommand("ZADD", [ScheduleRoutes.indexKey, "XX", String(later), member]))
        }
    }

    private func fire(tenant: TenantID, id: String, member: String, now: Date) async throws {
        let nowMs = Clock.milliseconds(now)
        let next: Int64? = try await gateway.tenants.session(tenant) { connection in
            guard
                let row = try await connection.query(
                    """
                    SELECT cron, time_zone, template::text AS template, (extract(epoch FROM next_fire_at) * 1000)::bigint AS next_ms
                    FROM schedules WHERE id = $1 AND active FOR UPDATE
                    """, [id]
                ).first
            else { return nil }
            guard let occurrence = row.int64("next_ms"), let zone = row.string("time_zone").flatMap(TimeZone.init(identifier:)),
                let cron = try? CronExpression(row.string("cron") ?? ""),
                let template = row.string("template").flatMap({ JSONValue.parse(Data($0.utf8))?.objectValue })
            else { return nil }
            // Another Dispatcher fired it already: just fix the index.
            if occurrence > nowMs { return occurrence }
            let following = cron.next(after: max(now, Clock.date(milliseconds: occurrence)), in: zone)
            try await launch(template, tenant: tenant, scheduleID: id, occurrence: occurrence)
            try await connection.query(
                "UPDATE schedules SET next_fire_at = $2, last_fired_at = $3 WHERE id = $1",
                [id, following.map { PostgresTimestamp($0) }, PostgresTimestamp(microseconds: occurrence * 1000)])
            return following.map { Clock.milliseconds($0) }
        }
        if let next {
            try await gateway.redis.send(RedisCommand("ZADD", [ScheduleRoutes.indexKey, String(next), member]))
        } else {
            try await gateway.redis.send(RedisCommand("ZREM", [ScheduleRoutes.indexKey, member]))
        }
    }

    /// Submits one occurrence as the schedule's creator, through the same policy check as the API.
    private func launch(_ template: [String: JSONValue], tenant: TenantID, scheduleID: String, occurrence: Int64) async throws {
        let job = try JobRequest(object: template.filter { JobRequest.fields.contains($0.key) && $0.key != "run_at" }, path: "job.")
        let identity = Identity(
            tenant: tenant, user: template["user"]?.stringValue ?? "", org: template["org"]?.stringValue ?? "",
            team: template["team"]?.stringValue ?? "",
            roles: Set((template["roles"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(Role.init(rawValue:)) }))
        let requestID = "schedule-\(scheduleID)-\(occurrence)"
        let key = "schedule:\(scheduleID):\(occurrence)"
        let decision = await gateway.decide(identity, action: job.action, classification: job.classification, channel: "schedule")
        // With the policy engine down the occurrence is not consumed: it fires when it is back.
        if decision.policyApplied == PolicyDecision.unavailable("").policyApplied {
            throw FleetError(.policyUnavailable, decision.reason)
        }
        let detail = ["kind": job.kind.rawValue, "schedule_id": scheduleID, "occurrence": String(occurrence)]
        switch decision.decision {
        case .allow:
            let envelope = JobEnvelope(
                tenant: tenant, kind: job.kind, action: job.action, payload: job.payload, classification: job.classification,
                requester: identity.requester, requestID: requestID, idempotencyKey: key, admission: decision)
            try await gateway.auditDecision(
                identity, action: job.action, decision: decision, classification: job.classification, requestID: requestID, detail: detail)
            _ = try await gateway.queue.enqueue(envelope)
        case .requireApproval:
            let approval = try await ApprovalRoutes(gateway: gateway).park(
                job, identity: identity, decision: decision, requestID: requestID, idempotencyKey: key)
            try await gateway.auditDecision(
                identity, action: job.action, decision: decision, classification: job.classification, requestID: requestID,
                detail: detail.merging(["approval_id": approval]) { $1 })
        case .deny:
            try await gateway.auditDecision(
                identity, action: job.action, decision: decision, classification: job.classification, requestID: requestID, detail: detail)
        }
    }
}
