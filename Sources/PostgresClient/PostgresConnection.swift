import CLibPQ
import FleetConcurrency
import Foundation
import Logging
import Synchronization

/// One libpq connection, served by a lane of the process's blocking executor: libpq calls
/// block, so they never run on Swift's cooperative pool. A connection is leased to one task at a
/// time by `PostgresClient`; its statements run in order on its lane. A broken connection is
/// re-established on the next statement.
public final class PostgresConnection: @unchecked Sendable {
    // @unchecked Sendable: `connection` and `prepared` are used only by work on the lane (one
    // item at a time).
    private let url: String
    private let logger: Logger
    private let lane: BlockingLane
    private let isClosed = Atomic<Bool>(false)
    private var connection: OpaquePointer?
    /// Statements prepared on `connection` (SQL text to statement name); emptied on reconnect.
    private var prepared: [String: String] = [:]
    /// Texts of statements with parameters run once unprepared: the second run prepares them.
    private var seenOnce: Set<String> = []
    /// Numbers the statements prepared on this connection: a name is never reused, not even
    /// after `forgetPrepared` (the forgotten statements stay on the server).
    private var nextStatement = 0
    /// Statements prepared automatically per connection at most: past it, text that is built
    /// per call (and would never run twice) is not kept in the server's memory.
    static let automaticLimit = 256

    init(url: String, executor: BlockingExecutor = .shared, logger: Logger) {
        self.url = url
        self.logger = logger
        self.lane = executor.lane()
    }

