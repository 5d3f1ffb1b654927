import Admission
import AuditLog
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import JobQueue
import RedisClient
import TestSupport
import Testing

@testable import Dispatcher

/// What fault injection and hostile input found in the gateway; each test failed before its fix.
@Suite struct HardeningTests {
    /// Every parameter is range-checked: out of range is 400, never a crash or a 500.
    @Test func hostileParametersAre400NotACrash() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let boss = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        try await app.test(.router) { client in
            for query in [
                "cursor=9223372036854775807.9223372036854775807", "cursor=-9223372036854775808.0", "cursor=1.-5",
                "from=300000-01-01T00:00:00Z", "to=300000-01-01T00:00:00Z", "from=0000-01-01T00:00:00Z", "to=10000-01-01T00:00:00Z",
                "limit=abc", "limit=0", "limit=1001", "user=a%00b", "action_type=x%01", "request_id=" + String(repeating: "r", count: 300),
            ] {
                let answer = try await boss.call(client, .get, "/v1/audit?" + query)
                #expect(answer.status == 400, "\(query): \(answer.status) \(answer.json)")
            }
            for path in ["/v1/jobs/a%00b", "/v1/approvals/a%00b", "/v1/schedules/a%00b", "/v1/jobs/" + String(repeating: "Z", count: 500)] {
                #expect(try await boss.call(client, .get, path).status == 404, "\(path)")
            }
            #expect(try await boss.call(client, .get, "/v1/approvals?status=pending%00").status == 400)
            #expect(try await client.execute(uri: "/healthz", method: .get) { $0.status } == .ok)
            // A run_at out of range is refused, not stored as a job that never runs.
            let far = try await boss.call(
                client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run","run_at":"9999-01-01T00:00:00Z"}"#)
            #expect(far.status == 400)
        }
    }

    /// A NUL in a body is refused before it reaches a batch the audit writer shares with other
    /// tenants: while one tenant sends them, another's submissions all pass.
    @Test func nulCharactersAreRefusedAndNeverHoldUpAnotherTenant() async throws {
        let fixture = try await GatewayFixture.make()
        let other = try await GatewayFixture.make(issuer: fixture.issuer)
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        try await other.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let boss = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        let bob = APIClient(token: try await fixture.issuer.token(tenant: other.tenant, user: "bob"))
        let hostile: [(APIClient, HTTPRequest.Method, String, String)] = [
            (alice, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run","payload":{"poison":false},"x":"\u0000"}"#),
            (alice, .post, "/v1/jobs", #"{"kind":"classifier","action":"gmail.read","payload":{"source":"gm\u0000ail","item_id":"1"}}"#),
            (boss, .put, "/v1/policies/enterprise/*/features", #"{"content":{"note":"a\u0000b"},"change_reason":"x"}"#),
            (boss, .put, "/v1/policies/enterprise/*/features", #"{"content":{},"change_reason":"why\u0000"}"#),
            (
                alice, .post, "/v1/schedules",
                #"{"cron":"0 8 * * *","time_zone":"Europe/Berlin\u0000","job":{"kind":"noop","action":"noop.run"}}"#
            ),
            (alice, .post, "/v1/approvals/01ARZ3NDEKTSV4RRFFQ69G5FAV/approve", #"{"reason":"ok\u0000"}"#),
        ]
        try await app.test(.router) { client in
            try await withThrowingTaskGroup(of: [Int].self) { group in
                group.addTask {
                    var statuses: [Int] = []
                    for _ in 0..<5 {
                        for (caller, method, uri, body) in hostile {
                            statuses.append(try await caller.call(client, method, uri, body).status)
                        }
                    }
                    return statuses
                }
                group.addTask {
                    var statuses: [Int] = []
                    for _ in 0..<30 {
                        statuses.append(try await bob.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#).status)
                    }
                    return [-1] + statuses
                }
                for try await statuses in group {
                    if statuses.first == -1 {
                        #expect(statuses.dropFirst().allSatisfy { $0 == 202 }, "another tenant's submissions: \(statuses)")
                    } else {
                        #expect(statuses.allSatisfy { $0 == 400 }, "hostile bodies: \(statuses)")
                    }
                }
            }
        }
    }

    /// Bodies whose only fault is a NUL in their text are refused as such (400 naming it), and
    /// nothing they ask for happens: a reply's draft, a schedule's job, an approval's reason.
    @Test func aNULAloneIsWhatABodyIsRefusedFor() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let boss = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "boss", roles: ["enterprise_admin"]))
        try await app.test(.router) { client in
            let parked = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"jira.comment"}"#)
            let approval = try #require(parked.json["approval_id"] as? String, "\(parked.json)")
            let requests: [(APIClient, HTTPRequest.Method, String, String)] = [
                (
                    alice, .post, "/v1/jobs",
                    #"{"kind":"auto-responder","action":"autorespond.send","payload":{"channel":"gmail","message_id":"m1","draft":"Hello\u0000"}}"#
                ),
                (
                    alice, .post, "/v1/schedules",
                    #"{"cron":"0 8 * * *","time_zone":"Europe/Berlin","job":{"kind":"auto-responder","action":"autorespond.send","payload":{"channel":"gmail","message_id":"m\u00001"}}}"#
                ),
                (boss, .post, "/v1/approvals/\(approval)/approve", #"{"reason":"looks right\u0000"}"#),
                (boss, .post, "/v1/approvals/\(approval)/reject", #"{"reason":"\u0000"}"#),
            ]
            for (caller, method, uri, body) in requests {
                let answer = try await caller.call(client, method, uri, body)
                #expect(answer.status == 400, "\(uri): \(answer.json)")
                #expect((answer.json["detail"] as? String ?? "").contains("NUL"), "\(uri): \(answer.json)")
            }
            let still = try await boss.call(client, .get, "/v1/approvals/\(approval)")
            #expect(still.json["status"] as? String == "pending", "\(still.json)")
            #expect((try await alice.call(client, .get, "/v1/schedules").json["schedules"] as? [Any])?.isEmpty == true)
        }
    }

    /// A caller-chosen X-Request-Id never collapses decisions: each is audited.
    @Test func everyDecisionIsAuditedWhateverTheRequestID() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let bob = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "bob"))
        try await app.test(.router) { client in
            let same: HTTPFields = [.init("X-Request-Id")!: "shared-request"]
            for caller in [alice, bob, alice] {
                let answer = try await caller.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#, headers: same)
                #expect(answer.status == 202)
            }
            let denied: HTTPFields = [.init("X-Request-Id")!: "shared-denial"]
            for caller in [alice, bob, alice] {
                let answer = try await caller.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"gmail.send"}"#, headers: denied)
                #expect(answer.status == 403)
            }
            for (request, count) in [("shared-request", 3), ("shared-denial", 3)] {
                let page = try await gateway.auditStore.query(
                    tenant: fixture.tenant, filter: .init(actionType: AuditEvent.ActionType.policyDecision, requestID: request))
                #expect(page.records.count == count, "\(request)")
            }
        }
    }

