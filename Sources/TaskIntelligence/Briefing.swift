import Contracts
import Foundation

/// A user's daily briefing as the `briefing` worker makes it and the API serves it: the top
/// tasks with their quadrants, deep-work blocks in the day's free time, what the
/// auto-responder did since the last briefing, alerts, and the state of every connector the
/// briefing drew on. A connector that failed or is stale makes the briefing `partial`, naming
/// what is missing; a policy engine that cannot answer makes no briefing, only the reason
/// (`unavailable`).
public struct Briefing: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case ready, partial, unavailable
    }

    public struct Task: Codable, Sendable, Equatable {
        public var id: String
        public var title: String
        public var score: Int
        public var quadrant: Quadrant
        public var urgency: Int
        public var importance: Int
        /// RFC 3339, UTC.
        public var deadline: String?
        public var sources: [TaskSource]
        public var classification: String

        public init(
            id: String, title: String, score: Int, quadrant: Quadrant, urgency: Int, importance: Int, deadline: String?,
            sources: [TaskSource], classification: String
        ) {
            self.id = id
            self.title = title
            self.score = score
            self.quadrant = quadrant
            self.urgency = urgency
            self.importance = importance
            self.deadline = deadline
            self.sources = sources
            self.classification = classification
        }
    }

    /// A stretch of the working day: a deep-work suggestion in a free gap.
    public struct TimeBlock: Codable, Sendable, Equatable {
        /// RFC 3339 in the briefing's time zone.
        public var start: String
        public var end: String
        public var minutes: Int
        /// `Deep work: <task>`, or `Free` when there are more gaps than tasks.
        public var label: String
        public var taskID: String?

        public init(start: String, end: String, minutes: Int, label: String, taskID: String?) {
            self.start = start
            self.end = end
            self.minutes = minutes
            self.label = label
            self.taskID = taskID
        }

        enum CodingKeys: String, CodingKey {
            case start, end, minutes, label
            case taskID = "task_id"
        }
    }

    /// What the auto-responder did since the previous briefing.
    public struct AutoResponses: Codable, Sendable, Equatable {
        public var since: String?
        public var sent = 0
        public var awaitingApproval = 0
        public var refused = 0
        public var inProgress = 0
        /// The latest few: whom, about what (where its words may travel), and what became of it.
        public var recent: [Reply] = []

        public struct Reply: Codable, Sendable, Equatable {
            public var to: String
            public var subject: String
            public var status: String

            public init(to: String, subject: String, status: String) {
                self.to = to
                self.subject = subject
                self.status = status
            }
        }

        public init(since: String?) { self.since = since }

        enum CodingKeys: String, CodingKey {
            case since, sent, refused, recent
            case awaitingApproval = "awaiting_approval"
            case inProgress = "in_progress"
        }
    }

    public struct Alert: Codable, Sendable, Equatable {
        /// `critical_mail`, `overdue`, `approval`, `connector`.
        public var kind: String
        public var text: String
        public var link: String?

        public init(kind: String, text: String, link: String? = nil) {
            self.kind = kind
            self.text = text
            self.link = link
        }
    }

    /// A connected account as the briefing found it.
    public struct ConnectorState: Codable, Sendable, Equatable {
        public enum Status: String, Codable, Sendable {
            /// Synced recently without error (and answered now, where asked).
            case ok
            /// Usable but stale: not synced within the freshness window, or never synced.
            case partial
            /// Its last sync failed, or it must be connected again.
            case error
            /// The provider could not be reached while the briefing was made.
            case unreachable
        }

        public var connector: String
        public var status: Status
        public var lastSyncAt: String?
        public var detail: String?

        public init(connector: String, status: Status, lastSyncAt: String?, detail: String?) {
            self.connector = connector
            self.status = status
            self.lastSyncAt = lastSyncAt
            self.detail = detail
        }

        enum CodingKeys: String, CodingKey {
            case connector, status, detail
            case lastSyncAt = "last_sync_at"
        }
    }

    /// Data left out, counted by why.
    public struct Withheld: Codable, Sendable, Equatable {
        public var count = 0
        public var reasons: [String: Int] = [:]

        public init() {}

        public mutating func add(_ reason: String, _ count: Int = 1) {
            guard count > 0 else { return }
            self.count += count
            reasons[reason, default: 0] += count
        }
    }

    public var id: String
    public var user: String
    /// `YYYY-MM-DD` in `timeZone`.
    public var date: String
    public var timeZone: String
    public var generatedAt: String
    public var status: Status
    /// Why there is no briefing (`unavailable`).
    public var reason: String?
    /// What a partial briefing lacks, one line per source.
    public var missing: [String] = []
    /// The highest level of what it carries.
    public var classification: String
    public var tasks: [Task] = []
    /// Every open task by quadrant (not only the ones listed).
    public var quadrants: [String: Int] = [:]
    public var timeBlocks: [TimeBlock] = []
    public var freeMinutes = 0
    public var autoResponses: AutoResponses?
    public var alerts: [Alert] = []
    public var connectorStatus: [ConnectorState] = []
    public var withheld = Withheld()
    /// How it was delivered beyond the API: `email` → `sent`, `not_requested`, or why not.
    public var delivery: [String: String] = [:]

    public init(id: String, user: String, date: String, timeZone: String, generatedAt: String, status: Status, classification: String) {
        self.id = id
        self.user = user
        self.date = date
        self.timeZone = timeZone
        self.generatedAt = generatedAt
        self.status = status
        self.classification = classification
    }

    enum CodingKeys: String, CodingKey {
        case id, user, date, status, reason, missing, classification, tasks, quadrants, alerts, withheld, delivery
        case timeZone = "time_zone"
        case generatedAt = "generated_at"
        case timeBlocks = "time_blocks"
        case freeMinutes = "free_minutes"
        case autoResponses = "auto_responses"
        case connectorStatus = "connector_status"
    }

    public var partial: Bool { status == .partial }

    /// The briefing with only what may go where at most `level` may (`levels` ordered lowest
    /// first): tasks above it, and the blocks and alerts naming them, are left out and counted.
    public func limited(to level: String, levels: [String]) -> Briefing {
        guard let cap = levels.firstIndex(of: level) else { return self }
        func fits(_ classification: String) -> Bool { (levels.firstIndex(of: classification) ?? levels.count) <= cap }
        var copy = self
        let dropped = Set(tasks.filter { !fits($0.classification) }.map(\.id))
        guard !dropped.isEmpty || !fits(classification) else { return self }
        copy.tasks = tasks.filter { !dropped.contains($0.id) }
        copy.withheld.add("above \(level)", dropped.count)
        copy.timeBlocks = timeBlocks.map { block in
            guard let task = block.taskID, dropped.contains(task) else { return block }
            return TimeBlock(start: block.start, end: block.end, minutes: block.minutes, label: "Deep work", taskID: nil)
        }
        if let replies = autoResponses, !fits(classification) {
            var kept = replies
            kept.recent = []
            copy.autoResponses = kept
        }
        copy.alerts = alerts.filter { $0.kind == "connector" || $0.kind == "approval" }
        copy.withheld.add("alerts above \(level)", alerts.count - copy.alerts.count)
        copy.classification = fits(classification) ? classification : level
        return copy
    }
}

