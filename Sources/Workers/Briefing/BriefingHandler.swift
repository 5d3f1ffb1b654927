import Connectors
import Contracts
import Foundation
import PostgresClient
import Settings
import Synchronization
import TaskIntelligence
import WorkerRuntime

/// The `briefing` kind: a user's daily briefing, stored under the job's id and read through
/// `GET /v1/briefings`.
///
/// - Tasks: the user's open tasks scored again now (deadlines come closer), the top ones
///   listed with their quadrants; listing a task makes it `active`.
/// - Each source is read only where the policy allows its read action now, at the level of
///   what it holds: a denied source, or data above the decision's `max_classification`, is left
///   out and counted.
/// - Time blocks: the working day's gaps of 30 minutes or more in the calendar's free/busy,
///   the highest-scored task in the largest gap ("Deep work: <task>").
/// - The auto-responder's summary since the previous briefing, alerts (critical mail, overdue
///   tasks, replies awaiting approval, connectors in trouble) and `connector_status`.
/// - A connector that fails, must be connected again, or has not synced for a day makes the
///   briefing `partial`, naming what is missing. A policy engine that cannot answer makes no
///   briefing: an `unavailable` one says why, and the job tries again until the day is over.
/// - With `email`, the briefing is mailed to the user where the policy allows `gmail.send`,
///   cut down to the highest level the decision allows (the rest left out and counted).
struct BriefingHandler: KindHandler {
    typealias Contract = BriefingKind

    let settings: ProviderSettings
    let secrets: SecretBox
    /// The working day, in the user's time zone.
    var workStartHour = 9
    var workEndHour = 17
    /// Tasks listed.
    var topTasks = 10
    /// A connector not synced for this long is stale (the briefing is partial).
    var freshness: TimeInterval = 86_400

    static let levels = Classification.allCases.map(\.rawValue)

    /// A connected account as the briefing finds it in the tenant's tables.
    struct Account {
        let connector: Connector
        let address: String
        let reauth: Bool
        let lastError: String?
        let lastSync: Date?
    }

    /// An open task, scored now.
    struct OpenTask {
        let id: String
        let title: String
        let sources: [TaskSource]
        let score: TaskScore
        let deadline: Date?
        let classification: Classification
        var systems: Set<String> { Set(sources.map(\.system)) }
        var isMeeting: Bool { !sources.isEmpty && sources.allSatisfy { $0.system == Connector.gcal.rawValue } }
    }

    func handle(_ payload: BriefingKind.Payload, context: HandlerContext) async throws {
        let now = Date()
        let zoneName = payload.timeZone ?? "UTC"
        guard let zone = TimeZone(identifier: zoneName) else { throw JobFailure(.deadLetter, "unknown time zone \(zoneName)") }
        let day = payload.date ?? TimeBlocks.today(in: zone, now: now)
        let user = context.job.requester.user
        var briefing = Briefing(
            id: context.job.id, user: user, date: day, timeZone: zoneName, generatedAt: Self.stamp(now), status: .ready,
            classification: Classification.internal.rawValue)
        let accounts: [Account]
        let entries = Entries()
        do {
            accounts = try await build(&briefing, zone: zone, now: now, context: context, entries: entries)
        } catch let unavailable as EngineUnavailable {
            try await context.audit.append(entries.take())
            briefing = Briefing(
                id: context.job.id, user: user, date: day, timeZone: zoneName, generatedAt: Self.stamp(now), status: .unavailable,
                classification: Classification.internal.rawValue)
            briefing.reason =
                "the policy engine could not be asked (\(unavailable.reason)), so nothing was read; the briefing is made when it answers again"
            try await store(briefing, context: context)
            context.logger.warning("briefing waits for the policy engine", metadata: ["reason": "\(unavailable.reason)"])
            if let end = TimeBlocks.workingWindow(day: day, zone: zone, startHour: 0, endHour: 24, now: now), end.end > now {
                throw JobFailure(.postpone(HandlerContext.policyRetry), "no briefing yet: policy engine unavailable: \(unavailable.reason)")
            }
            throw JobFailure(.fail, "no briefing for \(day): the policy engine could not be asked all day")
        }
        briefing.delivery["email"] = payload.email == true ? "pending" : "not_requested"
        let made = briefing
        entries.add(accessEntry(made, context: context))
        async let recorded: Void = context.audit.append(entries.take())
        try await store(made, context: context)
        try await recorded
        if payload.email == true {
            briefing.delivery["email"] = try await mail(briefing, accounts: accounts, context: context)
            try await store(briefing, context: context)
        }
        context.setResult([
            "briefing_id": .string(briefing.id), "status": .string(briefing.status.rawValue),
            "tasks": .integer(Int64(briefing.tasks.count)),
            "time_blocks": .integer(Int64(briefing.timeBlocks.count)), "link": .string("/v1/briefings/\(briefing.id)"),
        ])
    }