    /// A body that is declared larger than the limit is refused at once; one that stalls
    /// times out; neither holds its connection.
    @Test func lyingAndStalledBodiesAreAnsweredAtOnce() async throws {
        let fixture = try await GatewayFixture.make()
        let token = try await fixture.issuer.token(tenant: fixture.tenant, user: "alice")
        // A declared length over the limit is refused without waiting for the body (the body
        // deadline is far off, so only the limit can answer).
        let (patient, patientGateway) = try fixture.application { $0.bodyTimeout = .seconds(60) }
        try await fixture.provisionPolicies(patientGateway)
        try await patient.test(.live) { client in
            let huge = try await RawHTTP.exchange(
                port: try #require(client.port),
                "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{}",
                timeout: 30)
            #expect(huge.hasPrefix("HTTP/1.1 413"), "\(huge.prefix(200))")
        }
        // A body that stops coming is answered 408 once its deadline passes.
        let (app, gateway) = try fixture.application { $0.bodyTimeout = .milliseconds(500) }
        try await fixture.provisionPolicies(gateway)
        try await app.test(.live) { client in
            let stalled = try await RawHTTP.exchange(
                port: try #require(client.port),
                "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"kind\"",
                timeout: 20)
            #expect(stalled.hasPrefix("HTTP/1.1 408"), "\(stalled.prefix(200))")
            #expect(stalled.contains("application/problem+json") && stalled.contains("request-timeout"), "\(stalled)")
        }
    }

