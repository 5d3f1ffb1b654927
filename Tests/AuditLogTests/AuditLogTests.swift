import AuditLog
import Contracts
import Foundation
import PostgresClient
import Synchronization
import TestSupport
import Testing

@Suite struct MigrationTests {
    @Test func migratingAgainIsANoOp() async throws {
        try await TestDatabase.migrated()
        let admin = try TestDatabase.admin()
        defer { admin.close() }
        let migrator = Migrator(database: admin)
        #expect(try await migrator.migrate().isEmpty)
        #expect(try await migrator.currentVersion() == Migrations.all.last!.version)
    }
}

@Suite struct AppendOnlyTests {
    @Test(arguments: [
        "UPDATE audit.entries SET user_id = 'x'", "DELETE FROM audit.entries", "TRUNCATE audit.entries",
        "UPDATE audit.event_keys SET event_key = 'x'", "DELETE FROM audit.event_keys",
    ])
    func applicationRoleCannotChangeTheLog(_ statement: String) async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        try await fixture.writer.append(fixture.event(1))
        await #expect {
            try await fixture.app.query(statement)
        } throws: { error in
            (error as? PostgresError)?.sqlState == "42501"
        }
    }

    @Test func evenTheOwnerIsStoppedByTheTriggers() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        try await fixture.writer.append(fixture.event(1))
        for statement in ["UPDATE audit.entries SET user_id = 'x' WHERE tenant_id = $1", "DELETE FROM audit.entries WHERE tenant_id = $1"] {
            await #expect {
                try await fixture.admin.query(statement, [fixture.tenant.rawValue])
            } throws: { error in
                (error as? PostgresError)?.message.contains("append-only") == true
            }
        }
        await #expect(throws: PostgresError.self) { try await fixture.admin.query("TRUNCATE audit.entries") }
        let partitions = try await fixture.admin.query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit.entries'::regclass LIMIT 1"
        )
        let partition = try #require(partitions.first?.string("relname"))
        await #expect(throws: PostgresError.self) { try await fixture.admin.query("TRUNCATE audit.\(partition)") }
    }
}

