import Foundation

/// A synced item as discovery reads it (a record of the tenant's `items` table, with what the
/// classifier and the mail threads add).
public struct SyncedRecord: Sendable, Equatable {
    /// `gmail`, `gcal`, `jira`, `github`, `gdrive`.
    public var connector: String
    public var sourceID: String
    /// `message`, `event`, `ticket`, `pull_request`, `issue`, `file`.
    public var type: String
    public var title: String
    public var link: String?
    public var status: String?
    /// Addresses or logins by role: `from`, `to`, `assignee`, `reporter`, `author`, `assignees`,
    /// `organizer`, `attendees` (lowercased addresses).
    public var people: [String: [String]]
    /// What the connector recorded besides (string values only): `key`, `status_category`,
    /// `due`, `priority`, `review_requested`, `assigned`, `labels`, `self_response`, `end`…
    public var details: [String: String]
    public var occurredAt: Date?
    /// The classifier's class for a message.
    public var messageClass: String?
    public var classification: String
    /// For a message: how many messages of its thread came from others, and whether the user
    /// wrote in the thread after it.
    public var threadInbound: Int
    public var replied: Bool

    public init(
        connector: String, sourceID: String, type: String, title: String, link: String? = nil, status: String? = nil,
        people: [String: [String]] = [:], details: [String: String] = [:], occurredAt: Date? = nil, messageClass: String? = nil,
        classification: String = "internal", threadInbound: Int = 0, replied: Bool = false
    ) {
        self.connector = connector
        self.sourceID = sourceID
        self.type = type
        self.title = title
        self.link = link
        self.status = status
        self.people = people
        self.details = details
        self.occurredAt = occurredAt
        self.messageClass = messageClass
        self.classification = classification
        self.threadInbound = threadInbound
        self.replied = replied
    }

    /// `connector:sourceID`, what a task names its sources by.
    public var key: String { "\(connector):\(sourceID)" }
}

/// Whose tasks are discovered: their addresses and logins, and the tenant's directory.
public struct TaskOwner: Sendable {
    /// Addresses and logins that are the user (mail address, GitHub login), lowercased.
    public var identities: Set<String>
    public var vips: Set<String>
    public var internalDomains: Set<String>

    public init(identities: Set<String>, vips: Set<String> = [], internalDomains: Set<String> = []) {
        self.identities = Set(identities.map { $0.lowercased() })
        self.vips = Set(vips.map { $0.lowercased() })
        self.internalDomains = Set(internalDomains.map { $0.lowercased() })
    }

    func isMe(_ person: String) -> Bool { identities.contains(person.lowercased()) }
}

/// Where a task comes from.
public struct TaskSource: Sendable, Codable, Equatable {
    public var system: String
    public var id: String
    public var url: String?
    public var title: String

    public init(system: String, id: String, url: String?, title: String) {
        self.system = system
        self.id = id
        self.url = url
        self.title = title
    }
}

/// A task as discovery found it: one or more sources that are the same piece of work.
public struct DiscoveredTask: Sendable, Equatable {
    public var title: String
    public var sources: [TaskSource]
    public var signals: UrgencySignals
    public var score: TaskScore
    public var classification: String
    /// Source keys (`connector:id`) of tasks that are possibly the same work.
    public var related: [String]

    /// The sources' keys.
    public var keys: [String] { sources.map { "\($0.system):\($0.id)" } }
}

/// Finds the user's tasks in their synced items: mail that needs their answer, Jira issues
/// assigned to them and open, pull requests waiting for their review, GitHub issues assigned to
/// them, and meetings soon that need preparation. Items that are the same work (correlation
/// ≥ 0.8) become one task with all their sources; 0.5–0.8 are kept apart and marked related.
public enum TaskDiscovery {
    /// How far ahead meetings are looked at, and how old mail may be to still be a task.
    public static let meetingHorizon: TimeInterval = 3 * 86_400
    public static let mailHorizon: TimeInterval = 14 * 86_400

