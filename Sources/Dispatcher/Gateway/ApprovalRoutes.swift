import AuditLog
import Contracts
import Foundation
import Hummingbird
import JobQueue
import PostgresClient
import RedisClient

/// The approval queue: jobs whose policy says `require_approval` wait here (in the tenant's
/// `approvals` table) until someone allowed to approve them does, or they expire.
///
/// Who may approve: an enterprise admin any request of the tenant; an org admin requests from
/// their org; a team lead requests from their team; the requester their own request only where
/// the policy allows self-approval. Everyone sees what they may approve plus their own requests.
struct ApprovalRoutes {
    let gateway: Gateway

    /// Global sorted set "tenant/approval id" by expiry (ids only), for the expiry sweeper.
    static let expiryKey = "oc:approvals:expiry"

    func add(to group: RouterGroup<GatewayContext>) {
        let table = gateway.routes
        table.add(group, prefix: "v1", .get, "approvals", use: list)
        table.add(group, prefix: "v1", .get, "approvals/:id", use: read)
        table.add(group, prefix: "v1", .post, "approvals/:id/approve") { request, context in
            try await decide(request, context, approve: true)
        }
        table.add(group, prefix: "v1", .post, "approvals/:id/reject") { request, context in
            try await decide(request, context, approve: false)
        }
    }

    /// Parks a job for approval; returns the approval id.
    func park(
        _ job: JobRequest, identity: Identity, decision: PolicyDecision, requestID: String, idempotencyKey: String?
    ) async throws
        -> String
    {
        let id = JobID.make()
        let expires = Clock.milliseconds() + gateway.configuration.approvalTTL.milliseconds
        let stored: JSONValue = .object([
            "kind": .string(job.kind.rawValue), "action": .string(job.action), "classification": .string(job.classification.rawValue),
            "payload": JSONValue.parse(job.payload) ?? .object([:]), "run_at": job.runAt.map { .integer($0) } ?? .null,
            "request_id": .string(requestID), "roles": .array(identity.roles.map { .string($0.rawValue) }.sorted { "\($0)" < "\($1)" }),
            "self_approval": .bool(decision.constraints.selfApproval), "idempotency_key": idempotencyKey.map { .string($0) } ?? .null,
        ])
        if let idempotencyKey {
            let claimed = try await gateway.redis.send(
                RedisCommand(
                    "SET", [RedisKeys.idempotency(tenant: identity.tenant, key: "approval:" + idempotencyKey), id, "NX", "EX", "86400"]))
            if claimed.isNull,
                let earlier = try await gateway.redis.send(
                    RedisCommand("GET", [RedisKeys.idempotency(tenant: identity.tenant, key: "approval:" + idempotencyKey)])
                ).string
            {
                return earlier
            }
        }
        try await tenantSession(identity.tenant) { connection in
            try await connection.query(
                """
                INSERT INTO approvals (id, job, kind, action, requester_user, requester_org, requester_team, policy_applied, policy_reason,
                    expires_at)
                VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7, $8, $9, $10)
                """,
                [
                    id, String(decoding: stored.canonicalData, as: UTF8.self), job.kind.rawValue, job.action, identity.user, identity.org,
                    identity.team, decision.policyApplied, decision.reason, PostgresTimestamp(microseconds: expires * 1000),
                ])
        }
        try await gateway.redis.send(RedisCommand("ZADD", [Self.expiryKey, String(expires), "\(identity.tenant.rawValue)/\(id)"]))
        return id
    }

    func list(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let status = request.uri.queryParameters.get("status") ?? "pending"
        guard ["pending", "approved", "rejected", "expired"].contains(status) else {
            throw Problem.badRequest("status must be pending, approved, rejected or expired")
        }
        let scope = visibility(identity)
        let rows = try await tenantSession(identity.tenant) { connection in
            try await connection.query(
                """
                SELECT \(Self.columns) FROM approvals
                WHERE status = $1 AND ($2::boolean OR requester_user = $3
                    OR ($4::text IS NOT NULL AND requester_org = $4)
                    OR ($5::text IS NOT NULL AND requester_team = $5 AND requester_org = $6))
                ORDER BY created_at DESC LIMIT 500
                """, [status, scope.all, identity.user, scope.org, scope.team, identity.org])
        }
        return try json(.ok, ["approvals": rows.map(Self.representation)])
    }

