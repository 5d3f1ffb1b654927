import Contracts
import FleetConcurrency
import Foundation
import Logging
import PostgresClient
import Synchronization

/// Appends audit events, used by every process that audits.
///
/// Concurrent appends are group-committed, and two batches are in flight at once: while one
/// commits, the next is already chained and copied in. A writer that meets heads another
/// process moved (several processes auditing one tenant) flushes one batch at a time for a
/// while instead: its batches grow and take the tenant's head row fewer times. A batch is one
/// transaction, whatever its tenants: claim the event keys (an event whose key was written
/// before, e.g. by a redelivered job, is skipped), chain the new entries, COPY them, move the
/// chain heads.
///
/// Chaining is serialized (`Turnstile`) and starts from the head the previous batch left,
/// before that batch has committed. The head rows are locked in the same order, after the
/// COPY, and the head update is conditional on the head being exactly that: it waits for the
/// previous batch's commit and fails if that batch rolled back or another process appended
/// meanwhile; the batch then rolls back and is redone from the heads read under `FOR UPDATE`.
/// So chains never fork, whoever writes.
///
/// The common case takes one statement, committed on its own: every event key is new (a batch
/// of up to `oneStatementLimit` events). It is chained on the heads the batches before left,
/// waits for the batch before it to finish, then `audit.append_chained_new_keys` locks the heads, claims
/// the keys, inserts the entries and moves the heads together. A head another process moved
/// (or one this process did not know) is answered as it is, nothing written, and the batch is
/// chained again on it and retried at once; a key written before fails the statement as a
/// whole, and the batch is redone the careful way.
///
/// `append` returns only after the commit; while PostgreSQL is slow, at most `maxPending`
/// events wait and further callers wait for room.
public final class AuditWriter: Sendable {
    let database: PostgresClient
    let logger: Logger
    /// Per event: nil when it was written, else why it alone cannot be.
    private let commit: GroupCommit<AuditEvent, String?>
    /// The head each tenant's chain will have once the batches in flight commit.
    private let heads = Mutex<[TenantID: Head]>([:])
    private let chaining = Turnstile()
    private let locking = Turnstile()
    private let partitions = Mutex<Set<String>>([])
    /// Tenants whose head row is known to exist.
    private let headRows = Mutex<Set<TenantID>>([])
    /// Whether the batch chained last was a one-statement batch, whose event keys are claimed
    /// only when its statement runs (read and written in chaining turns).
    private let lastChainedInOneStatement = Mutex(false)
    /// Until when (ms since the epoch) batches flush one at a time: another process appends to
    /// a chain this one does, and two batches in flight would chain on heads it moves.
    private let contendedUntil = Atomic<Int64>(0)
    /// How long a writer that met another process's appends flushes one batch at a time.
    static let contentionHold: Int64 = 5_000
    /// False once the database turned out not to have `audit.append_chained_new_keys` (not
    /// migrated).
    private let oneStatementAvailable = Atomic<Bool>(true)

    /// Whether batches of up to `oneStatementLimit` events are still written with one statement
    /// (false once the database turned out not to have its function: every batch is copied in).
    public var writesBatchesInOneStatement: Bool { oneStatementAvailable.load(ordering: .relaxed) }

    struct Head: Equatable {
        var seq: Int64
        var hash: [UInt8]
    }

    /// The head update did not find the expected previous head.
    struct StaleHead: Error {}

    /// A head moving from one entry to another.
    typealias Move = (tenant: TenantID, from: Head, to: Head)

    /// The largest batch written in one statement; larger ones are copied in (COPY), which
    /// costs more round trips but less per entry.
    public static let oneStatementLimit = 256
    /// Batches in flight at once while no other process appends to the same chains.
    static let flushesInFlight = 2