    struct EngineUnavailable: Error {
        let reason: String
    }

    /// The audit entries of a briefing's reads, written together (one commit) before it is stored.
    final class Entries: Sendable {
        private let list = Mutex<[AuditEvent]>([])
        func add(_ entry: AuditEvent?) { if let entry { list.withLock { $0.append(entry) } } }
        func take() -> [AuditEvent] {
            list.withLock { entries in
                defer { entries = [] }
                return entries
            }
        }
    }

    /// The policy's decision, or `EngineUnavailable`; its audit entry joins `entries` (nil:
    /// written now, before the caller acts on it).
    func decide(
        _ action: Action, _ level: Classification, target: String = "", step: String, context: HandlerContext, entries: Entries?
    ) async throws -> PolicyDecision {
        let (answer, entry) = await context.askUnrecorded(action, classification: level, target: target, step: step)
        if let entries { entries.add(entry) } else if let entry { try await context.audit.append([entry]) }
        guard case .decided(let decision) = answer else { throw EngineUnavailable(reason: answer.audited.reason) }
        return decision
    }

    // MARK: Building

    /// Fills `briefing`; returns the user's accounts.
    func build(_ briefing: inout Briefing, zone: TimeZone, now: Date, context: HandlerContext, entries: Entries) async throws -> [Account] {
        let found = try await Self.snapshot(context.job.requester.user, job: context.job.id, now: now, context: context)
        var states: [Connector: Briefing.ConnectorState] = [:]
        for account in found.accounts { states[account.connector] = state(of: account, now: now) }

        // Each source read only as far as the policy allows it now (asked together), while the
        // calendar is asked for the day's free/busy.
        var tasks = found.tasks
        let systems = Set(tasks.flatMap(\.systems)).sorted().compactMap(Connector.init(rawValue:))
        let window = TimeBlocks.workingWindow(day: briefing.date, zone: zone, startHour: workStartHour, endHour: workEndHour, now: now)
        async let calendar = busy(window, accounts: found.accounts, context: context, entries: entries)
        let decisions = try await withThrowingTaskGroup(of: (Connector, PolicyDecision).self) { group in
            for connector in systems {
                let level = tasks.filter { $0.systems.contains(connector.rawValue) }.map(\.classification).max() ?? .internal
                group.addTask {
                    (
                        connector,
                        try await decide(
                            connector.readAction, level, step: "read:\(connector.rawValue)", context: context, entries: entries)
                    )
                }
            }
            return try await group.reduce(into: [Connector: PolicyDecision]()) { $0[$1.0] = $1.1 }
        }
        for connector in systems {
            guard let decision = decisions[connector] else { continue }
            let held = tasks.filter { $0.systems.contains(connector.rawValue) }
            switch decision.decision {
            case .allow:
                if let cap = decision.constraints.maxClassification {
                    let above = Set(held.filter { $0.classification > cap }.map(\.id))
                    tasks.removeAll { above.contains($0.id) }
                    briefing.withheld.add("\(connector.rawValue) above \(cap.rawValue)", above.count)
                }
            case .deny, .requireApproval:
                tasks.removeAll { $0.systems.contains(connector.rawValue) }
                briefing.withheld.add("\(connector.readAction.rawValue) not allowed by policy", held.count)
            }
        }
        for quadrant in Quadrant.allCases { briefing.quadrants[quadrant.rawValue] = 0 }
        for task in tasks { briefing.quadrants[task.score.quadrant.rawValue, default: 0] += 1 }
        let top = Array(tasks.prefix(topTasks))
        briefing.tasks = top.map { task in
            Briefing.Task(
                id: task.id, title: task.title, score: task.score.total, quadrant: task.score.quadrant, urgency: task.score.urgency,
                importance: task.score.importance, deadline: task.deadline.map(Self.stamp), sources: task.sources,
                classification: task.classification.rawValue)
        }

        // Time blocks from the calendar's free/busy.
        let asked = try await calendar
        if let window {
            if let state = asked.state { states[.gcal] = state }
            if let busy = asked.busy {
                let gaps = TimeBlocks.free(busy: busy, within: window)
                let deep = top.filter { !$0.isMeeting }
                briefing.freeMinutes = gaps.reduce(0) { $0 + Int($1.seconds / 60) }
                briefing.timeBlocks = TimeBlocks.assign(gaps, to: deep).map { pair in
                    Briefing.TimeBlock(
                        start: TimeBlocks.local(pair.interval.start, zone), end: TimeBlocks.local(pair.interval.end, zone),
                        minutes: Int(pair.interval.seconds / 60), label: pair.task.map { "Deep work: \($0.title)" } ?? "Free",
                        taskID: pair.task?.id)
                }
            }
        }

        // What happened since the previous briefing.
        if found.accounts.contains(where: { $0.connector == .gmail }) { briefing.autoResponses = found.replies }
        briefing.alerts = Self.alerts(found, tasks: tasks, states: states, now: now)
        briefing.connectorStatus = states.values.sorted { $0.connector < $1.connector }
        briefing.missing = briefing.connectorStatus.filter { $0.status != .ok }.map { state in
            "\(state.connector) \(state.status.rawValue): \(state.detail ?? "no detail")"
        }
        if !briefing.missing.isEmpty { briefing.status = .partial }
        let level = top.map(\.classification).max() ?? .internal
        briefing.classification = max(level, .internal).rawValue
        return found.accounts
    }

