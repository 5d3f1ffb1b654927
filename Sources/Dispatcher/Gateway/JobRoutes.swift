import Contracts
import Foundation
import Hummingbird
import JobQueue
import RedisClient

/// `/v1/jobs`: submit (policy-checked), read, cancel.
struct JobRoutes {
    let gateway: Gateway

    func add(to group: RouterGroup<GatewayContext>) {
        let table = gateway.routes
        table.add(group, prefix: "v1", .post, "jobs", use: submit)
        table.add(group, prefix: "v1", .get, "jobs/:id", use: read)
        table.add(group, prefix: "v1", .delete, "jobs/:id", use: cancel)
    }

    func submit(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let body = try await request.body.collect(upTo: gateway.configuration.maxBodyBytes)
        let job = try JobRequest(json: body.readableBytesView)
        let requestID = RequestIDs.from(request)
        let idempotencyKey = try RequestIDs.idempotencyKey(request, user: identity.user)
        if let idempotencyKey, let earlier = try await earlierSubmission(identity, key: idempotencyKey) { return earlier }

        let decision = await gateway.decide(identity, action: job.action, classification: job.classification)
        let detail = ["kind": job.kind.rawValue]
        switch decision.decision {
        case .deny:
            try await gateway.auditDecision(
                identity, action: job.action, decision: decision, classification: job.classification, requestID: requestID, detail: detail)
            throw Problem.policyDenied(decision)
        case .requireApproval:
            let approval = try await ApprovalRoutes(gateway: gateway).park(
                job, identity: identity, decision: decision, requestID: requestID, idempotencyKey: idempotencyKey)
            try await gateway.auditDecision(
                identity, action: job.action, decision: decision, classification: job.classification, requestID: requestID,
                detail: detail.merging(["approval_id": approval]) { $1 })
            return try json(
                .accepted,
                [
                    "status": "awaiting_approval", "approval_id": approval, "request_id": requestID, "policy": decision.policyApplied,
                    "reason": decision.reason,
                ], location: "/v1/approvals/\(approval)")
        case .allow:
            let envelope = JobEnvelope(
                tenant: identity.tenant, kind: job.kind, action: job.action, payload: job.payload, classification: job.classification,
                requester: identity.requester, requestID: requestID, idempotencyKey: idempotencyKey, runAt: job.runAt,
                trace: RequestIDs.trace(request), admission: decision)
            let result = try await gateway.admit(envelope, identity: identity, decision: decision, requestID: requestID)
            // The hot path: written by hand rather than through a serializer.
            let body =
                #"{"disclosure_required":\#(decision.constraints.disclosureRequired),"duplicate":\#(!result.isNew),"id":"\#(result.id)","#
                + #""request_id":\#(JSONText.quoted(requestID)),"status":"queued"}"#
            return Response(
                status: .accepted, headers: [.contentType: "application/json", .location: "/v1/jobs/\(result.id)"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }

    /// The answer to a repeated `Idempotency-Key`: the first submission's job or approval.
    private func earlierSubmission(_ identity: Identity, key: String) async throws -> Response? {
        let replies = try await gateway.redis.send([
            RedisCommand("GET", [RedisKeys.idempotency(tenant: identity.tenant, key: key)]),
            RedisCommand("GET", [RedisKeys.idempotency(tenant: identity.tenant, key: "approval:" + key)]),
        ])
        if let id = replies[0].string, let status = try await gateway.queue.status(tenant: identity.tenant, id: id) {
            return try json(.accepted, ["id": id, "status": status.state.rawValue, "duplicate": true], location: "/v1/jobs/\(id)")
        }
        if let approval = replies[1].string {
            return try json(
                .accepted, ["status": "awaiting_approval", "approval_id": approval, "duplicate": true],
                location: "/v1/approvals/\(approval)")
        }
        return nil
    }

    func read(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let id = context.parameters.get("id") ?? ""
        // Another user's job is not found, as another tenant's is, unless the caller administers
        // the whole tenant.
        guard let status = try await gateway.queue.status(tenant: identity.tenant, id: id), Self.mayAccess(identity, status) else {
            throw Problem.notFound("no job \(id.prefix(40))")
        }
        return try json(.ok, Self.representation(status))
    }

    func cancel(_ request: Request, context: GatewayContext) async throws -> Response {
        let identity = try context.caller()
        let id = context.parameters.get("id") ?? ""
        guard let status = try await gateway.queue.status(tenant: identity.tenant, id: id), Self.mayAccess(identity, status) else {
            throw Problem.notFound("no job \(id.prefix(40))")
        }
        let requestID = RequestIDs.from(request)
        switch try await gateway.queue.cancel(tenant: identity.tenant, id: id) {
        case .cancelled:
            try await gateway.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "cancel:\(id)", userID: identity.user, actionType: "job.cancel",
                    actionDetail: String(decoding: JSONValue.object(["job_id": .string(id)]).canonicalData, as: UTF8.self),
                    outcome: .success, requestID: requestID))
            return try json(.ok, ["id": id, "status": "cancelled"])
        case .notFound:
            throw Problem.notFound("no job \(id.prefix(40))")
        case .notCancellable(let state):
            throw Problem.conflict("job \(id) is \(state.rawValue): only queued or delayed jobs can be cancelled")
        }
    }

    /// The requester and the tenant's enterprise admins see and cancel a job; a job with no
    /// requester on record (fired by the fleet itself) is the tenant's.
    static func mayAccess(_ identity: Identity, _ status: JobStatus) -> Bool {
        status.requester == nil || status.requester == identity.user || identity.has(.enterpriseAdmin)
    }

    static func representation(_ status: JobStatus) -> [String: Any] {
        var out: [String: Any] = [
            "id": status.id, "kind": status.kind.rawValue, "status": status.state.rawValue, "attempts": status.attempts,
            "enqueued_at": iso(status.enqueuedAt), "updated_at": iso(status.updatedAt),
        ]
        if let value = status.lastError { out["last_error"] = value }
        if let value = status.runAt { out["run_at"] = iso(value) }
        if let value = status.startedAt { out["started_at"] = iso(value) }
        if let value = status.finishedAt { out["finished_at"] = iso(value) }
        return out
    }
}

/// Request ids, idempotency keys and trace context from headers.
enum RequestIDs {
    static func from(_ request: Request) -> String {
        if let given = request.headers[.init("X-Request-Id")!], given.utf8.count <= 64,
            given.utf8.allSatisfy({ $0 > 32 && $0 < 127 })
        {
            return given
        }
        return JobID.make()
    }

    /// The caller's `Idempotency-Key`, made the caller's own: the same key from another user of
    /// the tenant is another key.
    static func idempotencyKey(_ request: Request, user: String) throws -> String? {
        guard let key = request.headers[.init("Idempotency-Key")!] else { return nil }
        guard (1...200).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw Problem.badRequest("Idempotency-Key must be 1-200 printable ASCII characters")
        }
        return "\(user.utf8.count):\(user):\(key)"
    }

    static func trace(_ request: Request) -> TraceContext? {
        guard let parent = request.headers[.init("traceparent")!], parent.utf8.count <= 128 else { return nil }
        return TraceContext(traceparent: parent, tracestate: String((request.headers[.init("tracestate")!] ?? "").prefix(256)))
    }
}

/// A JSON response.
func json(_ status: HTTPResponse.Status, _ object: [String: Any], location: String? = nil) throws -> Response {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    var headers: HTTPFields = [.contentType: "application/json"]
    if let location { headers[.location] = location }
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