    public init(database: PostgresClient, maxPending: Int = 20_000, logger: Logger = Logger(label: "audit")) {
        self.database = database
        self.logger = logger
        let box = WriterBox()
        self.commit = GroupCommit(maxPending: maxPending, concurrentFlushes: Self.flushesInFlight) { events in
            try await box.writer!.writeIsolating(events)
        }
        box.writer = self
    }

    /// Appends `events`; returns once they are committed (or were already there).
    public func append(_ events: [AuditEvent]) async throws {
        if let refused = try await commit.submit(events).lazy.compactMap({ $0 }).first {
            throw FleetError(.auditUnavailable, "an audit entry cannot be stored: \(refused)")
        }
    }

    /// Appends one event; returns once it is committed.
    public func append(_ event: AuditEvent) async throws {
        try await append([event])
    }

    // MARK: - One batch

    /// Writes a batch; when PostgreSQL refuses its data (not the connection), the halves are
    /// written on their own until the entries it refuses are alone: one bad entry never fails
    /// the entries it shared a batch with, which may be other tenants'.
    private func writeIsolating(_ batch: [AuditEvent]) async throws -> [String?] {
        do {
            try await write(batch)
            return Array(repeating: nil, count: batch.count)
        } catch let error as PostgresError where Self.isDataError(error) {
            guard batch.count > 1 else {
                logger.error("audit entry refused by PostgreSQL", metadata: ["tenant": "\(batch[0].tenant)", "error": "\(error)"])
                return [error.message]
            }
            let middle = batch.count / 2
            return try await writeIsolating(Array(batch[..<middle])) + writeIsolating(Array(batch[middle...]))
        }
    }

    /// A statement refused for its data (SQLSTATE classes 22, 23 and 54), not for the database
    /// being away.
    static func isDataError(_ error: PostgresError) -> Bool {
        guard error.code == .server, let state = error.sqlState else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23") || state.hasPrefix("54")
    }

    private func write(_ batch: [AuditEvent]) async throws {
        // Within a batch too, the first event of a key wins.
        var seen = Set<String>()
        var byTenant: [TenantID: [Keyed]] = [:]
        for event in batch {
            let key = event.tenant.rawValue + "\u{0}" + event.eventKey
            if seen.insert(key).inserted { byTenant[event.tenant, default: []].append(Keyed(event: event, key: key)) }
        }
        try await ensurePartitions(for: batch)
        try await ensureHeadRows(Array(byTenant.keys))
        if commit.concurrentFlushes == 1, Clock.milliseconds() > contendedUntil.load(ordering: .relaxed) {
            commit.concurrentFlushes = Self.flushesInFlight
        }
        var speculative = true
        for attempt in 1...4 {
            do {
                return try await write(byTenant, speculative: speculative)
            } catch let error where attempt < 4 && Self.isRedoable(error) {
                if error is StaleHead || (error as? PostgresError)?.sqlState == "OCA02" { contended() }
                // The batch before failed, another process appended, or two batches with the
                // same event key met: redo this one from locked heads.
                heads.withLock { $0.removeAll() }
                speculative = false
            } catch {
                heads.withLock { $0.removeAll() }
                throw error
            }
        }
    }

    /// Batches written at once right now: two, or one for a while after another process moved
    /// a chain head this one had chained on.
    public var concurrentFlushes: Int { commit.concurrentFlushes }

    /// Another process moved a head this one chained on: for a while, one batch at a time.
    private func contended() {
        contendedUntil.store(Clock.milliseconds() + Self.contentionHold, ordering: .relaxed)
        commit.concurrentFlushes = 1
    }

    /// Whether a failed batch is redone from locked heads: a head moved (`StaleHead`), a key
    /// was written before (its unique violation on `event_keys_pkey`) or a head row is missing
    /// (OCA02, `append_chained_new_keys` saying so), a deadlock, or `append_chained_new_keys`
    /// missing (a database not migrated yet).
    static func isRedoable(_ error: any Error) -> Bool {
        if error is StaleHead { return true }
        guard let error = error as? PostgresError, let state = error.sqlState else { return false }
        if state == "23505" { return error.constraint == "event_keys_pkey" }
        return state == "40P01" || state == "OCA02" || state == "42883"
    }