    /// The audit entry of what the briefing holds: its sources, at its level.
    func accessEntry(_ briefing: Briefing, context: HandlerContext) -> AuditEvent {
        let level = Classification(parsing: briefing.classification)
        return context.audit.entry(
            .dataAccess, step: "read",
            detail: [
                "briefing_id": .string(briefing.id), "tasks": .integer(Int64(briefing.tasks.count)),
                "withheld": .integer(Int64(briefing.withheld.count)),
            ],
            dataAccessed: Set(briefing.tasks.flatMap { $0.sources.map(\.system) }).sorted().map {
                AuditEvent.DataAccess(source: $0, classification: level, purpose: "briefing")
            }, classification: level)
    }

    func state(of account: Account, now: Date) -> Briefing.ConnectorState {
        let synced = account.lastSync.map(Self.stamp)
        if account.reauth {
            return .init(
                connector: account.connector.rawValue, status: .error, lastSyncAt: synced,
                detail: "must be connected again (POST /v1/connectors/\(account.connector.rawValue)/authorize)")
        }
        if let error = account.lastError {
            return .init(connector: account.connector.rawValue, status: .error, lastSyncAt: synced, detail: String(error.prefix(300)))
        }
        guard let last = account.lastSync else {
            return .init(connector: account.connector.rawValue, status: .partial, lastSyncAt: nil, detail: "never synced")
        }
        if now.timeIntervalSince(last) > freshness {
            return .init(
                connector: account.connector.rawValue, status: .partial, lastSyncAt: synced,
                detail: "not synced for \(Int(now.timeIntervalSince(last) / 3600)) hours")
        }
        return .init(connector: account.connector.rawValue, status: .ok, lastSyncAt: synced, detail: nil)
    }