    func read(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let id = context.parameters.get("id") ?? ""
        let row = try await tenantSession(identity.tenant) { connection in
            try await connection.query("SELECT \(Self.columns) FROM approvals WHERE id = $1", [id]).first
        }
        guard let row, mayView(identity, row) else { throw Problem.notFound("no approval \(id.prefix(40))") }
        return try json(.ok, Self.representation(row))
    }

    private func decide(_ request: Request, _ context: GatewayContext, approve: Bool) async throws -> Response {
        let identity = try context.caller()
        let id = context.parameters.get("id") ?? ""
        let body = try await request.body.collect(upTo: gateway.configuration.maxBodyBytes)
        guard let object = JSONValue.parse(body.readableBytesView)?.objectValue else {
            throw Problem.badRequest("the body must be a JSON object with a 'reason'", slug: "malformed-json")
        }
        guard Set(object.keys).isSubset(of: ["reason"]) else {
            throw Problem.badRequest("only 'reason' is accepted", slug: "unknown-field")
        }
        guard let reason = object["reason"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
            throw Problem.badRequest("'reason' is required: say why you \(approve ? "approve" : "reject") this")
        }
        let requestID = RequestIDs.from(request)
        // One transaction holds the approval row: the decision is checked against the policy as
        // it is now, audited, and only then is the job enqueued and the row updated. The job's id
        // is the approval's and its enqueue idempotent (for the queue's idempotency retention), so
        // a retry after a failure in between converges on one job and one audit entry (event keys
        // are written once).
        let outcome: (jobID: String?, expired: Bool) = try await tenantSession(identity.tenant) { connection in
            guard
                let row = try await connection.query(
                    "SELECT \(Self.columns), job::text AS job_json FROM approvals WHERE id = $1 FOR UPDATE", [id]
                ).first,
                mayView(identity, row)
            else { throw Problem.notFound("no approval \(id.prefix(40))") }
            guard row.string("status") == "pending" else {
                throw Problem.conflict("approval \(id) is already \(row.string("status") ?? "decided")")
            }
            if let expires = row.string("expires_at_ms").flatMap(Int64.init), expires < Clock.milliseconds() {
                // Expired here and now, audited as the sweep would; answered once this commits.
                try await ApprovalExpiry(gateway: gateway).markExpired(connection, tenant: identity.tenant, id: id)
                return (nil, true)
            }
            guard mayDecide(identity, row) else {
                throw Problem.forbidden("\(identity.user) may not \(approve ? "approve" : "reject") approval \(id)")
            }
            var envelope = approve ? try Self.envelope(from: row, tenant: identity.tenant, approver: identity.user) : nil
            if let job = envelope {
                // The job carries the decision as it is now (its constraints), approved.
                let now = try await recheck(job, approval: id, requestID: requestID)
                if row.string("requester_user") == identity.user && !now.constraints.selfApproval {
                    throw Problem.forbidden("the policy no longer lets \(identity.user) approve their own request \(id)")
                }
                envelope?.admission = PolicyDecision(
                    decision: .allow, policyApplied: now.policyApplied, reason: "approved by \(identity.user)", constraints: now.constraints
                )
            }
            var detail: [String: JSONValue] = [
                "approval_id": .string(id), "action": .string(row.string("action") ?? ""), "reason": .string(reason),
                "requester": .string(row.string("requester_user") ?? ""),
            ]
            if let envelope { detail["job_id"] = .string(envelope.id) }
            try await gateway.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "approval:\(id):\(approve ? "approved" : "rejected")", userID: identity.user,
                    actionType: approve ? "approval.approved" : "approval.rejected",
                    actionDetail: String(decoding: JSONValue.object(detail).canonicalData, as: UTF8.self),
                    policyApplied: row.string("policy_applied"), policyResult: approve ? "approved" : "rejected", policyReason: reason,
                    outcome: .success, requestID: requestID))
            var jobID: String?
            if let envelope {
                do {
                    jobID = try await gateway.queue.enqueue(envelope).id
                } catch {
                    gateway.logger.error("approved job could not be queued", metadata: ["approval": "\(id)", "error": "\(error)"])
                    throw Problem.unavailable(
                        "queue",
                        "the job queue cannot be reached right now; approval \(id) is still pending (the approval may be audited): approve it again, which queues job \(id) once"
                    )
                }
            } else {
                // A job an approve queued before failing (its answer lost) does not outlive a
                // rejection; one that already started cannot be rejected.
                let cancelled: JobQueue.CancelOutcome
                do {
                    cancelled = try await gateway.queue.cancel(tenant: identity.tenant, id: id)
                } catch {
                    throw Problem.unavailable("queue", "the job queue cannot be reached right now; approval \(id) is still pending")
                }
                if case .notCancellable(let state) = cancelled {
                    throw Problem.conflict("approval \(id) was approved already: its job is \(state.rawValue)")
                }
            }
            try await connection.query(
                "UPDATE approvals SET status = $2, decided_by = $3, decided_at = now(), decision_reason = $4, job_id = $5 WHERE id = $1",
                [id, approve ? "approved" : "rejected", identity.user, reason, jobID])
            return (jobID, false)
        }
        try? await gateway.redis.send(RedisCommand("ZREM", [Self.expiryKey, "\(identity.tenant.rawValue)/\(id)"]))
        if outcome.expired { throw Problem.conflict("approval \(id) expired") }
        var answer: [String: Any] = ["id": id, "status": approve ? "approved" : "rejected"]
        if let jobID = outcome.jobID { answer["job_id"] = jobID }
        return try json(.ok, answer)
    }

    /// Asks the policy again, for the requester, before an approved job is enqueued: an action
    /// blocked since it was parked, or an engine that cannot answer, stops it (audited as denied).
    private func recheck(_ job: JobEnvelope, approval: String, requestID: String) async throws -> PolicyDecision {
        let requester = Identity(
            tenant: job.tenant, user: job.requester.user, org: job.requester.org, team: job.requester.team,
            roles: Set(job.requester.roles.compactMap(Role.init(rawValue:))))
        let decision = await gateway.decide(requester, action: job.action, classification: job.classification)
        guard decision.decision == .deny else { return decision }
        try await gateway.auditDecision(
            requester, action: job.action, decision: decision, classification: job.classification, requestID: requestID,
            detail: ["kind": job.kind.rawValue, "approval_id": approval])
        throw Problem.policyDenied(decision)
    }

    // MARK: - Rules

    struct Visibility {
        var all: Bool
        var org: String?
        var team: String?
    }

    /// Enterprise admins see the tenant's approvals, org admins their org's, team leads their
    /// team's (a team is named within its org: `core` of `eng` is not `core` of `sales`).
    func visibility(_ identity: Identity) -> Visibility {
        Visibility(
            all: identity.has(.enterpriseAdmin), org: identity.has(.orgAdmin) && !identity.org.isEmpty ? identity.org : nil,
            team: identity.has(.teamLead) && !identity.team.isEmpty ? identity.team : nil)
    }

    func mayView(_ identity: Identity, _ row: PostgresRow) -> Bool {
        mayDecideAsAdmin(identity, row) || row.string("requester_user") == identity.user
    }

    func mayDecideAsAdmin(_ identity: Identity, _ row: PostgresRow) -> Bool {
        let scope = visibility(identity)
        return scope.all || (scope.org != nil && row.string("requester_org") == scope.org)
            || (scope.team != nil && row.string("requester_team") == scope.team && row.string("requester_org") == identity.org)
    }

    func mayDecide(_ identity: Identity, _ row: PostgresRow) -> Bool {
        let own = row.string("requester_user") == identity.user
        if own { return row.bool("self_approval") == true }
        return mayDecideAsAdmin(identity, row)
    }

    static let columns = """
        id, kind, action, requester_user, requester_org, requester_team, policy_applied, policy_reason, status,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
        to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires_at,
        (extract(epoch FROM expires_at) * 1000)::bigint AS expires_at_ms, decided_by, decision_reason, job_id,
        coalesce((job->>'self_approval')::boolean, false) AS self_approval
        """

    static func representation(_ row: PostgresRow) -> [String: Any] {
        var out: [String: Any] = [:]
        for key in [
            "id", "kind", "action", "requester_user", "requester_org", "requester_team", "policy_applied", "policy_reason", "status",
            "created_at", "expires_at",
        ] {
            out[key] = row.string(key) ?? ""
        }
        for key in ["decided_by", "decision_reason", "job_id"] { if let value = row.string(key) { out[key] = value } }
        return out
    }

    /// The job an approved request becomes (for its original requester).
    static func envelope(from row: PostgresRow, tenant: TenantID, approver: String) throws -> JobEnvelope {
        guard let id = row.string("id"), let job = row.string("job_json").flatMap({ JSONValue.parse(Data($0.utf8))?.objectValue }),
            let kind = job["kind"]?.stringValue.flatMap({ try? JobKind($0) }), let action = job["action"]?.stringValue
        else {
            throw Problem(
                status: .internalServerError, slug: "internal", title: "Internal error",
                detail: "approval \(row.string("id") ?? "") is malformed")
        }
        let roles = job["roles"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return JobEnvelope(
            id: id, tenant: tenant, kind: kind, action: action, payload: Array((job["payload"] ?? .object([:])).canonicalData),
            classification: Classification(parsing: job["classification"]?.stringValue),
            requester: Requester(
                user: row.string("requester_user") ?? "", org: row.string("requester_org") ?? "", team: row.string("requester_team") ?? "",
                roles: roles),
            requestID: job["request_id"]?.stringValue ?? "", idempotencyKey: job["idempotency_key"]?.stringValue ?? "approval/\(id)",
            runAt: job["run_at"]?.integerValue,
            admission: PolicyDecision(
                decision: .allow, policyApplied: row.string("policy_applied") ?? "", reason: "approved by \(approver)"))
    }

    private func tenantSession<T: Sendable>(_ tenant: TenantID, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withTenantSchema(gateway, tenant) { try await gateway.tenants.session(tenant, body) }
    }
}