    /// An event with its tenant-qualified key.
    struct Keyed {
        let event: AuditEvent
        let key: String
    }

    private func write(_ byTenant: [TenantID: [Keyed]], speculative: Bool) async throws {
        let tenants = byTenant.keys.sorted()
        if speculative && byTenant.values.reduce(0, { $0 + $1.count }) <= Self.oneStatementLimit
            && oneStatementAvailable.load(ordering: .relaxed)
        {
            return try await writeInOneStatement(byTenant, tenants: tenants)
        }
        try await database.transaction { connection in
            let ticket = chaining.ticket()
            await chaining.wait(for: ticket)
            // A one-statement batch chained just before claims its keys only when its statement
            // runs: claiming ours first could make it wait for our transaction while we wait for
            // its turn below, so then we wait for it to finish before claiming.
            let afterOneStatement = lastChainedInOneStatement.withLock { last in
                defer { last = false }
                return last
            }
            // Head rows are locked in chaining order too: a batch locks only after the one
            // chained before it holds its locks, so it waits for that batch's commit instead of
            // overtaking it and finding the head not yet moved.
            let lockTicket = locking.ticket()
            var locked = false
            defer { if !locked { locking.pass(lockTicket) } }
            let chained: (rows: PostgresCopyRows, moves: [Move])
            do {
                if !speculative || afterOneStatement {
                    // Not speculative: the heads are read under FOR UPDATE while chaining.
                    await locking.wait(for: lockTicket)
                }
                chained = try await chain(byTenant, tenants: tenants, speculative: speculative, on: connection)
                if !speculative {
                    locked = true
                    locking.done(lockTicket)
                }
                chaining.done(ticket)
            } catch {
                chaining.done(ticket)
                throw error
            }
            if chained.moves.isEmpty { return }
            try await connection.copyIn(
                """
                COPY audit.entries (tenant_id, seq, id, event_key, ts, user_id, action_type, action_detail, data_accessed,
                    model_used, model_tokens, data_classification, policy_applied, policy_result, policy_reason, outcome,
                    request_id, prev_hash, hash) FROM STDIN
                """, data: chained.rows.data)
            // Every transaction locks all its heads in one statement, in tenant order, so
            // concurrent batches never deadlock on them.
            if speculative {
                await locking.wait(for: lockTicket)
                locked = true
                defer { locking.done(lockTicket) }
                try await connection.query(
                    "SELECT 1 FROM audit.chain_heads WHERE tenant_id = ANY($1::text[]) ORDER BY tenant_id FOR UPDATE",
                    [PostgresArray(chained.moves.map(\.tenant.rawValue))])
            }
            let moved = try await connection.query(
                """
                UPDATE audit.chain_heads h SET seq = u.seq, hash = u.hash
                FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bigint[], $5::bytea[])
                    AS u(tenant_id, from_seq, from_hash, seq, hash)
                WHERE h.tenant_id = u.tenant_id AND h.seq = u.from_seq AND h.hash = u.from_hash
                RETURNING h.tenant_id
                """,
                [
                    PostgresArray(chained.moves.map(\.tenant.rawValue)), PostgresArray(chained.moves.map(\.from.seq)),
                    PostgresArray(chained.moves.map { PostgresBytes($0.from.hash) }), PostgresArray(chained.moves.map(\.to.seq)),
                    PostgresArray(chained.moves.map { PostgresBytes($0.to.hash) }),
                ])
            if moved.count != chained.moves.count { throw StaleHead() }
        }
    }

