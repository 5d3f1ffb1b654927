import AuditLog
import Contracts
import FleetConcurrency
import Foundation
import PostgresClient
import RedisClient

/// The approval queue: jobs whose policy says `require_approval` wait in the tenant's
/// `approvals` table until someone allowed to decides them, or they expire. Pending approvals
/// are indexed by expiry in Redis (`RedisKeys.approvalExpiry`) for the expiry sweep.
public struct ApprovalStore: Sendable {
    let tenants: TenantDirectory
    let redis: RedisClient
    /// How long a pending approval waits before it expires.
    public let ttl: Duration
    /// Approvals parked meanwhile, stored together: one transaction (a statement per tenant) and
    /// one `ZADD` for the expiry index serve them all.
    private let parking: GroupCommit<Parked, Result<Void, any Error>>

    /// An approval on its way into its tenant's table: the insert's values, in column order.
    struct Parked: Sendable {
        let tenant: TenantID
        let id: String
        let expires: Int64
        let values: [String?]
    }

    public init(tenants: TenantDirectory, redis: RedisClient, ttl: Duration) {
        self.tenants = tenants
        self.redis = redis
        self.ttl = ttl
        parking = GroupCommit(concurrentFlushes: 2) { [tenants, redis] batch in
            await Self.store(batch, tenants: tenants, redis: redis)
        }
    }

    /// Parks `job` for approval; returns the approval's id. With an idempotency key, a repeated
    /// submission returns the first approval's id.
    public func park(
        _ job: JobDescription, identity: Identity, decision: PolicyDecision, requestID: String, idempotencyKey: String?
    ) async throws -> String {
        let id = JobID.make()
        let expires = Clock.milliseconds() + ttl.milliseconds
        var stored = job.object
        stored["request_id"] = .string(requestID)
        stored["roles"] = .array(identity.requester.roles.map { .string($0.rawValue) })
        stored["self_approval"] = .bool(decision.constraints.selfApproval)
        stored["idempotency_key"] = idempotencyKey.map { .string($0) } ?? .null
        stored["run_at"] = job.runAt.map { .integer($0) } ?? .null
        if let idempotencyKey {
            let key = RedisKeys.idempotency(tenant: identity.tenant, key: "approval:" + idempotencyKey)
            let claimed = try await redis.send(RedisCommand("SET", [key, id, "NX", "EX", "86400"]))
            if claimed.isNull, let earlier = try await redis.send(RedisCommand("GET", [key])).string { return earlier }
        }
        let values: [String?] = [
            id, String(decoding: JSONValue.object(stored).canonicalData, as: UTF8.self), job.kind.rawValue, job.action.rawValue,
            identity.user, identity.org, identity.team, decision.policyApplied, decision.reason,
            PostgresTimestamp(microseconds: expires * 1000).postgresText,
        ]
        try await parking.submit(Parked(tenant: identity.tenant, id: id, expires: expires, values: values)).get()
        return id
    }

    /// Inserts the batch's approvals, each tenant's with one statement, all in one transaction
    /// sent in one round trip, then indexes them by expiry with one `ZADD`. When the transaction
    /// fails and the batch spans tenants, each tenant's approvals are stored on their own, so one
    /// tenant's failure (e.g. no schema yet) is only its own.
    static func store(_ batch: [Parked], tenants: TenantDirectory, redis: RedisClient) async -> [Result<Void, any Error>] {
        var order: [TenantID] = []
        var byTenant: [TenantID: [Int]] = [:]
        for (index, item) in batch.enumerated() {
            if byTenant[item.tenant] == nil { order.append(item.tenant) }
            byTenant[item.tenant, default: []].append(index)
        }
        func statement(_ tenant: TenantID) -> (tenant: TenantID, sql: String, parameters: [any PostgresBindable]) {
            let rows = byTenant[tenant]!.map { batch[$0].values }
            return (tenant, insert(tenant), (0..<rows[0].count).map { column in PostgresArray(rows.map { $0[column] }) })
        }
        var results = [Result<Void, any Error>](repeating: .success(()), count: batch.count)
        do {
            try await tenants.queryInOneTransaction(order.map(statement))
        } catch  where order.count == 1 {
            results = results.map { _ in .failure(error) }
        } catch {
            for tenant in order {
                do {
                    let one = statement(tenant)
                    try await tenants.query(tenant, one.sql, one.parameters)
                } catch {
                    for index in byTenant[tenant]! { results[index] = .failure(error) }
                }
            }
        }
        let stored = batch.indices.filter { if case .success = results[$0] { true } else { false } }
        guard !stored.isEmpty else { return results }
        let members = stored.flatMap { [String(batch[$0].expires), "\(batch[$0].tenant.rawValue)/\(batch[$0].id)"] }
        do {
            try await redis.send(RedisCommand("ZADD", [RedisKeys.approvalExpiry] + members))
        } catch {
            for index in stored { results[index] = .failure(error) }
        }
        return results
    }

