import Foundation
import TestSupport
import Testing

@testable import PostgresClient

@Suite struct PostgresValueTests {
    @Test func timestampsAndHexAndArrays() {
        #expect(PostgresTimestamp(microseconds: 0).postgresText == "1970-01-01 00:00:00.000000+00")
        #expect(PostgresTimestamp(microseconds: 1_700_000_000_123_456).postgresText == "2023-11-14 22:13:20.123456+00")
        #expect(PostgresTimestamp(microseconds: -1).postgresText == "1969-12-31 23:59:59.999999+00")
        #expect(Hex.decode("\\x00ff10") == [0, 255, 16])
        #expect(Hex.encode([0, 255, 16]) == "00ff10")
        #expect(Hex.decode("abc") == nil)
        #expect(PostgresArray(["a", nil, "b\"c\\d"]).postgresText == #"{"a",NULL,"b\"c\\d"}"#)
    }

    @Test func urlsAreValidatedAndRedacted() {
        #expect(throws: PostgresError.self) { try PostgresClient(url: "mysql://x@y/z") }
        #expect(PostgresConnection.redacted("postgres://app:secret@db:5432/x") == "postgres://app:***@db:5432/x")
    }
}

@Suite struct PostgresClientTests {
    /// A pooled connection whose server side went away (as in a PostgreSQL restart) is found
    /// before it fails a request: the next statement and the next transaction just work.
    @Test func aConnectionTheServerClosedIsReplacedBeforeItFailsAStatement() async throws {
        // The application role is made by the migrations.
        try await TestDatabase.migrated()
        let pool = try TestDatabase.app(size: 1)
        let admin = try TestDatabase.admin()
        defer {
            pool.close()
            admin.close()
        }
        for _ in 0..<2 {
            let pid = try #require(try await pool.query("SELECT pg_backend_pid() AS pid").first?.int("pid"))
            try await admin.query("SELECT pg_terminate_backend($1, 60000)", [pid])
            // Terminated once the backend is gone (the call waits for it), so its end is closed.
            let answer = try await pool.query("SELECT pg_backend_pid() AS pid").first?.int("pid")
            #expect(answer != nil && answer != pid)
        }
        let pid = try #require(try await pool.query("SELECT pg_backend_pid() AS pid").first?.int("pid"))
        try await admin.query("SELECT pg_terminate_backend($1, 60000)", [pid])
        try await Task.sleep(for: .milliseconds(200))
        let inTransaction = try await pool.transaction { try await $0.query("SELECT 7 AS n").first?.int("n") }
        #expect(inTransaction == 7)
    }

    @Test func parametersRoundTripAsValuesNeverAsSQL() async throws {
        let database = try TestDatabase.admin()
        defer { database.close() }
        let tricky = "'; DROP TABLE pg_class; -- ünïcödé \u{1F600}"
        let rows = try await database.query(
            "SELECT $1::text AS text, $2::bigint AS number, $3::text IS NULL AS missing, $4::bytea AS bytes, $5::timestamptz AS at, $6::text[] AS list",
            [
                tricky, Int64.max, String?.none, PostgresBytes([0, 1, 2, 255]), PostgresTimestamp(microseconds: 1_700_000_000_000_001),
                PostgresArray(["x,y", "\"q\"", nil]),
            ])
        let row = try #require(rows.first)
        #expect(row.string("text") == tricky)
        #expect(row.int64("number") == Int64.max)
        #expect(row.bool("missing") == true)
        #expect(row.bytes("bytes") == [0, 1, 2, 255])
        #expect(row.string("at")?.hasPrefix("2023-11-14") == true)
        #expect(row.string("list") == #"{"x,y","\"q\"",NULL}"#)
    }