    /// Claims the batch's event keys and chains its new entries, starting from the heads the
    /// batches before left (or, when unknown, from the heads read and locked now). Runs in turn.
    private func chain(
        _ byTenant: [TenantID: [Keyed]], tenants: [TenantID], speculative: Bool, on connection: PostgresConnection
    ) async throws -> (rows: PostgresCopyRows, moves: [Move]) {
        var start = speculative ? heads.withLock { known in known.filter { tenants.contains($0.key) } } : [:]
        let missing = tenants.filter { start[$0] == nil }
        if !missing.isEmpty {
            // Speculative: read without locking (the final conditional update checks). Otherwise
            // lock them all now, in tenant order, before anything else.
            let rows = try await connection.query(
                speculative
                    ? "SELECT tenant_id, seq, hash FROM audit.chain_heads WHERE tenant_id = ANY($1::text[])"
                    : "SELECT tenant_id, seq, hash FROM audit.chain_heads WHERE tenant_id = ANY($1::text[]) ORDER BY tenant_id FOR UPDATE",
                [PostgresArray(missing.map(\.rawValue))])
            for row in rows {
                guard let tenant = row.string("tenant_id").flatMap({ try? TenantID($0) }), let seq = row.int64("seq"),
                    let hash = row.bytes("hash")
                else { continue }
                start[tenant] = Head(seq: seq, hash: hash)
            }
        }
        var keyTenants: [String] = []
        var keys: [String] = []
        for tenant in tenants {
            for keyed in byTenant[tenant]! {
                keyTenants.append(tenant.rawValue)
                keys.append(keyed.event.eventKey)
            }
        }
        let claimed = try await connection.query(
            """
            INSERT INTO audit.event_keys (tenant_id, event_key) SELECT * FROM unnest($1::text[], $2::text[])
            ON CONFLICT (tenant_id, event_key) DO NOTHING RETURNING tenant_id, event_key
            """, [PostgresArray(keyTenants), PostgresArray(keys)])
        let new = Set(claimed.map { ($0[0] ?? "") + "\u{0}" + ($0[1] ?? "") })
        var rows = PostgresCopyRows(reservingCapacity: new.count * 512)
        let moves = try link(byTenant, tenants: tenants, from: start, where: { new.contains($0.key) }) { event, seq, prevHash, hash in
            Self.add(event, seq: seq, prevHash: prevHash, hash: hash, to: &rows)
        }
        return (rows, moves)
    }

    /// Chains each tenant's events that `isNew` admits onto its head in `start`, hands every
    /// entry to `emit`, and keeps the new heads for the next batch; returns the heads that move.
    private func link(
        _ byTenant: [TenantID: [Keyed]], tenants: [TenantID], from start: [TenantID: Head], where isNew: (Keyed) -> Bool,
        emit: (AuditEvent, Int64, [UInt8], [UInt8]) -> Void
    ) throws -> [Move] {
        var moves: [Move] = []
        for tenant in tenants {
            guard let from = start[tenant] else {
                throw PostgresError(.server, operation: "audit append", message: "no chain head for tenant \(tenant)")
            }
            var head = from
            for keyed in byTenant[tenant]! where isNew(keyed) {
                head.seq += 1
                let next = AuditChain.hash(keyed.event, seq: head.seq, prevHash: head.hash)
                emit(keyed.event, head.seq, head.hash, next)
                head.hash = next
            }
            if head != from { moves.append((tenant, from, head)) }
        }
        heads.withLock { known in
            for tenant in tenants { known[tenant] = moves.first { $0.tenant == tenant }?.to ?? start[tenant] }
        }
        return moves
    }