@Suite struct ChainTests {
    @Test func appendsFormAVerifiableChainPerTenant() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let other = TestEnvironment.tenant("b")
        try await withThrowingDiscardingTaskGroup { group in
            for index in 0..<200 {
                group.addTask { try await fixture.writer.append(fixture.event(index, tenant: index % 2 == 0 ? fixture.tenant : other)) }
            }
        }
        let mine = try await fixture.store.verify(tenant: fixture.tenant)
        let theirs = try await fixture.store.verify(tenant: other)
        #expect(mine.isIntact, "\(mine)")
        #expect(theirs.isIntact, "\(theirs)")
        #expect(mine.checked == 100 && theirs.checked == 100)
        #expect(mine.firstSeq == 1 && mine.lastSeq == 100)
        let head = try await fixture.store.head(tenant: fixture.tenant)
        #expect(head.seq == 100)
    }

    @Test func twoWritersOnOneTenantKeepOneChain() async throws {
        // Two processes appending to the same chain: each one's batches chain on heads the
        // other moves, so some are redone from locked heads; the chain never forks.
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let (other, otherDatabase) = try fixture.otherProcess()
        defer { otherDatabase.close() }
        for round in 0..<50 {
            async let mine: Void = fixture.writer.append(fixture.event(2 * round))
            async let theirs: Void = other.append(fixture.event(2 * round + 1))
            _ = try await (mine, theirs)
        }
        // Many appends in flight in both, each writer with two batches at once chained ahead
        // of their commits: batches meet moved heads, are chained again and retried.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 100..<600 {
                let (writer, event) = (index % 2 == 0 ? fixture.writer : other, fixture.event(index))
                group.addTask { try await writer.append(event) }
            }
            try await group.waitForAll()
        }
        let report = try await fixture.store.verify(tenant: fixture.tenant)
        #expect(report.isIntact, "\(report)")
        #expect(report.checked == 600 && report.lastSeq == 600)
    }

    /// A tenant's first batch in a process (its head not known there yet) is chained again on
    /// the head as it is without counting as contention: the writer keeps two batches in
    /// flight. Another process moving a head this one knew counts: one batch at a time.
    @Test func aTenantsFirstBatchHereIsNoContentionButAnotherWritersAppendIs() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let (other, otherDatabase) = try fixture.otherProcess()
        defer { otherDatabase.close() }
        try await other.append(fixture.event(0))
        try await fixture.writer.append(fixture.event(1))
        #expect(fixture.writer.concurrentFlushes == 2, "a head not known here is no contention")
        try await other.append(fixture.event(2))
        try await fixture.writer.append(fixture.event(3))
        #expect(fixture.writer.concurrentFlushes == 1, "a head known here moved: another process appends")
        let report = try await fixture.store.verify(tenant: fixture.tenant)
        #expect(report.isIntact && report.checked == 4, "\(report)")
    }

    @Test func aCopiedBatchBehindAOneStatementBatchWithTheSameKeyDoesNotHang() async throws {
        // The one-statement batch claims its keys when its statement runs; the copied batch
        // chained behind it must not claim the same key first and then wait for its turn.
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        try await fixture.writer.append(fixture.event(0))  // heads known: small batches go in one statement
        for round in 0..<20 {
            let shared = "shared-\(round)"
            let big = (1...(AuditWriter.oneStatementLimit + 20)).map { fixture.event($0, key: $0 == 1 ? shared : nil) }
            let done = Finished()
            let writer = fixture.writer
            let single = fixture.event(0, key: shared)
            Task {
                try await writer.append(single)
                done.count.add(1, ordering: .relaxed)
            }
            Task {
                try await writer.append(big)
                done.count.add(1, ordering: .relaxed)
            }
            // A hang must fail the test, not stall the suite: poll instead of awaiting.
            let deadline = ContinuousClock.now + .seconds(120)
            while done.count.load(ordering: .relaxed) < 2 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            guard done.count.load(ordering: .relaxed) == 2 else {
                Issue.record("round \(round): the two appends did not finish within 20 s")
                return
            }
        }
        let report = try await fixture.store.verify(tenant: fixture.tenant)
        #expect(report.isIntact, "\(report)")
        #expect(report.checked == 1 + 20 * (AuditWriter.oneStatementLimit + 20))
    }

    @Test func valuesNeedingEscapesSurviveEveryWritePath() async throws {
        // Small batches go in one statement (array parameters), large ones by COPY: both must
        // store exactly what was hashed.
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        func odd(_ index: Int) -> AuditEvent {
            var event = fixture.event(index, user: "user \"q\" \\ {a,b} tab\tnew\nline é", request: "req,{1}")
            event.actionDetail = #"{"text": "quote \" backslash \\ brace } comma , tab \t", "n": \#(index)}"#
            event.policyReason = "NULL"
            return event
        }
        try await fixture.writer.append(odd(0))
        try await fixture.writer.append((1...3).map(odd))
        try await fixture.writer.append((4..<(AuditWriter.oneStatementLimit + 10)).map(odd))
        let report = try await fixture.store.verify(tenant: fixture.tenant)
        #expect(report.isIntact, "\(report)")
        let page = try await fixture.store.query(tenant: fixture.tenant, filter: .init(requestID: "req,{1}"), limit: 5)
        #expect(page.records.first?.event.userID == "user \"q\" \\ {a,b} tab\tnew\nline é")
        #expect(page.records.first?.event.policyReason == "NULL")
    }

    @Test func anEventKeyWrittenTwiceIsStoredOnce() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        try await fixture.writer.append([fixture.event(1, key: "job:X/1/job.started"), fixture.event(2, key: "job:X/1/job.started")])
        try await fixture.writer.append(fixture.event(3, key: "job:X/1/job.started"))
        try await fixture.writer.append(fixture.event(4, key: "job:X/1/job.succeeded"))
        let page = try await fixture.store.query(tenant: fixture.tenant)
        #expect(page.records.map(\.event.eventKey).sorted() == ["job:X/1/job.started", "job:X/1/job.succeeded"])
        #expect(try await fixture.store.verify(tenant: fixture.tenant).isIntact)
        // The key written before failed the one statement, and the batch was redone; the one
        // statement is still what batches are written with.
        #expect(fixture.writer.writesBatchesInOneStatement)
    }

    @Test func jobDeliveredTwiceLeavesItsLifecycleEventsOnce() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let job = JobEnvelope(tenant: fixture.tenant, kind: .noop, action: .noopRun, requester: Requester(user: "u1"))
        let delivery = [JobLifecycleEvent.Name.started, .succeeded].map { JobLifecycleEvent(name: $0, job: job, attempt: 1) }
        let redelivery = [JobLifecycleEvent.Name.started, .succeeded].map { JobLifecycleEvent(name: $0, job: job, attempt: 2) }
        try await fixture.writer.append(delivery.map(AuditEvent.init(lifecycle:)))
        try await fixture.writer.append(redelivery.map(AuditEvent.init(lifecycle:)))
        let page = try await fixture.store.query(tenant: fixture.tenant, filter: .init(requestID: job.requestID))
        #expect(page.records.map(\.event.actionType).sorted() == ["job.started", "job.succeeded"])
    }

    @Test func alteredDeletedAndInsertedEntriesAreNamed() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let altered = TestEnvironment.tenant("alt")
        let deleted = TestEnvironment.tenant("del")
        let inserted = TestEnvironment.tenant("ins")
        for tenant in [altered, deleted, inserted] {
            try await fixture.writer.append((1...10).map { fixture.event($0, tenant: tenant) })
        }
        try await fixture.tamper(
            "UPDATE audit.entries SET action_detail = '{\"n\": 999}' WHERE tenant_id = $1 AND seq = 4", [altered.rawValue])
        try await fixture.tamper("DELETE FROM audit.entries WHERE tenant_id = $1 AND seq = 6", [deleted.rawValue])
        try await fixture.tamper(
            """
            INSERT INTO audit.entries SELECT tenant_id, seq, id || 'X', event_key || 'X', ts, user_id, action_type, action_detail,
                data_accessed, model_used, model_tokens, data_classification, policy_applied, policy_result, policy_reason, outcome,
                request_id, prev_hash, hash FROM audit.entries WHERE tenant_id = $1 AND seq = 8
            """, [inserted.rawValue])
        let reportAltered = try await fixture.store.verify(tenant: altered)
        #expect(reportAltered.problem?.seq == 4, "\(reportAltered)")
        #expect(reportAltered.problem?.reason.contains("altered") == true)
        let reportDeleted = try await fixture.store.verify(tenant: deleted)
        #expect(reportDeleted.problem?.seq == 6, "\(reportDeleted)")
        let reportInserted = try await fixture.store.verify(tenant: inserted)
        #expect(reportInserted.problem?.seq == 8, "\(reportInserted)")
    }

    /// An entry appended behind the application's back with a correct chain (its head not
    /// moved, as only the application moves it) is caught, with or without a checkpoint, and a
    /// verify against a checkpoint says how many entries came since.
    @Test func aForgedAppendPastTheStoredHeadIsCaught() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let key = try AuditCheckpoint.key(from: [AuditCheckpoint.keyVariable: "test-key-0123456789abcdef"])
        let tenant = TestEnvironment.tenant("forge")
        try await fixture.writer.append((1...5).map { fixture.event($0, tenant: tenant) })
        let checkpoint = try await AuditCheckpoint.capture(store: fixture.store, tenants: [tenant], key: key)[0]
        try await fixture.writer.append((6...7).map { fixture.event($0, tenant: tenant) })
        let honest = try await fixture.store.verify(tenant: tenant, checkpoint: checkpoint)
        #expect(honest.isIntact, "\(honest)")
        #expect(honest.entriesPastCheckpoint == 2)
        let last = try await fixture.store.chain(tenant: tenant, afterSeq: 6)[0]
        var forged = fixture.event(99, tenant: tenant, user: "mallory")
        forged.eventKey = "forged"
        let hash = AuditChain.hash(forged, seq: 8, prevHash: last.hash)
        try await fixture.admin.query(
            """
            INSERT INTO audit.entries (tenant_id, seq, id, event_key, ts, user_id, action_type, action_detail, data_accessed, model_used,
                model_tokens, data_classification, policy_applied, policy_result, policy_reason, outcome, request_id, prev_hash, hash)
            VALUES ($1, 8, $2, 'forged', to_timestamp($3::double precision / 1000000), 'mallory', $4, $5::json, $6::json, $7, $8, 'internal',
                'enterprise/actions', 'allow', 'allowed', 'success', 'req-1', $9, $10)
            """,
            [
                tenant.rawValue, forged.id, forged.timestamp, forged.actionType, forged.actionDetail, forged.dataAccessedJSON,
                forged.modelUsed, forged.modelTokens, PostgresBytes(last.hash), PostgresBytes(hash),
            ])
        #expect(try await fixture.store.chain(tenant: tenant, afterSeq: 7).first?.hash == hash, "the forged entry chains correctly")
        let caught = try await fixture.store.verify(tenant: tenant)
        #expect(caught.problem?.seq == 8, "\(caught)")
        #expect(caught.problem?.reason.contains("past the stored chain head") == true)
        #expect(try await fixture.store.verify(tenant: tenant, checkpoint: checkpoint).isIntact == false)
    }

    @Test func checkpointsCatchTruncationAndConsistentRewrites() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let key = try AuditCheckpoint.key(from: [AuditCheckpoint.keyVariable: "test-key-0123456789abcdef"])
        let truncated = TestEnvironment.tenant("trunc")
        let rewritten = TestEnvironment.tenant("rewr")
        for tenant in [truncated, rewritten] { try await fixture.writer.append((1...10).map { fixture.event($0, tenant: tenant) }) }
        let checkpoints = try await AuditCheckpoint.capture(store: fixture.store, tenants: [truncated, rewritten], key: key)
        #expect(checkpoints.allSatisfy { $0.isAuthentic(key: key) })
        var forged = checkpoints[0]
        forged.seq = 3
        #expect(!forged.isAuthentic(key: key))
        let roundTrip = try AuditCheckpoint.read(Data(checkpoints.map(\.jsonLine).joined(separator: "\n").utf8))
        #expect(roundTrip == checkpoints)

        // Truncate the last three entries and fix up the head: the chain itself still verifies.
        try await fixture.tamper("DELETE FROM audit.entries WHERE tenant_id = $1 AND seq > 7", [truncated.rawValue])
        let remaining = try await fixture.store.chain(tenant: truncated, afterSeq: 6, limit: 1)
        try await fixture.tamper(
            "UPDATE audit.chain_heads SET seq = 7, hash = $2 WHERE tenant_id = $1", [truncated.rawValue, PostgresBytes(remaining[0].hash)])
        #expect(try await fixture.store.verify(tenant: truncated).isIntact)
        let caught = try await fixture.store.verify(tenant: truncated, checkpoint: roundTrip[0])
        #expect(!caught.isIntact)
        #expect(caught.problem?.reason.contains("truncated") == true, "\(caught)")

        // Rewrite every entry consistently (new content, recomputed hashes).
        var records = try await fixture.store.chain(tenant: rewritten, afterSeq: 0)
        var previous = AuditChain.genesis
        for index in records.indices {
            records[index].event.userID = "someone-else"
            records[index].prevHash = previous
            records[index].hash = AuditChain.hash(records[index].event, seq: records[index].seq, prevHash: previous)
            previous = records[index].hash
            try await fixture.tamper(
                "UPDATE audit.entries SET user_id = $3, prev_hash = $4, hash = $5 WHERE tenant_id = $1 AND seq = $2",
                [
                    rewritten.rawValue, records[index].seq, "someone-else", PostgresBytes(records[index].prevHash),
                    PostgresBytes(records[index].hash),
                ])
        }
        try await fixture.tamper(
            "UPDATE audit.chain_heads SET hash = $2 WHERE tenant_id = $1", [rewritten.rawValue, PostgresBytes(previous)])
        #expect(try await fixture.store.verify(tenant: rewritten).isIntact)
        let rewrite = try await fixture.store.verify(tenant: rewritten, checkpoint: roundTrip[1])
        #expect(rewrite.problem?.seq == 10, "\(rewrite)")
    }
}