    /// The busy ranges of the working window, asked of the calendar now (nil when they cannot be
    /// had), and the calendar's state when asking it says more than its account does.
    func busy(
        _ window: TimeBlocks.Interval?, accounts: [Account], context: HandlerContext, entries: Entries
    ) async throws -> (busy: [TimeBlocks.Interval]?, state: Briefing.ConnectorState?) {
        guard let window, let account = accounts.first(where: { $0.connector == .gcal }), !account.reauth else { return (nil, nil) }
        let decision = try await decide(.gcalRead, .internal, step: "freebusy", context: context, entries: entries)
        guard decision.decision == .allow else { return (nil, nil) }
        let synced = account.lastSync.map(Self.stamp)
        func unreachable(_ why: String) -> Briefing.ConnectorState {
            .init(connector: "gcal", status: .unreachable, lastSyncAt: synced, detail: "free/busy could not be asked: \(why)")
        }
        var session: AccountSession
        do {
            session = try await AccountSession.open(.gcal, settings: settings, secrets: secrets, context: context)
        } catch let failure as JobFailure {
            return (nil, unreachable(failure.message))
        }
        let client = CalendarFreeBusy(host: settings.google.calendarURL)
        do {
            let ranges = try await session.call(passing: { if case .refreshToken = $0 { false } else { true } }) {
                provider throws(ConnectorFailure) in try await client.busy(from: window.start, to: window.end, session: provider)
            }
            entries.add(
                context.audit.entry(
                    .toolInvocation, step: "freebusy",
                    detail: ["connector": .string("gcal"), "operation": .string("freebusy.query"), "busy": .integer(Int64(ranges.count))]))
            return (ranges.map { TimeBlocks.Interval(start: $0.start, end: $0.end) }, nil)
        } catch let failure as ConnectorFailure {
            switch failure {
            case .reauthRequired, .refreshToken:
                return (
                    nil,
                    .init(
                        connector: "gcal", status: .error, lastSyncAt: synced,
                        detail: "must be connected again (POST /v1/connectors/gcal/authorize)")
                )
            default:
                return (nil, unreachable("\(failure)"))
            }
        } catch let failure as JobFailure {
            return (nil, unreachable(failure.message))
        }
    }

    static func alerts(_ found: Snapshot, tasks: [OpenTask], states: [Connector: Briefing.ConnectorState], now: Date) -> [Briefing.Alert] {
        var alerts: [Briefing.Alert] = found.critical.map { mail in
            let title = mail.level <= .internal ? mail.title : "(a \(mail.level.rawValue) message)"
            return .init(kind: "critical_mail", text: "Critical mail: \(title.prefix(200))", link: mail.link)
        }
        for task in tasks where (task.deadline.map { $0 < now } ?? false) {
            alerts.append(.init(kind: "overdue", text: "Overdue: \(task.title.prefix(200))", link: task.sources.first?.url))
        }
        if found.waitingApprovals > 0 {
            alerts.append(
                .init(
                    kind: "approval", text: "\(found.waitingApprovals) request(s) of yours await an approver's decision",
                    link: "/v1/approvals"))
        }
        for state in states.values.sorted(by: { $0.connector < $1.connector }) where state.status == .error {
            alerts.append(.init(kind: "connector", text: "\(state.connector): \(state.detail ?? "error")", link: "/v1/connectors"))
        }
        return alerts
    }

    // MARK: Email

    /// Mails the briefing to the user, cut to the highest level the policy lets `gmail.send`
    /// carry; what became of it.
    func mail(_ briefing: Briefing, accounts: [Account], context: HandlerContext) async throws -> String {
        guard let account = accounts.first(where: { $0.connector == .gmail }), !account.reauth, !account.address.isEmpty else {
            return "gmail is not connected (POST /v1/connectors/gmail/authorize)"
        }
        let full = Classification(parsing: briefing.classification)
        var lastReason = ""
        for level in Classification.allCases.reversed() where level <= full {
            let decision: PolicyDecision
            do {
                decision = try await decide(
                    .gmailSend, level, target: account.address, step: "email:\(level.rawValue)", context: context, entries: nil)
            } catch is EngineUnavailable {
                return "not sent: the policy engine could not be asked"
            }
            if decision.decision == .requireApproval { return "not sent: gmail.send needs an approval (\(decision.reason))" }
            guard decision.decision == .allow else {
                lastReason = decision.reason
                continue
            }
            var allowed = level
            if let cap = decision.constraints.maxClassification { allowed = min(allowed, cap) }
            let content = allowed < full ? briefing.limited(to: allowed.rawValue, levels: Self.levels) : briefing
            var session = try await AccountSession.open(.gmail, settings: settings, secrets: secrets, context: context)
            var body = BriefingRendering.text(content)
            if decision.constraints.disclosureRequired { body += "\n-- \nWritten by your AI assistant.\n" }
            let message = MailMessage(
                to: [account.address], subject: "Your briefing for \(briefing.date)" + (content.partial ? " (partial)" : ""), body: body)
            _ = try await session.write(.gmailSend(message), step: "email", classification: allowed)
            return content.withheld.count > briefing.withheld.count
                ? "sent (\(content.withheld.count - briefing.withheld.count) item(s) above \(allowed.rawValue) left out)" : "sent"
        }
        return "not sent: gmail.send is not allowed by policy (\(lastReason))"
    }

