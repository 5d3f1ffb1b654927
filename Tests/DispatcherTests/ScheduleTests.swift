import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresClient
import RedisClient
import TestSupport
import Testing

@testable import Dispatcher

@Suite struct CronTests {
    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    @Test func dailyAtLocalTime() throws {
        let cron = try CronExpression("0 8 * * *")
        #expect(cron.next(after: date("2026-11-25T06:00:00Z"), in: berlin) == date("2026-11-25T07:00:00Z"))
        #expect(cron.next(after: date("2026-11-25T07:00:00Z"), in: berlin) == date("2026-11-26T07:00:00Z"))
        // Across the switch to summer time (2026-03-29) 08:00 Berlin moves from 07:00Z to 06:00Z.
        #expect(cron.next(after: date("2026-03-28T07:00:00Z"), in: berlin) == date("2026-03-29T06:00:00Z"))
        // And back to winter time (2026-10-25).
        #expect(cron.next(after: date("2026-10-24T06:00:00Z"), in: berlin) == date("2026-10-25T07:00:00Z"))
    }

    @Test func daylightSavingGapsAndRepeatsFireOnce() throws {
        // 02:30 does not exist on 2026-03-29 in Berlin: it fires right after the gap, once.
        let gap = try CronExpression("30 2 * * *")
        let spring = gap.next(after: date("2026-03-28T12:00:00Z"), in: berlin)!
        #expect(spring >= date("2026-03-29T01:00:00Z") && spring <= date("2026-03-29T01:30:00Z"))
        #expect(gap.next(after: spring, in: berlin)! > date("2026-03-30T00:00:00Z"))
        // 02:30 happens twice on 2026-10-25: it fires once.
        let first = gap.next(after: date("2026-10-24T12:00:00Z"), in: berlin)!
        #expect(first == date("2026-10-25T00:30:00Z"))
        #expect(gap.next(after: first, in: berlin)! > date("2026-10-26T00:00:00Z"))
    }

    @Test func fieldsListsRangesStepsAndNames() throws {
        let utc = TimeZone(identifier: "UTC")!
        let weekdays = try CronExpression("*/15 9-17 * * mon-fri")
        #expect(weekdays.next(after: date("2026-11-28T10:00:00Z"), in: utc) == date("2026-11-30T09:00:00Z"))  // Saturday → Monday
        #expect(try CronExpression("@hourly").next(after: date("2026-11-25T10:20:00Z"), in: utc) == date("2026-11-25T11:00:00Z"))
        #expect(try CronExpression("0 0 1,15 * *").next(after: date("2026-11-02T00:00:00Z"), in: utc) == date("2026-11-15T00:00:00Z"))
        for bad in ["", "* * * *", "61 * * * *", "* * * * 9", "*/0 * * * *", "5-1 * * * *"] {
            #expect(throws: CronExpression.CronError.self) { try CronExpression(bad) }
        }
    }
}

@Suite struct SchedulerTests {
    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    /// Creates an hourly schedule through the API and moves its next occurrence to `due`.
    func scheduleDue(
        _ fixture: GatewayFixture, _ client: some TestClientProtocol, _ gateway: Gateway, due: Date,
        body: String = #"{"cron":"0 * * * *","time_zone":"Europe/Berlin","job":{"kind":"noop","action":"noop.run"}}"#
    ) async throws -> String {
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        let created = try await alice.call(client, .post, "/v1/schedules", body)
        #expect(created.status == 201, "\(created.json)")
        let id = try #require(created.json["id"] as? String)
        _ = try await gateway.tenants.session(fixture.tenant) { connection in
            try await connection.query("UPDATE schedules SET next_fire_at = $2 WHERE id = $1", [id, PostgresTimestamp(due)])
        }
        try await gateway.redis.send(
            RedisCommand("ZADD", [RedisKeys.scheduleIndex, String(Clock.milliseconds(due)), "\(fixture.tenant.rawValue)/\(id)"]))
        return id
    }