/// One entry PostgreSQL refuses never fails the entries it shared a batch with.
@Suite struct AuditIsolationTests {
    @Test func aRefusedEntryFailsAloneAndOtherTenantsEntriesAreWritten() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let bad = TestEnvironment.tenant("bad")
        let good = TestEnvironment.tenant("good")
        var unparsable = fixture.event(1, tenant: bad)
        unparsable.actionDetail = "{not json"
        let broken = unparsable
        let results = try await withThrowingTaskGroup(of: (Bool, Bool).self) { group in
            for index in 0..<60 {
                group.addTask {
                    if index == 30 {
                        do {
                            try await fixture.writer.append(broken)
                            return (true, true)
                        } catch {
                            return (true, false)
                        }
                    }
                    try await fixture.writer.append(fixture.event(index, tenant: good))
                    return (false, true)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { !$0.0 }.count == 59)
        #expect(results.first { $0.0 }?.1 == false, "the entry PostgreSQL refuses is not reported written")
        #expect(try await fixture.store.verify(tenant: good).checked == 59)
        // A NUL reaches no batch: it is stored as U+FFFD and the chain verifies.
        let withNUL = AuditEvent(
            tenant: good, userID: "u\u{0}1", actionType: "tool_invocation", policyReason: "why\u{0}", outcome: .success, requestID: "r\u{0}"
        )
        try await fixture.writer.append(withNUL)
        #expect(try await fixture.store.verify(tenant: good).isIntact)
    }
}

@Suite struct ReadSideTests {
    @Test func queryFiltersAndPaginates() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let base = AuditEvent.now() - 3_600_000_000
        var events: [AuditEvent] = []
        for index in 0..<30 {
            events.append(
                fixture.event(
                    index, user: index % 3 == 0 ? "alice" : "bob",
                    action: index % 5 == 0 ? AuditEvent.ActionType.modelCall : "tool_invocation",
                    at: base + Int64(index) * 1_000_000, request: "req-\(index % 4)"))
        }
        try await fixture.writer.append(events)
        var seen: [Int64] = []
        var cursor: String?
        repeat {
            let page = try await fixture.store.query(tenant: fixture.tenant, filter: .init(userID: "alice"), limit: 4, cursor: cursor)
            seen += page.records.map(\.seq)
            #expect(page.records.allSatisfy { $0.event.userID == "alice" })
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen.count == 10)
        #expect(seen == seen.sorted(by: >))
        let models = try await fixture.store.query(tenant: fixture.tenant, filter: .init(actionType: AuditEvent.ActionType.modelCall))
        #expect(models.records.count == 6)
        let window = try await fixture.store.query(
            tenant: fixture.tenant, filter: .init(from: base + 10_000_000, to: base + 20_000_000))
        #expect(window.records.count == 10)
        let request = try await fixture.store.query(tenant: fixture.tenant, filter: .init(requestID: "req-1"))
        #expect(request.records.count == 8)
        let otherTenant = try await fixture.store.query(tenant: TestEnvironment.tenant(), filter: .init(requestID: "req-1"))
        #expect(otherTenant.records.isEmpty)
        #expect(try await fixture.store.query(tenant: fixture.tenant, filter: .init(outcome: .denied)).records.isEmpty)
    }