/// Free time in a working day and the deep-work suggestions placed in it: the highest-scored
/// task in the largest gap, the next in the next largest, and so on.
public enum TimeBlocks {
    public struct Interval: Sendable, Equatable {
        public var start: Date
        public var end: Date

        public init(start: Date, end: Date) {
            self.start = start
            self.end = end
        }

        public var seconds: TimeInterval { end.timeIntervalSince(start) }
    }

    /// The gaps of at least `minimum` between `busy` intervals within `window`, in time order.
    public static func free(busy: [Interval], within window: Interval, minimum: TimeInterval = 1800) -> [Interval] {
        var gaps: [Interval] = []
        var cursor = window.start
        for interval in busy.sorted(by: { $0.start < $1.start }) where interval.end > window.start && interval.start < window.end {
            if interval.start > cursor { gaps.append(Interval(start: cursor, end: min(interval.start, window.end))) }
            cursor = max(cursor, interval.end)
        }
        if cursor < window.end { gaps.append(Interval(start: cursor, end: window.end)) }
        return gaps.filter { $0.seconds >= minimum }
    }

    /// Pairs gaps with tasks (given highest score first): the largest gap (the earlier of equal
    /// ones) gets the first task. Returned in time order; gaps beyond the tasks get none.
    public static func assign<T>(_ gaps: [Interval], to tasks: [T]) -> [(interval: Interval, task: T?)] {
        let bySize = gaps.indices.sorted { gaps[$0].seconds != gaps[$1].seconds ? gaps[$0].seconds > gaps[$1].seconds : $0 < $1 }
        var chosen: [Int: T] = [:]
        for (rank, index) in bySize.enumerated() where rank < tasks.count { chosen[index] = tasks[rank] }
        return gaps.indices.map { (gaps[$0], chosen[$0]) }
    }

    /// The working window of `day` (`YYYY-MM-DD`) in `zone`: `startHour`:00 to `endHour`:00,
    /// begun no earlier than `now`. Nil for a day that does not parse or is over.
    public static func workingWindow(day: String, zone: TimeZone, startHour: Int, endHour: Int, now: Date) -> Interval? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3,
            let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: startHour)),
            let end = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: endHour))
        else { return nil }
        let from = max(start, now)
        return from < end ? Interval(start: from, end: end) : nil
    }

    /// `date` as RFC 3339 with `zone`'s offset (`2026-12-01T09:00:00+01:00`).
    public static func local(_ date: Date, _ zone: TimeZone) -> String {
        RFC3339.format(date, offset: zone.secondsFromGMT(for: date))
    }

    /// Today in `zone`, `YYYY-MM-DD`.
    public static func today(in zone: TimeZone, now: Date = Date()) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }
}