    /// Runs `sql` with `parameters` bound as `$1, $2, ...` and returns the rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRows {
        let texts = parameters.map(\.postgresText)
        return try await onLane { [self] in try execute(sql, texts, raw: false).rows! }
    }

    /// Like `query`, for a statement that is always the same text: prepared on this connection
    /// the first time, so PostgreSQL parses and plans it only once.
    @discardableResult
    public func query(prepared sql: StaticString, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRows {
        let text = sql.description
        let texts = parameters.map(\.postgresText)
        return try await onLane { [self] in try execute(text, texts, raw: false, prepare: true).rows! }
    }

    /// Like `query`, but returns the rows as one buffer (`PostgresRawRows`).
    public func queryRaw(_ sql: String, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRawRows {
        let texts = parameters.map(\.postgresText)
        return try await onLane { [self] in try execute(sql, texts, raw: true).raw! }
    }

    /// Runs a script of several statements without parameters. Only for SQL that ships with the
    /// program (migrations); anything carrying values goes through `query` and its parameters.
    public func executeScript(_ sql: StaticString) async throws {
        let text = sql.description
        _ = try await onLane { [self] in try execute(text, nil, raw: false) }
    }

    /// Streams `data` (COPY text format: tab-separated columns, `\N` for NULL, one row per line)
    /// into the statement `copy` (`COPY table (columns) FROM STDIN`); returns the rows copied.
    /// The fastest way to insert many rows; `PostgresCopyRows` builds the data.
    @discardableResult
    public func copyIn(_ copy: StaticString, data: [UInt8]) async throws -> Int {
        let sql = copy.description
        return try await onLane { [self] in try executeCopy(sql, data) }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction(settings: [], body)
    }

    /// Like `transaction`, with transaction-local settings (`set_config(name, value, true)`, such
    /// as a role and a search path) made in the same round trip as `BEGIN`.
    public func transaction<T: Sendable>(
        settings: [(name: String, value: String)], _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let calls = settings.map { "set_config(\(Self.literal($0.name)), \(Self.literal($0.value)), true)" }
        let script = calls.isEmpty ? "BEGIN" : "BEGIN; SELECT " + calls.joined(separator: ", ")
        do {
            _ = try await onLane { [self] in try execute(script, nil, raw: false) }
        } catch {
            _ = try? await query("ROLLBACK")
            throw error
        }
        do {
            let result = try await body(self)
            try await query("COMMIT")
            return result
        } catch {
            _ = try? await query("ROLLBACK")
            throw error
        }
    }

    /// Runs `sql` as a transaction of its own, with transaction-local `settings`, in one round
    /// trip: `BEGIN`, the settings, the statement and `COMMIT` are sent together (libpq's
    /// pipeline mode). A statement that fails leaves nothing behind (the transaction is rolled
    /// back) and throws its error.
    @discardableResult
    public func query(
        _ sql: String, _ parameters: [any PostgresBindable], settings: [(name: String, value: String)]
    ) async throws -> PostgresRows {
        try await transactionInOneTrip([PostgresStep(sql, parameters, settings: settings)])[0]
    }

    /// Runs `steps` as one transaction in one round trip: `BEGIN`, each step's
    /// transaction-local settings and statement in order, and `COMMIT`, sent together (libpq's
    /// pipeline mode). Returns each step's rows; when a statement fails, nothing of any step is
    /// left behind (the transaction is rolled back) and its error is thrown.
    @discardableResult
    public func transactionInOneTrip(_ steps: [PostgresStep]) async throws -> [PostgresRows] {
        guard !steps.isEmpty else { return [] }
        return try await onLane { [self] in
            // As for any statement: one that never reached a server that went away runs again.
            let wasIdle = connection.map { PQtransactionStatus($0) == PQTRANS_IDLE } ?? false
            do {
                return try executeInOneTrip(steps)
            } catch let error as PostgresError where error.code == .connection && wasIdle && connection == nil {
                logger.warning("PostgreSQL connection lost before the statement ran; running it on a fresh connection")
                return try executeInOneTrip(steps)
            } catch let error as PostgresError where Self.isStalePlan(error) && wasIdle {
                // Rolled back as a whole: run again, prepared afresh on the changed tables.
                forgetPrepared()
                return try executeInOneTrip(steps)
            }
        }
    }

    /// `text` as an SQL string literal (standard-conforming: only quotes are doubled; a NUL,
    /// which no setting can hold, is dropped rather than ending the script early).
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\u{0}", with: "").replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// Whether the connection is up (connecting if needed).
    public func isHealthy() async -> Bool {
        (try? await query("SELECT 1")) != nil
    }

    func close() {
        isClosed.store(true, ordering: .releasing)
        lane.submit { [self] in
            if let connection { PQfinish(connection) }
            connection = nil
        }
    }

    // MARK: - On the lane

    private func onLane<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if isClosed.load(ordering: .acquiring) {
            throw PostgresError(.closed, operation: "query", message: "the PostgreSQL client was shut down")
        }
        return try await lane.run(body)
    }

    private func connected(_ operation: @autoclosure () -> String) throws -> OpaquePointer {
        if let connection, PQstatus(connection) == CONNECTION_OK {
            // An idle connection whose server went away (a restart) is found before it fails a
            // statement: nothing should arrive on it between statements, so anything readable is
            // the server's goodbye or the end of the stream.
            guard PQtransactionStatus(connection) == PQTRANS_IDLE, Self.hasSomethingToRead(connection) else { return connection }
            logger.warning("PostgreSQL connection closed by the server; reconnecting")
        }
        if let connection { PQfinish(connection) }
        connection = nil
        guard let fresh = PQconnectdb(Self.withDefaults(url)) else {
            throw PostgresError(.connection, operation: operation(), message: "out of memory creating a connection")
        }
        guard PQstatus(fresh) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(fresh)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(fresh)
            throw PostgresError(
                .connection, operation: operation(), message: "cannot connect to PostgreSQL (\(Self.redacted(url))): \(message)")
        }
        // Server notices (e.g. "already exists, skipping") are not errors; keep them off stderr.
        PQsetNoticeProcessor(fresh, { _, _ in }, nil)
        connection = fresh
        prepared = [:]
        return fresh
    }

    /// Whether `connection`'s socket has bytes (or the end of the stream) waiting.
    private static func hasSomethingToRead(_ connection: OpaquePointer) -> Bool {
        let socket = PQsocket(connection)
        guard socket >= 0 else { return true }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    /// Runs `sql` with `parameters` (nil: a parameterless multi-statement script via PQexec).
    /// Outside a transaction, a statement that failed because the connection was lost never
    /// took effect on the server that is gone (after a restart): it is run once more on a fresh
    /// connection. Inside a transaction the failure stands; the caller's transaction fails.
    private func execute(
        _ sql: String, _ parameters: [String?]?, raw: Bool, prepare: Bool = false
    ) throws -> (
        rows: PostgresRows?, raw: PostgresRawRows?
    ) {
        // Only a connection that was up before can have been lost by a server that went away.
        let wasIdle = connection.map { PQtransactionStatus($0) == PQTRANS_IDLE } ?? false
        do {
            return try executeOnce(sql, parameters, raw: raw, prepare: prepare)
        } catch let error as PostgresError where error.code == .connection && wasIdle && connection == nil {
            logger.warning("PostgreSQL connection lost before the statement ran; running it on a fresh connection")
            return try executeOnce(sql, parameters, raw: raw, prepare: prepare)
        } catch let error as PostgresError where Self.isStalePlan(error) {
            // A table the statement was prepared on changed its columns (a migration): prepared
            // afresh from now on; outside a transaction, run again at once.
            forgetPrepared()
            guard wasIdle else { throw error }
            return try executeOnce(sql, parameters, raw: raw, prepare: prepare)
        }
    }

    private func executeOnce(
        _ sql: String, _ parameters: [String?]?, raw: Bool, prepare: Bool
    ) throws -> (
        rows: PostgresRows?, raw: PostgresRawRows?
    ) {
        // What the statement is, for messages: made only when there is one to give.
        var operation: String { parameters == nil ? "script" : String(sql.trimmingCharacters(in: .whitespacesAndNewlines).prefix(60)) }
        let connection = try connected(operation)
        var result: OpaquePointer?
        if let parameters {
            let name =
                prepare || worthPreparing(sql, parameters: parameters.count)
                ? try preparedName(sql, parameters: parameters.count, on: connection) : nil
            result = Self.withValues(parameters) { values in
                if let name { return PQexecPrepared(connection, name, Int32(parameters.count), values, nil, nil, 0) }
                return PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
        } else {
            result = PQexec(connection, sql)
        }
        guard let result else {
            let message = String(cString: PQerrorMessage(connection))
            dropIfBroken(connection)
            throw PostgresError(.connection, operation: operation, message: message)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            // Raw rows keep the result and free it later; everything else frees it here.
            if raw { return (nil, PostgresRawRows(result)) }
            defer { PQclear(result) }
            return (Self.rows(result), nil)
        default:
            defer { PQclear(result) }
            let failure = Self.failure(result, operation: operation, broken: PQstatus(connection) != CONNECTION_OK)
            dropIfBroken(connection)
            throw failure
        }
    }

    /// `steps` (each with its settings) between `BEGIN` and `COMMIT`, sent at once and read back
    /// at once; each step's rows.
    private func executeInOneTrip(_ steps: [PostgresStep]) throws -> [PostgresRows] {
        // What the statement is, for messages: made only when there is one to give (trimming
        // a long statement on every call cost more than sending it).
        var operation: String { String(steps[0].sql.trimmingCharacters(in: .whitespacesAndNewlines).prefix(60)) }
        let connection = try connected(operation)
        // Each statement with the step whose rows it answers (nil: BEGIN, settings, COMMIT).
        var statements: [(sql: String, parameters: [String?], step: Int?)] = [("BEGIN", [], nil)]
        for (index, step) in steps.enumerated() {
            if !step.settings.isEmpty {
                let calls = step.settings.indices.map { "set_config($\(2 * $0 + 1), $\(2 * $0 + 2), true)" }
                statements.append(("SELECT " + calls.joined(separator: ", "), step.settings.flatMap { [$0.name, $0.value] }, nil))
            }
            statements.append((step.sql, step.parameters, index))
        }
        statements.append(("COMMIT", [], nil))
        // What the server answers, in order: a statement prepared in this trip answers its
        // preparation first.
        var answers: [(preparing: (sql: String, name: String)?, step: Int?)] = []
        guard PQenterPipelineMode(connection) == 1 else {
            throw PostgresError(.connection, operation: operation, message: String(cString: PQerrorMessage(connection)))
        }
        var sent = true
        for statement in statements where sent {
            guard worthPreparing(statement.sql, parameters: statement.parameters.count) else {
                sent = Self.send(statement.sql, statement.parameters, on: connection)
                answers.append((nil, statement.step))
                continue
            }
            let name: String
            if let known = prepared[statement.sql] {
                name = known
            } else {
                name = newStatementName()
                sent = PQsendPrepare(connection, name, statement.sql, Int32(statement.parameters.count), nil) == 1
                answers.append(((statement.sql, name), nil))
            }
            if sent { sent = Self.send(prepared: name, statement.parameters, on: connection) }
            answers.append((nil, statement.step))
        }
        if sent { sent = PQpipelineSync(connection) == 1 }
        guard sent else {
            // What reached the server is unknown: this connection is not used again.
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            self.connection = nil
            throw PostgresError(.connection, operation: operation, message: message)
        }
        var rows: [PostgresRows?] = Array(repeating: nil, count: steps.count)
        var failure: PostgresError?
        for answer in answers {
            // Each statement's results end with a null; a failed one aborts those after it.
            while let result = PQgetResult(connection) {
                defer { PQclear(result) }
                switch PQresultStatus(result) {
                case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
                    if let preparing = answer.preparing { prepared[preparing.sql] = preparing.name }
                    if let step = answer.step { rows[step] = Self.rows(result) }
                case PGRES_PIPELINE_ABORTED: break
                default:
                    if failure == nil {
                        failure = Self.failure(result, operation: operation, broken: PQstatus(connection) != CONNECTION_OK)
                    }
                }
            }
            if PQstatus(connection) != CONNECTION_OK { break }
        }
        if PQstatus(connection) == CONNECTION_OK, let sync = PQgetResult(connection) { PQclear(sync) }
        guard PQstatus(connection) == CONNECTION_OK, PQexitPipelineMode(connection) == 1 else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            self.connection = nil
            throw failure ?? PostgresError(.connection, operation: operation, message: message)
        }
        // A failed statement leaves the transaction aborted, not ended.
        if PQtransactionStatus(connection) != PQTRANS_IDLE, let result = PQexec(connection, "ROLLBACK") { PQclear(result) }
        if let failure { throw failure }
        let answered = rows.compactMap { $0 }
        guard answered.count == steps.count else {
            throw PostgresError(.server, operation: operation, message: "a statement gave no result")
        }
        return answered
    }

    /// Queues `sql` with `parameters` on a connection in pipeline mode.
    private static func send(_ sql: String, _ parameters: [String?], on connection: OpaquePointer) -> Bool {
        withValues(parameters) { PQsendQueryParams(connection, sql, Int32(parameters.count), nil, $0, nil, nil, 0) == 1 }
    }

    /// Queues the statement prepared as `name` with `parameters` on a connection in pipeline mode.
    private static func send(prepared name: String, _ parameters: [String?], on connection: OpaquePointer) -> Bool {
        withValues(parameters) { PQsendQueryPrepared(connection, name, Int32(parameters.count), $0, nil, nil, 0) == 1 }
    }

    /// Calls `body` with `parameters` as libpq's array of C strings (NULL for SQL NULL).
    private static func withValues<T>(_ parameters: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
        var owned: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.flatMap { strdup($0) } }
        defer { for pointer in owned { free(pointer) } }
        owned.append(nil)
        return owned.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
        }
    }

    /// The error a failed result reports.
    private static func failure(_ result: OpaquePointer, operation: String, broken: Bool = false) -> PostgresError {
        let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
        func field(_ code: Character) -> String? { PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) } }
        return PostgresError(
            broken ? .connection : .server, operation: operation, message: message, sqlState: field("C"), constraint: field("n"))
    }

    /// Whether a statement with `parameters` is prepared without being asked to: one that was
    /// prepared before, or runs a second time, while fewer than `automaticLimit` are. Parsing
    /// and planning can cost more than running (a briefing's snapshot: 0.4 ms planned, 0.4 ms
    /// run); a prepared statement is parsed once and planned again only when PostgreSQL finds
    /// a generic plan as good, the tables change, or the search path (the tenant) does.
    private func worthPreparing(_ sql: String, parameters: Int) -> Bool {
        if prepared[sql] != nil { return true }
        guard parameters > 0, prepared.count < Self.automaticLimit else { return false }
        if seenOnce.count >= 4 * Self.automaticLimit { seenOnce.removeAll() }
        return !seenOnce.insert(sql).inserted
    }

    /// "cached plan must not change result type": a prepared statement's result columns
    /// changed under it.
    static func isStalePlan(_ error: PostgresError) -> Bool {
        error.code == .server && error.sqlState == "0A000" && error.message.contains("cached plan")
    }

    /// Stops using the statements prepared so far (they stay on the server under names never
    /// used again: dropping them needs a transaction that is not aborted).
    private func forgetPrepared() {
        prepared = [:]
        seenOnce = []
    }

    /// A statement name not used before on this connection.
    private func newStatementName() -> String {
        nextStatement += 1
        return "oc_\(nextStatement)"
    }

    /// The name `sql` is prepared under on `connection`, preparing it first if needed.
    private func preparedName(_ sql: String, parameters: Int, on connection: OpaquePointer) throws -> String {
        if let name = prepared[sql] { return name }
        let name = newStatementName()
        guard let result = PQprepare(connection, name, sql, Int32(parameters), nil) else {
            let message = String(cString: PQerrorMessage(connection))
            dropIfBroken(connection)
            throw PostgresError(.connection, operation: "prepare", message: message)
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw Self.failure(result, operation: "prepare") }
        prepared[sql] = name
        return name
    }

    private func executeCopy(_ sql: String, _ data: [UInt8]) throws -> Int {
        let operation = "copy"
        let connection = try connected(operation)
        guard let start = PQexec(connection, sql) else {
            dropIfBroken(connection)
            throw PostgresError(.connection, operation: operation, message: String(cString: PQerrorMessage(connection)))
        }
        let status = PQresultStatus(start)
        let startError = String(cString: PQresultErrorMessage(start))
        PQclear(start)
        guard status == PGRES_COPY_IN else {
            throw PostgresError(.server, operation: operation, message: startError.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        var sent = data.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32($0.count)) }
        }
        if sent == 1 { sent = PQputCopyEnd(connection, nil) }
        guard sent == 1 else {
            let message = String(cString: PQerrorMessage(connection))
            dropIfBroken(connection)
            throw PostgresError(.connection, operation: operation, message: message)
        }
        var copied = 0
        var failure: PostgresError?
        while let result = PQgetResult(connection) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                copied = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else if failure == nil {
                failure = Self.failure(result, operation: operation)
            }
            PQclear(result)
        }
        if let failure { throw failure }
        return copied
    }

    private func dropIfBroken(_ connection: OpaquePointer) {
        if PQstatus(connection) != CONNECTION_OK {
            PQfinish(connection)
            self.connection = nil
            logger.warning("PostgreSQL connection lost; reconnecting on next use")
        }
    }

    private static func rows(_ result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var values: [[String?]] = []
        values.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var fields: [String?] = []
            fields.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    fields.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(row), Int32(column)))
                    let pointer = PQgetvalue(result, Int32(row), Int32(column))!
                    fields.append(String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self))
                }
            }
            values.append(fields)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, values: values, affected: affected)
    }

    /// Adds a connect timeout unless the URL sets one.
    static func withDefaults(_ url: String) -> String {
        if url.contains("connect_timeout=") { return url }
        return url + (url.contains("?") ? "&" : "?") + "connect_timeout=5"
    }

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "invalid URL" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "invalid URL"
    }
}

/// One statement of a transaction sent in one round trip
/// (`PostgresConnection.transactionInOneTrip`), with the transaction-local settings made just
/// before it (`set_config(name, value, true)`, such as a role and a search path).
public struct PostgresStep: Sendable {
    public let sql: String
    let parameters: [String?]
    public let settings: [(name: String, value: String)]

    public init(_ sql: String, _ parameters: [any PostgresBindable], settings: [(name: String, value: String)] = []) {
        self.sql = sql
        self.parameters = parameters.map(\.postgresText)
        self.settings = settings
    }
}