    @Test func exportRoundTripsThroughVerify() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let base = AuditEvent.now() - 600_000_000
        try await fixture.writer.append((0..<50).map { fixture.event($0, at: base + Int64($0) * 1_000_000) })
        var text = ""
        let count = try await AuditExport.export(
            store: fixture.store, tenant: fixture.tenant, from: base + 10_000_000, to: base + 40_000_000, format: .jsonl
        ) { text += $0 }
        #expect(count == 30)
        let reports = try AuditExport.verify(jsonLines: text)
        #expect(reports.count == 1 && reports[0].isIntact && reports[0].checked == 30, "\(reports)")
        #expect(reports[0].firstSeq == 11)
        // Any edit of the file is caught.
        let edited = text.replacingOccurrences(of: #"\"n\": 20"#, with: #"\"n\": 21"#)
        #expect(edited != text)
        #expect(try AuditExport.verify(jsonLines: edited)[0].problem?.seq == 21)
        var csv = ""
        try await AuditExport.export(store: fixture.store, tenant: fixture.tenant, from: nil, to: nil, format: .csv) { csv += $0 }
        #expect(csv.split(separator: "\n").count == 51)
        #expect(csv.hasPrefix("tenant_id,seq,id,event_key"))
    }
}

@Suite struct TenantIsolationTests {
    /// Two new tenants with their schemas, and the owner's and the application's clients.
    static func twoTenants(_ prefix: String) async throws -> (admin: PostgresClient, app: PostgresClient, a: TenantID, b: TenantID) {
        try await TestDatabase.migrated()
        let admin = try TestDatabase.admin()
        let app = try TestDatabase.app()
        let a = TestEnvironment.tenant(prefix)
        let b = TestEnvironment.tenant(prefix)
        try await TenantDirectory(database: admin).create(a)
        try await TenantDirectory(database: admin).create(b)
        return (admin, app, a, b)
    }