    // MARK: Storage

    /// Stores the briefing under the job's id (a rerun replaces it) and makes its listed tasks
    /// `active`, in one statement.
    func store(_ briefing: Briefing, context: HandlerContext) async throws {
        let content = String(decoding: briefing.json.canonicalBytes, as: UTF8.self)
        try await context.statements.query(
            """
            WITH stored AS (
                INSERT INTO briefings (id, user_id, for_date, content, partial, classification, status, job_id)
                VALUES ($1, $2, $3::date, $4::jsonb, $5, $6, $7, $1)
                ON CONFLICT (id) DO UPDATE SET content = excluded.content, partial = excluded.partial,
                    classification = excluded.classification, status = excluded.status, for_date = excluded.for_date,
                    updated_at = now()
                RETURNING id)
            UPDATE tasks SET status = 'active' WHERE owner_user = $2 AND id = ANY($8::text[]) AND status = 'discovered'
                AND EXISTS (SELECT 1 FROM stored)
            """,
            [
                briefing.id, briefing.user, briefing.date, content, briefing.partial, briefing.classification, briefing.status.rawValue,
                PostgresArray(briefing.tasks.map(\.id)),
            ])
    }

    /// Everything the briefing reads of the tenant's tables, in one statement: the user's
    /// accounts and open tasks, when their previous briefing was made, and since then the
    /// auto-responder's replies, critical mail and their requests awaiting approval.
    struct Snapshot {
        var accounts: [Account]
        var tasks: [OpenTask]
        var replies: Briefing.AutoResponses
        var critical: [(title: String, link: String?, level: Classification)]
        var waitingApprovals: Int
    }