    public static func discover(_ records: [SyncedRecord], for owner: TaskOwner, now: Date) -> [DiscoveredTask] {
        let candidates = records.compactMap { candidate($0, owner: owner, now: now) }
        // Union of the candidates that are one task.
        var parent = Array(candidates.indices)
        func root(_ index: Int) -> Int {
            var index = index
            while parent[index] != index {
                parent[index] = parent[parent[index]]
                index = parent[index]
            }
            return index
        }
        let items = candidates.map(\.correlation)
        var related: [(Int, Int)] = []
        for first in candidates.indices {
            for second in candidates.indices where second > first {
                switch Correlation.relation(items[first], items[second]) {
                case .same: parent[root(second)] = root(first)
                case .possiblyRelated: related.append((first, second))
                case .separate: break
                }
            }
        }
        var groups: [Int: [Int]] = [:]
        for index in candidates.indices { groups[root(index), default: []].append(index) }
        var tasks: [Int: DiscoveredTask] = [:]
        for (head, members) in groups {
            tasks[head] = merge(members.map { candidates[$0] }, now: now)
        }
        for (first, second) in related where root(first) != root(second) {
            let (a, b) = (root(first), root(second))
            let (keyOfA, keyOfB) = (tasks[a]?.keys.first, tasks[b]?.keys.first)
            if let keyOfB { tasks[a]?.related.append(keyOfB) }
            if let keyOfA { tasks[b]?.related.append(keyOfA) }
        }
        return tasks.values.map { task in
            var task = task
            task.related = Array(Set(task.related)).sorted()
            return task
        }.sorted { ($0.score.total, $1.keys.first ?? "") > ($1.score.total, $0.keys.first ?? "") }
    }

    struct Candidate {
        let record: SyncedRecord
        let title: String
        let signals: UrgencySignals
        let correlation: CorrelationItem
        /// Which source names the merged task (a ticket before a pull request before mail…).
        let rank: Int
    }

    static func candidate(_ record: SyncedRecord, owner: TaskOwner, now: Date) -> Candidate? {
        var participants = Set(record.people.values.flatMap { $0 }.map { $0.lowercased() }.filter { !$0.isEmpty })
        participants.subtract(owner.identities)
        var identities: Set<String> = []
        if let link = record.link { identities.insert(link.lowercased()) }
        func make(_ title: String, _ signals: UrgencySignals, rank: Int, text: String = "") -> Candidate {
            Candidate(
                record: record, title: title, signals: signals,
                correlation: CorrelationItem(
                    system: record.connector, title: record.title, text: text, identities: identities, participants: participants,
                    occurredAt: record.occurredAt),
                rank: rank)
        }
        switch (record.connector, record.type) {
        case ("gmail", "message"):
            guard let messageClass = record.messageClass, messageClass == "needs_response" || messageClass == "critical",
                !record.replied, let from = record.people["from"]?.first, !owner.isMe(from),
                record.people["to"]?.contains(where: owner.isMe) == true,
                let when = record.occurredAt, now.timeIntervalSince(when) < mailHorizon
            else { return nil }
            let critical = messageClass == "critical"
            let signals = UrgencySignals(
                senderSeniority: seniority(from, owner), followUps: max(0, record.threadInbound - 1),
                slaDue: when + (critical ? 4 * 3600 : 24 * 3600))
            return make("Reply: \(record.title.isEmpty ? "(no subject)" : record.title)", signals, rank: 3)
        case ("jira", "ticket"):
            guard record.people["assignee"]?.contains(where: owner.isMe) == true, record.details["status_category"] != "done" else {
                return nil
            }
            if let key = record.details["key"] { identities.insert(key.lowercased()) }
            let blockers = (record.details["labels"] ?? "").lowercased().split(separator: ",").contains { $0 == "blocker" } ? 1 : 0
            let signals = UrgencySignals(
                deadline: record.details["due"].flatMap(endOfDay), senderSeniority: prioritySeniority(record.details["priority"]),
                blocking: blockers)
            let key = record.details["key"].map { "\($0) " } ?? ""
            return make("\(key)\(record.title)", signals, rank: 0)
        case ("github", "pull_request") where record.details["review_requested"] == "true" && record.status == "open":
            identities.insert(record.sourceID.lowercased())
            let author = record.people["author"]?.first ?? ""
            let signals = UrgencySignals(senderSeniority: seniority(author, owner))
            return make("Review \(record.sourceID): \(record.title)", signals, rank: 1, text: record.details["branch"] ?? "")
        case ("github", "issue") where record.details["assigned"] == "true" && record.status == "open":
            identities.insert(record.sourceID.lowercased())
            return make("\(record.sourceID): \(record.title)", UrgencySignals(), rank: 2)
        case ("gcal", "event"):
            guard let start = record.occurredAt, start > now, start.timeIntervalSince(now) <= meetingHorizon,
                record.status != "cancelled", record.details["self_response"] != "declined",
                (record.people["attendees"]?.count ?? 0) >= 3 || record.people["organizer"]?.first.map(owner.isMe) == true
            else { return nil }
            let organizer = record.people["organizer"]?.first ?? ""
            let signals = UrgencySignals(deadline: start, senderSeniority: owner.isMe(organizer) ? 10 : seniority(organizer, owner))
            return make("Prepare: \(record.title)", signals, rank: 4)
        default:
            return nil
        }
    }