    /// The common case in one statement (see the type's documentation). Chains in turn on the
    /// heads the batches before left, then waits until the batch chained before it finished.
    private func writeInOneStatement(_ byTenant: [TenantID: [Keyed]], tenants: [TenantID]) async throws {
        // The connection first, then the turns, in the same order as the COPY path: a batch
        // never waits for a connection while holding a turn others wait for.
        try await database.withConnection { connection in
            let ticket = chaining.ticket()
            await chaining.wait(for: ticket)
            let lockTicket = locking.ticket()
            var columns = EntryColumns()
            var moves: [Move]
            do {
                // A head not known (a tenant's first batch here, or a batch before failed and
                // forgot it) is chained from nowhere: the statement answers where it is.
                let known = heads.withLock { known in known.filter { tenants.contains($0.key) } }
                let start = Dictionary(uniqueKeysWithValues: tenants.map { ($0, known[$0] ?? Self.unknownHead) })
                moves = try link(byTenant, tenants: tenants, from: start, where: { _ in true }) { event, seq, prevHash, hash in
                    columns.add(event, seq: seq, prevHash: prevHash, hash: hash)
                }
                lastChainedInOneStatement.withLock { $0 = true }
                chaining.done(ticket)
            } catch {
                chaining.done(ticket)
                locking.pass(lockTicket)
                throw error
            }
            await locking.wait(for: lockTicket)
            defer { locking.done(lockTicket) }
            do {
                // Another process appended meanwhile, or a head was not known here: chain again
                // on the heads as they are.
                for _ in 0..<Self.rechainings {
                    let current = try await appendChained(columns, moves, on: connection)
                    if current.isEmpty { return }
                    // Only a head known here that moved means another process appends to the
                    // tenant; a tenant's first batch here (its head unknown) is no contention.
                    let moved = moves.contains { current[$0.tenant] != nil && $0.from != Self.unknownHead }
                    if moved { contended() }
                    var start = Dictionary(uniqueKeysWithValues: moves.map { ($0.tenant, $0.from) })
                    start.merge(current) { _, now in now }
                    columns = EntryColumns()
                    moves = try link(byTenant, tenants: tenants, from: start, where: { _ in true }) { event, seq, prevHash, hash in
                        columns.add(event, seq: seq, prevHash: prevHash, hash: hash)
                    }
                }
                throw StaleHead()
            } catch let error as PostgresError where error.sqlState == "42883" {
                if oneStatementAvailable.exchange(false, ordering: .relaxed) {
                    logger.warning(
                        "audit.append_chained_new_keys is missing (run `migrate`); this process writes every batch with COPY until restarted",
                        metadata: ["error": "\(error)"])
                }
                throw error
            }
        }
    }

    /// Where a head not known is chained from: no head is there, so the statement answers it.
    static let unknownHead = Head(seq: -1, hash: [])
    /// How often a one-statement batch is chained again on heads another process moved, before
    /// it is redone the careful way.
    static let rechainings = 4

    /// Writes the batch unless a head is not where it was chained from; returns those heads as
    /// they are then (nothing written), or nothing (written).
    private func appendChained(
        _ columns: EntryColumns, _ moves: [Move], on connection: PostgresConnection
    ) async throws -> [TenantID:
        Head]
    {
        let rows = try await connection.query(
            prepared: """
                SELECT head_tenant, head_seq, head_hash FROM audit.append_chained_new_keys($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
                    $7::text[], $8::json[], $9::json[], $10::text[], $11::integer[], $12::text[], $13::text[], $14::text[],
                    $15::text[], $16::text[], $17::text[], $18::bytea[], $19::bytea[],
                    $20::text[], $21::bigint[], $22::bytea[], $23::bigint[], $24::bytea[])
                """,
            columns.parameters + [
                PostgresArray(moves.map(\.tenant.rawValue)), PostgresArray(moves.map(\.from.seq)),
                PostgresArray(moves.map { PostgresBytes($0.from.hash) }), PostgresArray(moves.map(\.to.seq)),
                PostgresArray(moves.map { PostgresBytes($0.to.hash) }),
            ])
        var current: [TenantID: Head] = [:]
        for row in rows {
            guard let tenant = row.string("head_tenant").flatMap({ try? TenantID($0) }), let seq = row.int64("head_seq"),
                let hash = row.bytes("head_hash")
            else { continue }
            current[tenant] = Head(seq: seq, hash: hash)
        }
        return current
    }