    /// Inserts a tenant's approvals from one array per column (the table named by schema: see
    /// `TenantDirectory.queryInOneTransaction`).
    static func insert(_ tenant: TenantID) -> String {
        """
        INSERT INTO \(TenantDirectory.table("approvals", of: tenant)) (id, job, kind, action, requester_user, requester_org, requester_team, policy_applied, policy_reason,
            expires_at)
        SELECT * FROM unnest($1::text[], $2::jsonb[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::timestamptz[])
        """
    }

    /// The approval parked earlier under `idempotencyKey`, if any.
    public func earlier(tenant: TenantID, idempotencyKey: String) async throws -> String? {
        try await redis.send(RedisCommand("GET", [RedisKeys.idempotency(tenant: tenant, key: "approval:" + idempotencyKey)])).string
    }

    /// What approvers see of the parked job besides its kind and action.
    static let shown = "job->'payload' AS payload_json, job->>'classification' AS job_classification"

    /// Approvals in `status` that `scope` covers, newest first (at most 500).
    public func list(tenant: TenantID, status: ApprovalRecord.Status, scope: ApprovalScope) async throws -> [ApprovalRecord] {
        try await tenants.session(tenant) { connection in
            try await connection.query(
                """
                SELECT \(Self.columns), \(Self.shown) FROM approvals
                WHERE status = $1 AND ($2::boolean OR requester_user = $3
                    OR ($4::text IS NOT NULL AND requester_org = $4)
                    OR ($5::text IS NOT NULL AND requester_team = $5 AND requester_org = $6))
                ORDER BY created_at DESC LIMIT 500
                """, [status.rawValue, scope.all, scope.user, scope.org, scope.team, scope.userOrg])
        }.compactMap(ApprovalRecord.init(row:))
    }

    /// One approval.
    public func read(tenant: TenantID, id: String) async throws -> ApprovalRecord? {
        try await tenants.session(tenant) { connection in
            try await connection.query("SELECT \(Self.columns), \(Self.shown) FROM approvals WHERE id = $1", [id]).first.flatMap(
                ApprovalRecord.init(row:))
        }
    }

    /// Runs `body` in one transaction holding approval `id` (locked, with its stored job), or
    /// with nil when there is no such approval.
    public func deciding<T: Sendable>(
        tenant: TenantID, id: String, _ body: (ApprovalRecord?, PostgresConnection) async throws -> T
    ) async throws -> T {
        try await tenants.session(tenant) { connection in
            let row = try await connection.query(
                "SELECT \(Self.columns), job::text AS job_json FROM approvals WHERE id = $1 FOR UPDATE", [id]
            ).first
            return try await body(row.flatMap(ApprovalRecord.init(row:)), connection)
        }
    }

    /// Records a decision, in the deciding transaction.
    public func markDecided(
        _ connection: PostgresConnection, id: String, status: ApprovalRecord.Status, by user: String, reason: String, jobID: String?
    ) async throws {
        try await connection.query(
            "UPDATE approvals SET status = $2, decided_by = $3, decided_at = now(), decision_reason = $4, job_id = $5 WHERE id = $1",
            [id, status.rawValue, user, reason, jobID])
    }

    /// Marks a pending approval expired in the caller's transaction; returns its requester and
    /// action, or nil when it was not pending.
    public func markExpired(_ connection: PostgresConnection, id: String) async throws -> (requester: String, action: String)? {
        guard
            let row = try await connection.query(
                "UPDATE approvals SET status = 'expired' WHERE id = $1 AND status = 'pending' RETURNING requester_user, action", [id]
            ).first
        else { return nil }
        return (row.string("requester_user") ?? "", row.string("action") ?? "")
    }

    /// Removes an approval from the expiry index (it was decided).
    public func unindex(tenant: TenantID, id: String) async throws {
        try await redis.send(RedisCommand("ZREM", [RedisKeys.approvalExpiry, "\(tenant.rawValue)/\(id)"]))
    }