    static func snapshot(_ user: String, job: String, now: Date, context: HandlerContext) async throws -> Snapshot {
        let rows = try await context.statements.query(
            """
            WITH since AS (
                SELECT coalesce(
                    (SELECT max(created_at) FROM briefings WHERE user_id = $1 AND id <> $2 AND status <> 'unavailable'),
                    now() - interval '1 day') AS at)
            SELECT json_build_object(
                'accounts', (SELECT coalesce(json_agg(json_build_object('connector', connector, 'account', account, 'status', status,
                    'lastError', last_error, 'synced', extract(epoch FROM last_sync_at))), '[]') FROM connector_accounts WHERE user_id = $1),
                'tasks', (SELECT coalesce(json_agg(json_build_object('id', id, 'title', title, 'sources', sources, 'signals', signals,
                    'classification', classification)), '[]') FROM tasks WHERE owner_user = $1 AND status IN ('discovered', 'active')),
                'since', (SELECT extract(epoch FROM at) FROM since),
                'counts', (SELECT coalesce(json_object_agg(status, n), '{}') FROM (
                    SELECT status, count(*) AS n FROM responses WHERE user_id = $1 AND updated_at > (SELECT at FROM since)
                    GROUP BY status) c),
                'recent', (SELECT coalesce(json_agg(r), '[]') FROM (
                    SELECT status, original->>'from' AS sender, original->>'subject' AS subject, classification FROM responses
                    WHERE user_id = $1 AND updated_at > (SELECT at FROM since) ORDER BY updated_at DESC LIMIT 5) r),
                'critical', (SELECT coalesce(json_agg(m), '[]') FROM (
                    SELECT title, link, classification FROM items WHERE user_id = $1 AND connector = 'gmail'
                        AND message_class = 'critical' AND occurred_at > (SELECT at FROM since)
                    ORDER BY occurred_at DESC LIMIT 5) m),
                'waiting', (SELECT count(*) FROM approvals WHERE requester_user = $1 AND status = 'pending')
            )::text AS snapshot
            """, [user, job])
        let row = try SnapshotRow(json: rows.first?.string("snapshot") ?? "")
        let accounts = row.accounts.compactMap { stored -> Account? in
            guard let connector = Connector(rawValue: stored.connector) else { return nil }
            return Account(
                connector: connector, address: stored.account ?? "", reauth: stored.status == "reauth_required",
                lastError: stored.lastError, lastSync: stored.synced.map(Date.init(timeIntervalSince1970:)))
        }
        let tasks = row.tasks.map { stored in
            let signals = stored.signals ?? UrgencySignals()
            return OpenTask(
                id: stored.id, title: stored.title, sources: stored.sources ?? [], score: TaskScoring.score(signals, now: now),
                deadline: signals.deadline, classification: Classification(parsing: stored.classification))
        }.sorted {
            if $0.score.total != $1.score.total { return $0.score.total > $1.score.total }
            if $0.deadline != $1.deadline { return ($0.deadline ?? .distantFuture) < ($1.deadline ?? .distantFuture) }
            return $0.id < $1.id
        }
        var replies = Briefing.AutoResponses(since: stamp(Date(timeIntervalSince1970: row.since)))
        for (status, count) in row.counts {
            switch status {
            case "sent": replies.sent += count
            case "pending": replies.awaitingApproval += count
            case "blocked": replies.refused += count
            default: replies.inProgress += count
            }
        }
        replies.recent = row.recent.map { reply in
            let quotable = Classification(parsing: reply.classification) <= .internal
            return .init(
                to: String((reply.sender ?? "").prefix(200)), subject: quotable ? String((reply.subject ?? "").prefix(200)) : "(withheld)",
                status: reply.status == "pending" ? "awaiting approval" : reply.status)
        }
        return Snapshot(
            accounts: accounts, tasks: tasks, replies: replies,
            critical: row.critical.map { ($0.title ?? "", $0.link, Classification(parsing: $0.classification)) },
            waitingApprovals: row.waiting)
    }

    static func stamp(_ date: Date) -> String { RFC3339.format(date) }
}