    @Test func tenantsCannotReachEachOthersStateTables() async throws {
        let (admin, app, a, b) = try await Self.twoTenants("iso")
        defer {
            admin.close()
            app.close()
        }
        try await TenantDirectory(database: admin).create(b)  // idempotent
        let tenants = TenantDirectory(database: app)
        _ = try await tenants.session(a) { connection in
            try await connection.query("INSERT INTO tasks (id, title, owner_user) VALUES ('t1', 'secret of A', 'u1')")
        }
        let own = try await tenants.session(a) { try await $0.query("SELECT title FROM tasks").first?.string("title") }
        #expect(own == "secret of A")
        #expect(try await tenants.session(b) { try await $0.query("SELECT count(*) AS n FROM tasks").first?.int("n") } == 0)
        await #expect {
            try await tenants.session(b) { try await $0.query("SELECT title FROM \(a.schemaName).tasks") }
        } throws: { error in
            (error as? PostgresError)?.sqlState == "42501"
        }
        // The application role itself has no direct access either.
        await #expect(throws: PostgresError.self) { try await app.query("SELECT title FROM \(a.schemaName).tasks") }
        #expect(try await tenants.exists(a))
    }

    /// Statements of several tenants in one transaction name the tables by schema (each
    /// tenant's statement a text of its own, prepared for it) and run each as its tenant's role,
    /// the search path left as it is; the role still keeps each statement to its own tenant's
    /// tables.
    @Test func statementsOfSeveralTenantsRunAsEachRoleWithTheSearchPathUnchanged() async throws {
        let (admin, app, a, b) = try await Self.twoTenants("trip")
        defer {
            admin.close()
            app.close()
        }
        let tenants = TenantDirectory(database: app)
        let path = try await app.query("SELECT current_setting('search_path') AS path").first?.string("path")
        let insert = { (tenant: TenantID, title: String) in
            (
                tenant: tenant,
                sql: "INSERT INTO \(TenantDirectory.table("tasks", of: tenant)) (id, title, owner_user) VALUES ($1, $2, 'u1')",
                parameters: ["t1", title] as [any PostgresBindable]
            )
        }
        let asked = "SELECT current_user::text AS role, current_setting('search_path') AS path"
        let rows = try await tenants.queryInOneTransaction([
            insert(a, "of A"), (a, asked, []), insert(b, "of B"), (b, asked, []),
        ])
        #expect(rows[1].first?.string("role") == a.schemaName)
        #expect(rows[3].first?.string("role") == b.schemaName)
        #expect(rows[1].first?.string("path") == path)
        #expect(rows[3].first?.string("path") == path)
        #expect(try await tenants.session(a) { try await $0.query("SELECT title FROM tasks").first?.string("title") } == "of A")
        #expect(try await tenants.session(b) { try await $0.query("SELECT title FROM tasks").first?.string("title") } == "of B")
        // A statement naming another tenant's table is refused, and the whole transaction with it.
        await #expect {
            try await tenants.queryInOneTransaction([
                (a, "UPDATE \(TenantDirectory.table("tasks", of: a)) SET title = 'changed'", []),
                (b, "SELECT title FROM \(TenantDirectory.table("tasks", of: a))", []),
            ])
        } throws: { error in
            (error as? PostgresError)?.sqlState == "42501"
        }
        #expect(try await tenants.session(a) { try await $0.query("SELECT title FROM tasks").first?.string("title") } == "of A")
    }

    /// A tenant's tables change through versioned tenant migrations: a new tenant is at the
    /// latest version, a tenant created before versioning (version 0) is brought there, and
    /// applying them again changes nothing.
    @Test func tenantSchemasAreVersioned() async throws {
        try await TestDatabase.migrated()
        let admin = try TestDatabase.admin()
        defer { admin.close() }
        let directory = TenantDirectory(database: admin)
        let fresh = TestEnvironment.tenant("mig")
        try await directory.create(fresh)
        #expect(try await directory.schemaVersions()[fresh] == TenantMigrations.latest)
        #expect(try await directory.migrate(fresh).isEmpty)
        // As a tenant created before tenant schemas were versioned.
        let old = TestEnvironment.tenant("mig")
        try await directory.create(old)
        try await admin.query("UPDATE openclaw_meta.tenants SET schema_version = 0 WHERE tenant_id = $1", [old.rawValue])
        #expect(try await directory.migrate(old) == TenantMigrations.all.map(\.version))
        #expect(try await directory.schemaVersions()[old] == TenantMigrations.latest)
        // No planner statistics are gathered on the stored documents (jsonb columns).
        let gathered = try await admin.query(
            """
            SELECT count(*) FILTER (WHERE a.attstattarget <> 0) AS gathered, count(*) AS documents FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND a.atttypid = 'jsonb'::regtype AND a.attnum > 0 AND NOT a.attisdropped
            """, [old.schemaName]
        ).first
        #expect(gathered?.int("documents") ?? 0 > 10)
        #expect(gathered?.int("gathered") == 0)
        // The tenant's role can use what the migrations made.
        let app = try TestDatabase.app()
        defer { app.close() }
        let count = try await TenantDirectory(database: app).session(old) {
            try await $0.query("SELECT count(*) AS n FROM tasks").first?.int("n")
        }
        #expect(count == 0)
    }

    @Test func longTenantIdsGetValidSchemaNames() throws {
        let long = try TenantID(String(repeating: "a", count: 40) + "-" + String(repeating: "b", count: 22))
        #expect(long.schemaName.utf8.count <= 63)
        #expect(long.schemaName.hasPrefix("t_aaaa"))
    }
}