    /// The merged task: named by its highest-ranked source, the most pressing of each signal.
    static func merge(_ members: [Candidate], now: Date) -> DiscoveredTask {
        let ordered = members.sorted { ($0.rank, $0.record.key) < ($1.rank, $1.record.key) }
        var signals = ordered[0].signals
        for other in ordered.dropFirst() {
            signals.deadline = [signals.deadline, other.signals.deadline].compactMap { $0 }.min()
            signals.slaDue = [signals.slaDue, other.signals.slaDue].compactMap { $0 }.min()
            signals.senderSeniority = max(signals.senderSeniority, other.signals.senderSeniority)
            signals.followUps += other.signals.followUps
            signals.blocking = max(signals.blocking, other.signals.blocking)
        }
        let levels = ["public", "internal", "confidential", "restricted"]
        let level = ordered.map { levels.firstIndex(of: $0.record.classification) ?? 3 }.max() ?? 3
        return DiscoveredTask(
            title: ordered[0].title,
            sources: ordered.map {
                TaskSource(system: $0.record.connector, id: $0.record.sourceID, url: $0.record.link, title: $0.record.title)
            },
            signals: signals, score: TaskScoring.score(signals, now: now), classification: levels[level], related: [])
    }

    /// 15 for the directory's VIPs, 5 for colleagues (the tenant's domains), 3 for anyone else.
    static func seniority(_ person: String, _ owner: TaskOwner) -> Int {
        let address = person.lowercased()
        if owner.vips.contains(address) { return 15 }
        let domain = address.split(separator: "@").last.map(String.init) ?? ""
        if owner.internalDomains.contains(where: { domain == $0 || domain.hasSuffix("." + $0) }) { return 5 }
        return 3
    }

    /// A Jira priority as the asker's weight: Highest 15, High 10, Medium 5, else 0.
    static func prioritySeniority(_ priority: String?) -> Int {
        switch priority?.lowercased() {
        case "highest", "blocker", "critical": 15
        case "high", "major": 10
        case "medium": 5
        default: 0
        }
    }

    /// The end (23:59:59 UTC) of a `YYYY-MM-DD` day.
    static func endOfDay(_ day: String) -> Date? {
        let parts = day.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day) = (parts[0], parts[1], parts[2])
        components.hour = 23
        components.minute = 59
        components.second = 59
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)
    }
}