    /// Every Redis failure is a 503 `queue-unavailable` with Retry-After, never a 500.
    @Test func aLostRedisIsA503Everywhere() async throws {
        let fixture = try await GatewayFixture.make()
        let redis = try await PrivateRedis()
        let (app, gateway) = try fixture.application { $0.fleet.redisURL = redis.url }
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let queued = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
            let id = try #require(queued.json["id"] as? String)
            await redis.stop()
            // A read goes on without the rate limiter, and meets Redis in the job store.
            let read = try await alice.call(client, .get, "/v1/jobs/\(id)")
            #expect(read.status == 503, "\(read.json)")
            #expect(read.json["type"] as? String == "https://openclaw.dev/problems/queue-unavailable")
            #expect(read.headers[.retryAfter] != nil)
        }
    }

    /// A queue that refuses one tenant's jobs fails those only: the other tenant's jobs batched
    /// with them are queued and answered 202, with no `job.not_queued`; every refused job has its
    /// `job.not_queued`. And a Redis error reply is a 503, not a 500.
    @Test func aRefusedEnqueueFailsOnlyItsOwnJobsInASharedBatch() async throws {
        let fixture = try await GatewayFixture.make()
        let other = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        try await other.provisionPolicies(gateway)
        try await gateway.redis.send("SET", RedisKeys.stream(tenant: fixture.tenant, kind: .noop), "not a stream")
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let carol = APIClient(token: try await fixture.issuer.token(tenant: other.tenant, user: "carol"))
        try await app.test(.router) { client in
            let answers = try await withThrowingTaskGroup(of: (String, Int, String?).self) { group in
                for index in 0..<40 {
                    let (who, caller) = index % 2 == 0 ? ("alice", alice) : ("carol", carol)
                    group.addTask {
                        let answer = try await caller.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#)
                        return (who, answer.status, answer.json["type"] as? String)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.filter { $0.0 == "carol" }.allSatisfy { $0.1 == 202 }, "\(answers.filter { $0.0 == "carol" && $0.1 != 202 })")
            #expect(answers.filter { $0.0 == "alice" }.allSatisfy { $0.1 == 503 }, "\(answers.filter { $0.0 == "alice" && $0.1 != 503 })")
            #expect(answers.filter { $0.0 == "alice" }.allSatisfy { $0.2 == "https://openclaw.dev/problems/queue-unavailable" })
            #expect(try await gateway.redis.send("XLEN", RedisKeys.stream(tenant: other.tenant, kind: .noop)).int == 20)
            let carols = try await gateway.auditStore.query(tenant: other.tenant, filter: .init(actionType: "job.not_queued"))
            #expect(carols.records.isEmpty, "queued jobs audited as not queued")
            let alices = try await gateway.auditStore.query(tenant: fixture.tenant, filter: .init(actionType: "job.not_queued"))
            #expect(alices.records.count == 20)
            #expect(try await gateway.redis.send("ZCARD", RedisKeys.admissions).int == 0, "nothing is left to reconcile")
            // An Idempotency-Key lookup meeting an error reply is a 503 too.
            try await gateway.redis.send("DEL", RedisKeys.stream(tenant: fixture.tenant, kind: .noop))
            let keyed = try await alice.call(
                client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#, headers: [.init("Idempotency-Key")!: "k-1"])
            #expect(keyed.status == 202)
            let stored = try await gateway.redis.send("KEYS", "*idem*").array?.compactMap(\.string) ?? []
            for key in stored {
                try await gateway.redis.send("DEL", key)
                try await gateway.redis.send("SADD", key, "x")
            }
            let broken = try await alice.call(
                client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#, headers: [.init("Idempotency-Key")!: "k-1"])
            #expect(!stored.isEmpty && broken.status == 503, "\(stored) \(broken.json)")
        }
    }

    /// A job's submission decides every action the job takes: an auto-responder's reply needs
    /// the approval its sending needs, and a reply cannot be submitted under the read that
    /// drafts one.
    @Test func aKindCannotSkipTheGateOfItsDangerousAction() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let admin = Identity(tenant: fixture.tenant, user: "boss", roles: [.enterpriseAdmin])
        var actions = GatewayFixture.enterpriseActions.objectValue!
        actions["model.call"] = .object(["autonomy": .string("autonomous")])
        actions["autorespond.send"] = .object(["autonomy": .string("approve")])
        actions["gmail.send"] = .object(["autonomy": .string("notify")])
        // Any data may go to a model here: what is left to decide is the sending.
        _ = try await gateway.policies.save(
            by: admin, scope: .enterprise, scopeID: "*", domain: .models,
            content: .object(["external_max_classification": .string("restricted")]),
            changeReason: "test")
        _ = try await gateway.policies.save(
            by: admin, scope: .enterprise, scopeID: "*", domain: .integrations,
            content: .object(["write": .array([.string("autorespond.send"), .string("gmail.send")])]), changeReason: "test")
        let saved = try await gateway.policies.save(
            by: admin, scope: .enterprise, scopeID: "*", domain: .actions, content: .object(actions), changeReason: "test")
        try await gateway.policySync.push(fixture.tenant, revision: saved.revision)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let underRead = try await alice.call(
                client, .post, "/v1/jobs",
                #"{"kind":"auto-responder","action":"gmail.read","payload":{"channel":"gmail","message_id":"m1","draft":"On it."}}"#)
            #expect(underRead.status == 400, "\(underRead.json)")
            let answer = try await alice.call(
                client, .post, "/v1/jobs",
                #"{"kind":"auto-responder","action":"autorespond.send","payload":{"channel":"gmail","message_id":"m1","draft":"On it."}}"#
            )
            #expect(answer.status == 202, "\(answer.json)")
            #expect(answer.json["status"] as? String == "awaiting_approval", "\(answer.json)")
            #expect((answer.json["reason"] as? String)?.contains("autorespond.send") == true, "\(answer.json)")
        }
    }

    /// A caller may raise the level of a job's data, never lower it below the default.
    @Test func aBodyCannotLowerAClassification() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let lowered = try await alice.call(
                client, .post, "/v1/jobs",
                #"{"kind":"connector-sync","action":"gmail.read","payload":{"connector":"gmail"},"classification":"public"}"#)
            #expect(lowered.status == 400)
            #expect((lowered.json["detail"] as? String)?.contains("never lower") == true, "\(lowered.json)")
            let noop = try await alice.call(client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run","classification":"internal"}"#)
            #expect(noop.status == 400, "noop data is restricted by default: \(noop.json)")
        }
    }

    /// An allowed decision whose job never reached the queue is audited as `job.not_queued`:
    /// at once when the enqueue fails, and by reconciliation when the process died in between.
    @Test func anAllowedJobThatNeverReachedTheQueueIsAudited() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        // The tenant's stream is not a stream: the enqueue fails after the decision is audited.
        try await gateway.redis.send("SET", RedisKeys.stream(tenant: fixture.tenant, kind: .noop), "not a stream")
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let answer = try await alice.call(
                client, .post, "/v1/jobs", #"{"kind":"noop","action":"noop.run"}"#, headers: [.init("Idempotency-Key")!: "retry-me"])
            #expect(answer.status == 503, "\(answer.json)")
            let notQueued = try await gateway.auditStore.query(tenant: fixture.tenant, filter: .init(actionType: "job.not_queued"))
            #expect(notQueued.records.count == 1)
            #expect(notQueued.records.first?.event.actionDetail.contains("retry-me") == true)
            try await gateway.redis.send("DEL", RedisKeys.stream(tenant: fixture.tenant, kind: .noop))
        }

        // As if a Dispatcher died between the audited decision and the enqueue.
        let (app2, gateway2) = try fixture.application()
        try await fixture.provisionPolicies(gateway2)
        try await app2.test(.router) { client in
            let tomorrow = ISOTime.format(milliseconds: Clock.milliseconds() + 86_400_000)
            let body = #"{"kind":"noop","action":"noop.run","run_at":"\#(tomorrow)"}"#
            let orphan = try #require(try await alice.call(client, .post, "/v1/jobs", body).json["id"] as? String)
            let arrived = try #require(try await alice.call(client, .post, "/v1/jobs", body).json["id"] as? String)
            try await gateway2.redis.send("DEL", RedisKeys.job(tenant: fixture.tenant, id: orphan))
            // Admitted together, long enough ago that no enqueue can still be under way: one
            // member names the batch, of which one job is queued after all.
            let admitted = String(Clock.milliseconds() - 200_000)
            let batch = "\(fixture.tenant.rawValue)/\(orphan) \(fixture.tenant.rawValue)/\(arrived)"
            try await gateway2.redis.send("ZADD", RedisKeys.admissions, admitted, batch)
            try await GatewayDuties(gateway: gateway2).reconcileAdmissions()
            let reconciled = try await gateway2.auditStore.query(tenant: fixture.tenant, filter: .init(actionType: "job.not_queued"))
            #expect(reconciled.records.contains { $0.event.actionDetail.contains(orphan) })
            #expect(!reconciled.records.contains { $0.event.actionDetail.contains(arrived) }, "a queued job audited as not queued")
            #expect(try await gateway2.redis.send("ZCARD", RedisKeys.admissions).int == 0)
        }
    }
}

/// One HTTP/1.1 exchange over a plain socket, for requests a client library would not send.
enum RawHTTP {
    /// Sends `request` as is on a new connection and returns the first bytes answered ("" when
    /// nothing came within `timeout` seconds). The blocking socket calls run off the pool.
    static func exchange(port: Int, _ request: String, timeout: Double) async throws -> String {
        try await offPool { try blockingExchange(port: port, request, timeout: timeout) }
    }

    private static func blockingExchange(port: Int, _ request: String, timeout: Double) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw FleetError(.internal, "cannot connect to port \(port)") }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        _ = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let received = recv(fd, &buffer, buffer.count, 0)
        return received > 0 ? String(decoding: buffer[0..<received], as: UTF8.self) : ""
    }
}