    @Test func occurrencesThatCannotFireDoNotHoldUpTheOthers() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        try await app.test(.router) { client in
            // A full page of older due entries that can never fire (their tenant does not exist):
            // they are dropped, and the schedule behind them fires.
            let past = Clock.milliseconds() - 3_600_000
            for index in 0..<100 {
                try await gateway.redis.send(
                    RedisCommand("ZADD", [RedisKeys.scheduleIndex, String(past + Int64(index)), "ghost/\(index)"]))
            }
            _ = try await scheduleDue(fixture, client, gateway, due: Date().addingTimeInterval(-60))
            try await gateway.scheduleRunner.fireDue()
            #expect(await eventually { (try? await fixture.queued(gateway)) == 1 })
            let stillDue = try await gateway.redis.send(
                RedisCommand("ZRANGEBYSCORE", [RedisKeys.scheduleIndex, "-inf", String(Clock.milliseconds())]))
            #expect(
                (stillDue.array ?? []).compactMap(\.string).filter { $0.hasPrefix("ghost/") }.isEmpty, "failed entries were not put back")
        }
    }

    /// Each creation holds a transaction while it audits: more of them at once than the
    /// gateway has database connections must not wait on each other. Waiting on each other would
    /// hang for good; the limit leaves room for a slow machine running the whole suite at once.
    @Test(.timeLimit(.minutes(5))) func moreConcurrentCreationsThanConnectionsAllFinish() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        try await alice.call(
                            client, .post, "/v1/schedules",
                            #"{"cron":"0 8 * * *","time_zone":"UTC","job":{"kind":"noop","action":"noop.run"}}"#
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 201, count: 100), "\(statuses)")
        }
    }

    @Test func aLostIndexIsRestoredFromPostgreSQL() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        try await app.test(.router) { client in
            let id = try await scheduleDue(fixture, client, gateway, due: Date().addingTimeInterval(3600))
            let member = "\(fixture.tenant.rawValue)/\(id)"
            let score = try await gateway.redis.send(RedisCommand("ZSCORE", [RedisKeys.scheduleIndex, member])).string.flatMap(Double.init)
            try await gateway.redis.send(RedisCommand("DEL", [RedisKeys.scheduleIndex]))
            try await gateway.scheduleRunner.reindex(tenants: [fixture.tenant])
            let restored = try await gateway.redis.send(RedisCommand("ZSCORE", [RedisKeys.scheduleIndex, member])).string.flatMap(
                Double.init)
            // The same time, to the millisecond PostgreSQL's microseconds round to.
            #expect(abs((restored ?? 0) - (score ?? -10)) <= 1, "\(String(describing: restored)) vs \(String(describing: score))")
        }
    }

    @Test func threeDispatchersFireEachOccurrenceOnce() async throws {
        let fixture = try await GatewayFixture.make()
        let dispatchers = try (0..<3).map { _ in try fixture.application() }
        try await fixture.provisionPolicies(dispatchers[0].gateway)
        for dispatcher in dispatchers.dropFirst() { try await dispatcher.gateway.policySync.syncOnce() }
        let gateways = dispatchers.map(\.gateway)
        // The three Dispatchers run their own scheduler loops (every 100 ms) while serving.
        try await dispatchers[0].application.test(.router) { client in
            try await dispatchers[1].application.test(.router) { _ in
                try await dispatchers[2].application.test(.router) { _ in
                    let id = try await scheduleDue(fixture, client, gateways[0], due: Date().addingTimeInterval(-1))
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for gateway in gateways {
                            group.addTask { for _ in 0..<5 { try await gateway.scheduleRunner.fireDue() } }
                        }
                        try await group.waitForAll()
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    #expect(try await fixture.queued(gateways[0]) == 1)
                    let row = try await gateways[0].tenants.session(fixture.tenant) { connection in
                        try await connection.query(
                            "SELECT next_fire_at > now() AS future, last_fired_at IS NOT NULL AS fired FROM schedules WHERE id = $1", [id]
                        ).first
                    }
                    #expect(row?.bool("future") == true)
                    #expect(row?.bool("fired") == true)
                }
            }
        }
    }

    /// A user's weekday briefing at 08:00 in Berlin: 07:00Z in winter, 06:00Z in summer, the
    /// weekend skipped; two Dispatchers firing it at once queue one briefing job.
    @Test func aBriefingAtEightInBerlinFiresOnceAcrossTwoDispatchersAndAcrossDaylightSaving() async throws {
        let cron = try CronExpression("0 8 * * 1-5")
        #expect(cron.next(after: date("2027-03-26T07:00:00Z"), in: berlin) == date("2027-03-29T06:00:00Z"))
        #expect(cron.next(after: date("2026-10-23T06:00:00Z"), in: berlin) == date("2026-10-26T07:00:00Z"))
        let fixture = try await GatewayFixture.make()
        let dispatchers = try (0..<2).map { _ in try fixture.application() }
        let gateways = dispatchers.map(\.gateway)
        try await fixture.provisionPolicies(gateways[0])
        var actions = GatewayFixture.enterpriseActions.objectValue ?? [:]
        actions["gcal.read"] = .object(["autonomy": .string("autonomous")])
        let saved = try await gateways[0].policies.save(
            by: Identity(tenant: fixture.tenant, user: "boss", org: "", team: "", roles: [.enterpriseAdmin]), scope: .enterprise,
            scopeID: "*", domain: .actions, content: .object(actions), changeReason: "briefings read the calendar")
        for gateway in gateways {
            try await gateway.policySync.syncOnce()
            try await gateway.policySync.push(fixture.tenant, revision: saved.revision)
        }
        try await dispatchers[0].application.test(.router) { client in
            try await dispatchers[1].application.test(.router) { _ in
                let id = try await scheduleDue(
                    fixture, client, gateways[0], due: Date().addingTimeInterval(-1),
                    body:
                        #"{"cron":"0 8 * * 1-5","time_zone":"Europe/Berlin","job":{"kind":"briefing","action":"gcal.read","payload":{"time_zone":"Europe/Berlin"}}}"#
                )
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for gateway in gateways { group.addTask { for _ in 0..<5 { try await gateway.scheduleRunner.fireDue() } } }
                    try await group.waitForAll()
                }
                try await Task.sleep(for: .milliseconds(300))
                let stream = RedisKeys.stream(tenant: fixture.tenant, kind: .briefing)
                #expect(try await gateways[0].redis.send("XLEN", stream).int == 1)
                // The next occurrence is the next weekday's 08:00 in Berlin.
                let next = try await gateways[0].tenants.session(fixture.tenant) { connection in
                    try await connection.query(
                        "SELECT extract(epoch FROM next_fire_at)::float8 AS at FROM schedules WHERE id = $1", [id]
                    ).first?.double("at")
                }
                let expected = cron.next(after: Date(), in: berlin)?.timeIntervalSince1970
                #expect(
                    next.map { abs($0 - (expected ?? 0)) < 1 } == true, "\(String(describing: next)) vs \(String(describing: expected))")
            }
        }
    }

    @Test func aMissedScheduleCatchesUpOnceAfterDowntime() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        try await app.test(.router) { client in
            // Hourly, but the Dispatchers were down for five hours.
            _ = try await scheduleDue(fixture, client, gateway, due: Date().addingTimeInterval(-5 * 3600))
            for _ in 0..<5 { try await gateway.scheduleRunner.fireDue() }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await fixture.queued(gateway) == 1)
        }
    }

    @Test func schedulesAreCheckedAndValidated() async throws {
        let fixture = try await GatewayFixture.make()
        let (app, gateway) = try fixture.application()
        try await fixture.provisionPolicies(gateway)
        let alice = APIClient(token: try await fixture.issuer.token(tenant: fixture.tenant, user: "alice"))
        try await app.test(.router) { client in
            #expect(
                try await alice.call(
                    client, .post, "/v1/schedules",
                    #"{"cron":"0 8 * * *","time_zone":"Mars/Olympus","job":{"kind":"noop","action":"noop.run"}}"#
                ).status == 400)
            #expect(
                try await alice.call(
                    client, .post, "/v1/schedules", #"{"cron":"99 8 * * *","time_zone":"UTC","job":{"kind":"noop","action":"noop.run"}}"#
                ).status == 400)
            let denied = try await alice.call(
                client, .post, "/v1/schedules", #"{"cron":"0 8 * * *","time_zone":"UTC","job":{"kind":"noop","action":"gmail.read"}}"#)
            #expect(denied.status == 403, "\(denied.json)")
            let created = try await alice.call(
                client, .post, "/v1/schedules",
                #"{"cron":"0 8 * * *","time_zone":"Europe/Berlin","job":{"kind":"noop","action":"noop.run"}}"#)
            #expect(created.status == 201)
            let id = try #require(created.json["id"] as? String)
            #expect(try await alice.call(client, .get, "/v1/schedules/\(id)").status == 200)
            #expect(try await alice.call(client, .delete, "/v1/schedules/\(id)").status == 204)
            #expect(try await alice.call(client, .get, "/v1/schedules").json["schedules"] as? [Any] != nil)
        }
    }
}