/// Runs `body`, answering a clear 409 when the tenant has no schema yet.
func withTenantSchema<T>(_ gateway: Gateway, _ tenant: TenantID, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PostgresError
        where error.sqlState == "42P01" || error.sqlState == "3F000" || error.sqlState == "22023"
        || (error.sqlState == "42704" && error.message.contains("role"))
    {
        throw Problem(
            status: .conflict, slug: "tenant-not-provisioned", title: "The tenant is not provisioned",
            detail: "tenant \(tenant) has no database schema yet; an operator runs `Dispatcher tenant create \(tenant)`")
    } catch let error as PostgresError where error.code == .connection {
        throw Problem.unavailable("database", "the database cannot be reached right now")
    }
}

/// Marks approvals expired when their time is up (and audits it).
struct ApprovalExpiry: Sendable {
    let gateway: Gateway

    /// Puts every pending approval of `tenants` (none given: every tenant) back in the expiry
    /// index where it is missing.
    func reindex(tenants: [TenantID] = []) async throws {
        try await gateway.restoreIndex(
            ApprovalRoutes.expiryKey, tenants: tenants,
            from: "SELECT id, (extract(epoch FROM expires_at) * 1000)::bigint AS at_ms FROM approvals WHERE status = 'pending'")
    }

    /// Expires the approvals past their time, each in its own transaction with its audit entry
    /// (if the audit cannot be written it stays pending and is tried again). One that fails is
    /// put back a little later, so it never holds up the others.
    func sweepOnce() async throws {
        let due = try await gateway.redis.send(
            RedisCommand("ZRANGEBYSCORE", [ApprovalRoutes.expiryKey, "-inf", String(Clock.milliseconds()), "LIMIT", "0", "100"]))
        for member in (due.array ?? []).compactMap(\.string) {
            let parts = member.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let tenant = try? TenantID(parts[0]) else {
                try await gateway.redis.send(RedisCommand("ZREM", [ApprovalRoutes.expiryKey, member]))
                continue
            }
            do {
                try await expire(tenant: tenant, id: parts[1])
                try await gateway.redis.send(RedisCommand("ZREM", [ApprovalRoutes.expiryKey, member]))
            } catch {
                gateway.logger.error(
                    "approval could not expire; retrying",
                    metadata: ["tenant": "\(tenant)", "approval": "\(parts[1])", "error": "\(error)"])
                let later = Clock.milliseconds() + GatewayDuties.retryDelay.milliseconds
                try await gateway.redis.send(RedisCommand("ZADD", [ApprovalRoutes.expiryKey, "XX", String(later), member]))
            }
        }
    }

    private func expire(tenant: TenantID, id: String) async throws {
        try await gateway.tenants.session(tenant) { connection in try await markExpired(connection, tenant: tenant, id: id) }
    }

    /// Marks a pending approval expired and audits it, in the caller's transaction.
    func markExpired(_ connection: PostgresConnection, tenant: TenantID, id: String) async throws {
        guard
            let expired = try await connection.query(
                "UPDATE approvals SET status = 'expired' WHERE id = $1 AND status = 'pending' RETURNING requester_user, action", [id]
            ).first
        else { return }
        try await gateway.record(
            AuditEvent(
                tenant: tenant, eventKey: "approval:\(id):expired", userID: expired.string("requester_user") ?? "",
                actionType: "approval.expired",
                actionDetail: String(
                    decoding: JSONValue.object(["approval_id": .string(id), "action": .string(expired.string("action") ?? "")])
                        .canonicalData, as: UTF8.self),
                policyResult: "expired", outcome: .denied, requestID: id))
    }
}
