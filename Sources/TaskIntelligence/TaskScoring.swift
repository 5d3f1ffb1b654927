import Foundation

/// What makes a task urgent or important, as discovered from its sources.
public struct UrgencySignals: Sendable, Codable, Equatable {
    /// When it is due.
    public var deadline: Date?
    /// How senior whoever asked is, 0–15 (the directory's VIPs 15).
    public var senderSeniority: Int
    /// How many times it was asked about again (follow-up messages, pings).
    public var followUps: Int
    /// When a service-level timer runs out.
    public var slaDue: Date?
    /// How many other items wait for it.
    public var blocking: Int

    public init(deadline: Date? = nil, senderSeniority: Int = 0, followUps: Int = 0, slaDue: Date? = nil, blocking: Int = 0) {
        self.deadline = deadline
        self.senderSeniority = senderSeniority
        self.followUps = followUps
        self.slaDue = slaDue
        self.blocking = blocking
    }

    enum CodingKeys: String, CodingKey {
        case deadline
        case senderSeniority = "sender_seniority"
        case followUps = "follow_ups"
        case slaDue = "sla_due"
        case blocking
    }

    /// A signal left out is none (stored signals written by an older discovery may lack one).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        deadline = try container.decodeIfPresent(Date.self, forKey: .deadline)
        senderSeniority = try container.decodeIfPresent(Int.self, forKey: .senderSeniority) ?? 0
        followUps = try container.decodeIfPresent(Int.self, forKey: .followUps) ?? 0
        slaDue = try container.decodeIfPresent(Date.self, forKey: .slaDue)
        blocking = try container.decodeIfPresent(Int.self, forKey: .blocking) ?? 0
    }
}

/// A task's priority score, 0–100, and its parts.
public struct TaskScore: Sendable, Codable, Equatable {
    /// 0–30: overdue 30, under 4 h 28, under 24 h 22, under 3 days 15, under 7 days 10, else 5.
    public let deadline: Int
    /// 0–15.
    public let seniority: Int
    /// 0–20: none 0, one 5, two 10, three or four 15, five or more 20.
    public let followUps: Int
    /// 0–20: breached 20, under 1 h 18, under 4 h 14, under 24 h 8, later 3, no timer 0.
    public let sla: Int
    /// 0–15: blocks one 8, two or three 12, four or more 15.
    public let blocking: Int

    public var total: Int { deadline + seniority + followUps + sla + blocking }

    /// 0–100 from the time-bound parts (deadline and SLA, 50 points at most).
    public var urgency: Int { (deadline + sla) * 2 }
    /// 0–100 from the rest (seniority, follow-ups, blocking, 50 points at most).
    public var importance: Int { (seniority + followUps + blocking) * 2 }

    /// The Eisenhower quadrant: urgent and important split at 50.
    public var quadrant: Quadrant {
        switch (urgency >= 50, importance >= 50) {
        case (true, true): .doFirst
        case (false, true): .schedule
        case (true, false): .delegate
        case (false, false): .eliminate
        }
    }

    enum CodingKeys: String, CodingKey {
        case deadline, seniority, sla, blocking
        case followUps = "follow_ups"
    }
}

/// The Eisenhower matrix.
public enum Quadrant: String, Sendable, Codable, CaseIterable {
    case doFirst = "do_first"
    case schedule
    case delegate
    case eliminate
}

/// The SPEC's priority score.
public enum TaskScoring {
    public static func score(_ signals: UrgencySignals, now: Date) -> TaskScore {
        TaskScore(
            deadline: deadlinePoints(signals.deadline, now: now), seniority: min(15, max(0, signals.senderSeniority)),
            followUps: followUpPoints(signals.followUps), sla: slaPoints(signals.slaDue, now: now),
            blocking: blockingPoints(signals.blocking))
    }

    static func deadlinePoints(_ deadline: Date?, now: Date) -> Int {
        guard let deadline else { return 5 }
        let left = deadline.timeIntervalSince(now)
        switch left {
        case ..<0: return 30
        case ..<(4 * 3600): return 28
        case ..<(24 * 3600): return 22
        case ..<(3 * 86_400): return 15
        case ..<(7 * 86_400): return 10
        default: return 5
        }
    }

    static func followUpPoints(_ count: Int) -> Int {
        switch count {
        case ...0: 0
        case 1: 5
        case 2: 10
        case 3...4: 15
        default: 20
        }
    }

    static func slaPoints(_ due: Date?, now: Date) -> Int {
        guard let due else { return 0 }
        let left = due.timeIntervalSince(now)
        switch left {
        case ..<0: return 20
        case ..<3600: return 18
        case ..<(4 * 3600): return 14
        case ..<(24 * 3600): return 8
        default: return 3
        }
    }

    static func blockingPoints(_ count: Int) -> Int {
        switch count {
        case ...0: 0
        case 1: 8
        case 2...3: 12
        default: 15
        }
    }
}