@Suite struct RetentionTests {
    @Test func retentionIsAtLeastAYearAndDetachNeedsAnArchive() async throws {
        try await TestDatabase.migrated()
        let admin = try TestDatabase.admin()
        defer { admin.close() }
        #expect(throws: FleetError.self) { try AuditRetention(database: admin, retentionMonths: 6) }
        let retention = try AuditRetention(database: admin, retentionMonths: 12)
        let thisMonth = String(ISO8601DateFormatter().string(from: Date()).prefix(7))
        await #expect {
            try await retention.detach(month: thisMonth)
        } throws: { error in
            (error as? FleetError)?.message.contains("retention") == true
        }
        await #expect {
            try await retention.detach(month: "2001-01")
        } throws: { error in
            (error as? FleetError)?.message.contains("not archived") == true
        }
        #expect(try await retention.partitions().contains { $0.month == thisMonth })
    }
}

@Suite struct WriterCrashTests {
    @Test func aKilledWriterLosesNothingItAcknowledged() async throws {
        let fixture = try await AuditFixture.make()
        defer { fixture.close() }
        let writer = try ChildProcess(
            executable: TestEnvironment.binDirectory.appendingPathComponent("Bench").path,
            arguments: [
                "audit-writer", "--database-url", TestDatabase.appURL, "--tenant", fixture.tenant.rawValue, "--count", "1000000",
                "--concurrency", "64",
            ])
        let started = await eventually(timeout: .seconds(180)) { writer.output.split(separator: "\n").count >= 3000 }
        #expect(started, "\(writer.output.suffix(500))")
        writer.signal(SIGKILL)
        _ = await writer.waitForExit()
        // Only whole lines: the last one may have been cut by the kill.
        let text = writer.output
        let acknowledged = text.split(separator: "\n").dropLast(text.hasSuffix("\n") ? 0 : 1).map(String.init)
        #expect(acknowledged.count >= 3000)
        let found = try await fixture.app.query(
            """
            SELECT count(DISTINCT e.event_key) AS n FROM audit.entries e JOIN unnest($2::text[]) AS u(event_key) USING (event_key)
            WHERE e.tenant_id = $1
            """, [fixture.tenant.rawValue, PostgresArray(acknowledged)])
        #expect(found.first?.int("n") == acknowledged.count)
        let report = try await fixture.store.verify(tenant: fixture.tenant)
        #expect(report.isIntact, "\(report)")
        #expect(report.checked >= acknowledged.count)
    }
}

/// Counts appends that finished, for tests that must not wait forever on a hang.
final class Finished: Sendable {
    let count = Atomic<Int>(0)
}