/// The snapshot statement's JSON, read with the fleet's own parser (a `Decodable` round trip
/// through Foundation's decoder was a quarter of a briefing's CPU). Fields the statement always
/// gives are required; a value of the wrong type is refused, as a decoder would.
struct SnapshotRow {
    struct StoredAccount {
        let connector: String
        let account: String?
        let status: String?
        let lastError: String?
        let synced: Double?
    }
    struct StoredTask {
        let id: String
        let title: String
        let sources: [TaskSource]?
        let signals: UrgencySignals?
        let classification: String?
    }
    struct Reply {
        let status: String
        let sender: String?
        let subject: String?
        let classification: String?
    }
    struct Mail {
        let title: String?
        let link: String?
        let classification: String?
    }
    let accounts: [StoredAccount]
    let tasks: [StoredTask]
    let since: Double
    let counts: [String: Int]
    let recent: [Reply]
    let critical: [Mail]
    let waiting: Int

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    init(json text: String) throws {
        guard let parsed = JSONValue.parse(text.utf8) else { throw Malformed(description: "the briefing's snapshot is not JSON") }
        let row = try Self.object(parsed, "snapshot")
        accounts = try Self.array(row["accounts"], "accounts").map { value in
            let account = try Self.object(value, "an account")
            return StoredAccount(
                connector: try Self.required(Self.string(account["connector"], "connector"), "connector"),
                account: try Self.string(account["account"], "account"), status: try Self.string(account["status"], "status"),
                lastError: try Self.string(account["lastError"], "lastError"), synced: try Self.double(account["synced"], "synced"))
        }
        tasks = try Self.array(row["tasks"], "tasks").map { value in
            let task = try Self.object(value, "a task")
            let sources = try task["sources"].flatMap { $0 == .null ? nil : $0 }.map { value in
                try Self.array(value, "sources").map { value in
                    let source = try Self.object(value, "a source")
                    return TaskSource(
                        system: try Self.required(Self.string(source["system"], "system"), "system"),
                        id: try Self.required(Self.string(source["id"], "a source's id"), "a source's id"),
                        url: try Self.string(source["url"], "url"),
                        title: try Self.required(Self.string(source["title"], "a source's title"), "a source's title"))
                }
            }
            let signals = try task["signals"].flatMap { $0 == .null ? nil : $0 }.map { value in
                let signals = try Self.object(value, "signals")
                return UrgencySignals(
                    deadline: try Self.date(signals["deadline"], "deadline"),
                    senderSeniority: try Self.int(signals["sender_seniority"], "sender_seniority") ?? 0,
                    followUps: try Self.int(signals["follow_ups"], "follow_ups") ?? 0,
                    slaDue: try Self.date(signals["sla_due"], "sla_due"), blocking: try Self.int(signals["blocking"], "blocking") ?? 0)
            }
            return StoredTask(
                id: try Self.required(Self.string(task["id"], "a task's id"), "a task's id"),
                title: try Self.required(Self.string(task["title"], "a task's title"), "a task's title"), sources: sources,
                signals: signals, classification: try Self.string(task["classification"], "classification"))
        }
        since = try Self.required(Self.double(row["since"], "since"), "since")
        counts = try Self.object(row["counts"] ?? .object([:]), "counts").mapValues {
            try Self.required(Self.int($0, "a count"), "a count")
        }
        recent = try Self.array(row["recent"], "recent").map { value in
            let reply = try Self.object(value, "a reply")
            return Reply(
                status: try Self.required(Self.string(reply["status"], "a reply's status"), "a reply's status"),
                sender: try Self.string(reply["sender"], "sender"), subject: try Self.string(reply["subject"], "subject"),
                classification: try Self.string(reply["classification"], "classification"))
        }
        critical = try Self.array(row["critical"], "critical").map { value in
            let mail = try Self.object(value, "a message")
            return Mail(
                title: try Self.string(mail["title"], "title"), link: try Self.string(mail["link"], "link"),
                classification: try Self.string(mail["classification"], "classification"))
        }
        waiting = try Self.required(Self.int(row["waiting"], "waiting"), "waiting")
    }

    static func required<T>(_ value: T?, _ what: String) throws -> T {
        guard let value else { throw Malformed(description: "the briefing's snapshot lacks \(what)") }
        return value
    }

    static func object(_ value: JSONValue?, _ what: String) throws -> [String: JSONValue] {
        guard case .object(let fields)? = value else { throw Malformed(description: "\(what) in the briefing's snapshot is not an object") }
        return fields
    }

    static func array(_ value: JSONValue?, _ what: String) throws -> [JSONValue] {
        guard case .array(let items)? = value else { throw Malformed(description: "\(what) in the briefing's snapshot is not a list") }
        return items
    }

    static func string(_ value: JSONValue?, _ what: String) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw Malformed(description: "\(what) in the briefing's snapshot is not text")
        }
    }

    static func double(_ value: JSONValue?, _ what: String) throws -> Double? {
        switch value {
        case nil, .null?: return nil
        case .integer(let number)?: return Double(number)
        case .number(let number)?: return number
        default: throw Malformed(description: "\(what) in the briefing's snapshot is not a number")
        }
    }

    static func int(_ value: JSONValue?, _ what: String) throws -> Int? {
        switch value {
        case nil, .null?: return nil
        case .integer(let number)?: return Int(number)
        case .number(let number)? where number == number.rounded() && abs(number) < 1e15: return Int(number)
        default: throw Malformed(description: "\(what) in the briefing's snapshot is not a whole number")
        }
    }

    static func date(_ value: JSONValue?, _ what: String) throws -> Date? {
        guard let text = try string(value, what) else { return nil }
        guard let date = RFC3339.parse(text) else {
            throw Malformed(description: "\(what) in the briefing's snapshot is not an RFC 3339 time: \(text)")
        }
        return date
    }
}