    /// One entry's values in the column order of `audit.entries` (COPY and `append_chained_new_keys`).
    static func values(_ event: AuditEvent, seq: Int64, prevHash: [UInt8], hash: [UInt8]) -> [String?] {
        [
            event.tenant.rawValue, String(seq), event.id, event.eventKey, PostgresTimestamp(microseconds: event.timestamp).postgresText,
            event.userID, event.actionType, event.actionDetail, event.dataAccessedJSON, event.modelUsed,
            event.modelTokens.map { String($0) }, event.dataClassification.rawValue, event.policyApplied, event.policyResult,
            event.policyReason, event.outcome.rawValue, event.requestID, PostgresBytes(prevHash).postgresText,
            PostgresBytes(hash).postgresText,
        ]
    }

    /// One COPY row of `audit.entries`.
    static func add(_ event: AuditEvent, seq: Int64, prevHash: [UInt8], hash: [UInt8], to rows: inout PostgresCopyRows) {
        for value in values(event, seq: seq, prevHash: prevHash, hash: hash) { rows.add(value) }
        rows.endRow()
    }

    /// Creates missing chain head rows (their own small transaction: it is idempotent, and doing
    /// it inside a batch would take row locks out of order).
    private func ensureHeadRows(_ tenants: [TenantID]) async throws {
        let missing = headRows.withLock { known in tenants.filter { !known.contains($0) } }.sorted()
        if missing.isEmpty { return }
        try await database.query(
            """
            INSERT INTO audit.chain_heads (tenant_id, seq, hash)
            SELECT t, 0, $2::bytea FROM unnest($1::text[]) AS t ON CONFLICT (tenant_id) DO NOTHING
            """, [PostgresArray(missing.map(\.rawValue)), PostgresBytes(AuditChain.genesis)])
        headRows.withLock { $0.formUnion(missing) }
    }

    /// Makes sure the month partitions for the batch's timestamps exist (cached per process).
    private func ensurePartitions(for batch: [AuditEvent]) async throws {
        guard let earliest = batch.map(\.timestamp).min(), let latest = batch.map(\.timestamp).max() else { return }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let first = Date(timeIntervalSince1970: Double(earliest) / 1_000_000)
        let last = Date(timeIntervalSince1970: Double(latest) / 1_000_000)
        var month = calendar.date(from: calendar.dateComponents([.year, .month], from: first))!
        while month <= last {
            let parts = calendar.dateComponents([.year, .month], from: month)
            let key = "\(parts.year!)-\(parts.month!)"
            if !partitions.withLock({ $0.contains(key) }) {
                try await database.query("SELECT audit.ensure_partition($1)", [PostgresTimestamp(month)])
                partitions.withLock { _ = $0.insert(key) }
            }
            month = calendar.date(byAdding: .month, value: 1, to: month)!
        }
    }
}

/// The columns of `audit.entries` as arrays, for `audit.append_chained_new_keys` ($1 to $19).
struct EntryColumns {
    private var columns = [[String?]](repeating: [], count: 19)

    mutating func add(_ event: AuditEvent, seq: Int64, prevHash: [UInt8], hash: [UInt8]) {
        for (index, value) in AuditWriter.values(event, seq: seq, prevHash: prevHash, hash: hash).enumerated() {
            columns[index].append(value)
        }
    }

    var parameters: [any PostgresBindable] { columns.map { PostgresArray($0) } }
}

/// Breaks the init-time cycle between the writer and its group-commit closure.
private final class WriterBox: @unchecked Sendable {
    // @unchecked Sendable: set once in AuditWriter.init before any flush can run.
    var writer: AuditWriter?
}

/// Where audit events go: the audit writer, or an in-memory log in tests.
public protocol AuditSink: Sendable {
    /// Appends `events`; returns once they are durable (or were already there: an event whose
    /// key was written before is not written again).
    func append(_ events: [AuditEvent]) async throws
}

extension AuditWriter: AuditSink {}