    @Test func serverErrorsCarrySQLState() async throws {
        let database = try TestDatabase.admin()
        defer { database.close() }
        await #expect {
            try await database.query("SELECT * FROM no_such_table_anywhere")
        } throws: { error in
            (error as? PostgresError)?.sqlState == "42P01"
        }
        // The connection is still usable.
        #expect(try await database.query("SELECT 1 AS one").first?.int("one") == 1)
    }

    @Test func transactionsCommitOrRollBack() async throws {
        let database = try TestDatabase.admin(size: 1)
        defer { database.close() }
        let table = "pg_test_\(UInt32.random(in: 0...UInt32.max))"
        try await database.withConnection { connection in
            try await connection.query("CREATE TEMP TABLE \(table) (v integer)")
            _ = try await connection.transaction { try await $0.query("INSERT INTO \(table) VALUES (1)") }
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await connection.transaction { connection in
                    try await connection.query("INSERT INTO \(table) VALUES (2)")
                    throw Boom()
                }
            }
            #expect(try await connection.query("SELECT count(*) AS n FROM \(table)").first?.int("n") == 1)
        }
    }

    /// Settings made with `BEGIN` hold for the transaction only; their values are values, never
    /// SQL; a setting refused by the server leaves no transaction open behind it.
    @Test func transactionLocalSettingsComeWithBegin() async throws {
        let database = try TestDatabase.admin(size: 1)
        defer { database.close() }
        try await database.withConnection { connection in
            let hostile = "x'; DROP TABLE nothing; --"
            let seen = try await connection.transaction(settings: [("application_name", hostile), ("search_path", "pg_catalog")]) {
                try await $0.query("SELECT current_setting('application_name') AS a, current_setting('search_path') AS s").first
            }
            #expect(seen?.string("a") == hostile)
            #expect(seen?.string("s") == "pg_catalog")
            #expect(try await connection.query("SELECT current_setting('search_path') AS s").first?.string("s") != "pg_catalog")
            await #expect(throws: PostgresError.self) {
                try await connection.transaction(settings: [("role", "no_such_role_\(UInt32.random(in: 0...UInt32.max))")]) { _ in 1 }
            }
            // Not left inside the failed transaction.
            #expect(try await connection.query("SELECT 1 AS one").first?.int("one") == 1)
        }
    }

    /// One statement with its settings, `BEGIN` and `COMMIT` in one round trip: it commits, its
    /// settings hold for it alone, and a statement or setting that fails leaves nothing behind
    /// (no row, no open transaction) and says why.
    @Test func aStatementInOneTripIsATransactionOfItsOwn() async throws {
        let database = try TestDatabase.admin(size: 1)
        defer { database.close() }
        let table = "pg_trip_\(UInt32.random(in: 0...UInt32.max))"
        try await database.withConnection { connection in
            try await connection.query("CREATE TEMP TABLE \(table) (v integer PRIMARY KEY, app text)")
            let hostile = "x'; DROP TABLE nothing; --"
            let inserted = try await connection.query(
                "INSERT INTO \(table) VALUES ($1, current_setting('application_name')) RETURNING v, app", [7],
                settings: [("application_name", hostile)])
            #expect(inserted.first?.int("v") == 7 && inserted.first?.string("app") == hostile)
            #expect(try await connection.query("SELECT current_setting('application_name') AS a").first?.string("a") != hostile)
            let duplicate = await #expect(throws: PostgresError.self) {
                try await connection.query("INSERT INTO \(table) VALUES ($1, 'again')", [7], settings: [("application_name", "t")])
            }
            #expect(duplicate?.sqlState == "23505" && duplicate?.code == .server)
            // The violated index is named apart from the (possibly translated) message.
            #expect(duplicate?.constraint == "\(table)_pkey")
            await #expect(throws: PostgresError.self) {
                try await connection.query(
                    "INSERT INTO \(table) VALUES ($1, 'x')", [8], settings: [("role", "no_such_role_\(UInt32.random(in: 0...UInt32.max))")])
            }
            #expect(try await connection.query("SELECT count(*) AS n FROM \(table)").first?.int("n") == 1)
            // The connection goes on, outside any transaction, its statements in order.
            #expect(try await connection.query("SELECT 1 AS one", [], settings: []).first?.int("one") == 1)
            #expect(try await connection.query("SELECT 2 AS two").first?.int("two") == 2)
        }
    }

    /// Several statements, each with its own settings, as one transaction in one round trip:
    /// each answers its rows with the settings made for it; one that fails leaves nothing of
    /// any of them behind.
    @Test func severalStatementsInOneTripAreOneTransaction() async throws {
        let database = try TestDatabase.admin(size: 1)
        defer { database.close() }
        let table = "pg_trips_\(UInt32.random(in: 0...UInt32.max))"
        try await database.withConnection { connection in
            try await connection.query("CREATE TEMP TABLE \(table) (v integer PRIMARY KEY, app text)")
            let insert = "INSERT INTO \(table) VALUES ($1, current_setting('application_name')) RETURNING v, app"
            let answers = try await connection.transactionInOneTrip([
                PostgresStep(insert, [1], settings: [("application_name", "first")]),
                PostgresStep("SELECT count(*) AS n FROM \(table)", []),
                PostgresStep(insert, [2], settings: [("application_name", "second")]),
            ])
            #expect(answers.count == 3)
            #expect(answers[0].first?.string("app") == "first" && answers[2].first?.string("app") == "second")
            #expect(answers[1].first?.int("n") == 1)
            let duplicate = await #expect(throws: PostgresError.self) {
                try await connection.transactionInOneTrip([
                    PostgresStep(insert, [3], settings: [("application_name", "third")]), PostgresStep(insert, [1]),
                ])
            }
            #expect(duplicate?.sqlState == "23505" && duplicate?.constraint == "\(table)_pkey")
            let rows = try await connection.query("SELECT v, app FROM \(table) ORDER BY v")
            #expect(rows.map { $0.int("v") } == [1, 2])
            #expect(try await connection.transactionInOneTrip([]).isEmpty)
        }
    }

    @Test func aLeasedConnectionServesOneTaskAtATime() async throws {
        let database = try TestDatabase.admin(size: 2)
        defer { database.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await database.transaction { connection in
                        try await connection.query("SELECT set_config('test.value', $1, true)", [String(index)])
                        try await Task.sleep(for: .milliseconds(Int.random(in: 0...3)))
                        let seen = try await connection.query("SELECT current_setting('test.value') AS v").first?.string("v")
                        #expect(seen == String(index))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func preparedStatementsArePreparedOncePerConnectionAndAgainAfterAReconnect() async throws {
        let database = try TestDatabase.admin(size: 1)
        let admin = try TestDatabase.admin(size: 1)
        defer {
            database.close()
            admin.close()
        }
        for value in 1...3 {
            let row = try await database.query(prepared: "SELECT $1::int * 2 AS doubled, pg_backend_pid() AS pid", [value]).first
            #expect(row?.int("doubled") == value * 2)
        }
        let statements = try await database.query("SELECT count(*) AS n FROM pg_prepared_statements").first?.int("n")
        #expect(statements == 1)
        let pid = try await database.query("SELECT pg_backend_pid() AS pid").first?.int("pid") ?? 0
        try await admin.query("SELECT pg_terminate_backend($1, 60000)", [pid])
        try await Task.sleep(for: .milliseconds(200))
        // A new session has none of the old one's statements: it prepares again.
        #expect(
            try await database.query(prepared: "SELECT $1::int * 2 AS doubled, pg_backend_pid() AS pid", [21]).first?.int("doubled") == 42)
        await #expect(throws: PostgresError.self) { try await database.query(prepared: "SELECT nonsense FROM nowhere", []) }
        #expect(
            try await database.query(prepared: "SELECT $1::int * 2 AS doubled, pg_backend_pid() AS pid", [5]).first?.int("doubled") == 10)
    }

    /// A statement with parameters that runs a second time on a connection is prepared, in one
    /// trip too; it reads the tables of the search path it runs under (tenants share statement
    /// texts), survives its table's columns changing under it (a migration), and statements
    /// whose text is built per call stop being prepared at the limit.
    @Test func statementsThatRunAgainArePreparedAndFollowTheSearchPathAndTableChanges() async throws {
        let database = try TestDatabase.admin(size: 1)
        defer { database.close() }
        let suffix = UInt32.random(in: 0...UInt32.max)
        let (first, second) = ("prep_a_\(suffix)", "prep_b_\(suffix)")
        try await database.withConnection { connection in
            for (schema, value) in [(first, "in a"), (second, "in b")] {
                try await connection.query("CREATE SCHEMA \(schema)")
                try await connection.query("CREATE TABLE \(schema).things (id integer PRIMARY KEY, label text)")
                try await connection.query("INSERT INTO \(schema).things VALUES (1, $1)", [value])
            }
            func prepared() async throws -> Int {
                try await connection.query("SELECT count(*) AS n FROM pg_prepared_statements").first?.int("n") ?? -1
            }
            let before = try await prepared()
            let read = "SELECT * FROM things WHERE id = $1"
            for round in 0..<4 {
                for (schema, value) in [(first, "in a"), (second, "in b")] {
                    let rows = try await connection.query(read, [1], settings: [("search_path", schema)])
                    #expect(rows.first?.string("label") == value, "round \(round) in \(schema)")
                }
            }
            #expect(try await prepared() == before + 2)  // the settings' statement and the read
            let plain = "SELECT label FROM \(first).things WHERE id = $1"
            for _ in 0..<3 { #expect(try await connection.query(plain, [1]).first?.string("label") == "in a") }
            #expect(try await prepared() == before + 3)

            // The table changes its columns under the prepared statements: both still answer.
            try await connection.query("ALTER TABLE \(first).things ADD COLUMN added integer DEFAULT 5")
            let changed = try await connection.query(read, [1], settings: [("search_path", first)]).first
            #expect(changed?.string("label") == "in a" && changed?.int("added") == 5)
            try await connection.query("ALTER TABLE \(first).things ALTER COLUMN label TYPE varchar(20)")
            #expect(try await connection.query(plain, [1]).first?.string("label") == "in a")

            // Text built per call: prepared only up to the limit.
            for round in 0..<2 {
                for index in 0..<(PostgresConnection.automaticLimit + 20) {
                    let one = try await connection.query("SELECT $1::int + \(index) AS n", [round]).first?.int("n")
                    #expect(one == index + round)
                }
            }
            #expect(try await prepared() <= before + 5 + PostgresConnection.automaticLimit)
            for schema in [first, second] { try await connection.query("DROP SCHEMA \(schema) CASCADE") }
        }
    }

    @Test func unreachableServerFailsClearly() async throws {
        let database = try PostgresClient(url: "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", size: 1)
        defer { database.close() }
        await #expect {
            try await database.query("SELECT 1")
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.code == .connection && error.message.contains("cannot connect to PostgreSQL")
        }
    }
}