    /// Pending approvals with their expiry (ms), for restoring the expiry index.
    public static let pendingIndexQuery =
        "SELECT id, (extract(epoch FROM expires_at) * 1000)::bigint AS at_ms FROM approvals WHERE status = 'pending'"

    static let columns = """
        id, kind, action, requester_user, requester_org, requester_team, policy_applied, policy_reason, status,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
        to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires_at,
        (extract(epoch FROM expires_at) * 1000)::bigint AS expires_at_ms, decided_by, decision_reason, job_id,
        coalesce((job->>'self_approval')::boolean, false) AS self_approval
        """
}

/// Which approvals a caller sees beside their own: all of the tenant's, an org's, or a team's
/// within the caller's org.
public struct ApprovalScope: Sendable {
    public var all: Bool
    public var org: String?
    public var team: String?
    public var user: String
    public var userOrg: String

    public init(all: Bool, org: String?, team: String?, user: String, userOrg: String) {
        self.all = all
        self.org = org
        self.team = team
        self.user = user
        self.userOrg = userOrg
    }
}

/// One approval as stored and as the API shows it.
public struct ApprovalRecord: Sendable, Encodable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case pending, approved, rejected, expired
    }

    public var id: String
    public var kind: String
    public var action: String
    public var requesterUser: String
    public var requesterOrg: String
    public var requesterTeam: String
    public var policyApplied: String
    public var policyReason: String
    public var status: Status
    public var createdAt: String
    public var expiresAt: String
    public var decidedBy: String?
    public var decisionReason: String?
    public var jobID: String?
    /// Not shown: when it expires (ms), whether its requester may approve it, the stored job.
    public var expiresAtMs: Int64
    public var selfApproval: Bool
    public var job: [String: JSONValue]?
    /// What the parked job would do (shown to approvers): its payload and data level.
    public var payload: JSONValue?
    public var classification: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, action, status, payload, classification
        case requesterUser = "requester_user"
        case requesterOrg = "requester_org"
        case requesterTeam = "requester_team"
        case policyApplied = "policy_applied"
        case policyReason = "policy_reason"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case decidedBy = "decided_by"
        case decisionReason = "decision_reason"
        case jobID = "job_id"
    }

    init?(row: PostgresRow) {
        guard let id = row.string("id"), let status = row.string("status").flatMap(Status.init(rawValue:)) else { return nil }
        self.id = id
        kind = row.string("kind") ?? ""
        action = row.string("action") ?? ""
        requesterUser = row.string("requester_user") ?? ""
        requesterOrg = row.string("requester_org") ?? ""
        requesterTeam = row.string("requester_team") ?? ""
        policyApplied = row.string("policy_applied") ?? ""
        policyReason = row.string("policy_reason") ?? ""
        self.status = status
        createdAt = row.string("created_at") ?? ""
        expiresAt = row.string("expires_at") ?? ""
        decidedBy = row.string("decided_by")
        decisionReason = row.string("decision_reason")
        jobID = row.string("job_id")
        expiresAtMs = row.int64("expires_at_ms") ?? 0
        selfApproval = row.bool("self_approval") ?? false
        job = row.string("job_json").flatMap { JSONValue.parse(Data($0.utf8))?.objectValue }
        payload = job?["payload"] ?? row.string("payload_json").flatMap { JSONValue.parse(Data($0.utf8)) }
        classification = job?["classification"]?.stringValue ?? row.string("job_classification")
    }

    /// The job an approved request becomes: its original requester's, under the approval's id.
    public func envelope(tenant: TenantID, admission: PolicyDecision) throws(FleetError) -> JobEnvelope {
        guard let job, let kind = job["kind"]?.stringValue.flatMap({ try? JobKind($0) }),
            let action = job["action"]?.stringValue.flatMap({ try? Action($0) })
        else { throw FleetError(.internal, "approval \(id) is malformed") }
        let roles = job["roles"]?.arrayValue?.compactMap { $0.stringValue.flatMap(Role.init(rawValue:)) } ?? []
        return JobEnvelope(
            id: id, tenant: tenant, kind: kind, action: action, payload: (job["payload"] ?? .object([:])).canonicalBytes,
            classification: Classification(parsing: job["classification"]?.stringValue),
            requester: Requester(user: requesterUser, org: requesterOrg, team: requesterTeam, roles: roles),
            requestID: job["request_id"]?.stringValue ?? "", idempotencyKey: job["idempotency_key"]?.stringValue ?? "approval/\(id)",
            runAt: job["run_at"]?.integerValue, admission: admission)
    }
}
