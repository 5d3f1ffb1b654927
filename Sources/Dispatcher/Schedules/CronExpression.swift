import Contracts
import Foundation

/// A five-field cron expression (`minute hour day-of-month month day-of-week`) with `*`,
/// numbers, ranges, lists and steps, plus `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.
/// As in Vixie cron, when both day fields are restricted a day matching either fires.
///
/// Times are wall-clock times in an IANA time zone. Across daylight-saving changes: a time that
/// does not exist that day (spring forward) fires at the first instant after the gap; a time
/// that occurs twice (fall back) fires once, at its first occurrence.
struct CronExpression: Sendable, Equatable {
    /// Why a cron expression is refused.
    struct CronError: Error, Equatable, FleetErrorConvertible, CustomStringConvertible {
        let message: String
        var description: String { message }
        var fleetError: FleetError { .invalidRequest(message) }
    }

    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    init(_ text: String) throws(CronError) {
        let aliases = [
            "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *",
            "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
        ]
        let expanded = aliases[text.trimmingCharacters(in: .whitespaces).lowercased()] ?? text
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw CronError(message: "cron '\(text.prefix(60))' needs 5 fields: minute hour day-of-month month day-of-week")
        }
        minutes = try Self.parse(fields[0], 0...59, "minute")
        hours = try Self.parse(fields[1], 0...23, "hour")
        daysOfMonth = try Self.parse(fields[2], 1...31, "day-of-month")
        months = try Self.parse(
            fields[3], 1...12, "month", names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
        // 0 and 7 are both Sunday.
        daysOfWeek = Set(
            try Self.parse(fields[4], 0...7, "day-of-week", names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"], nameOffset: 0).map {
                $0 % 7
            })
        dayOfMonthRestricted = fields[2] != "*" && fields[2] != "?"
        dayOfWeekRestricted = fields[4] != "*" && fields[4] != "?"
    }

    private static func parse(
        _ field: String, _ range: ClosedRange<Int>, _ name: String, names: [String] = [], nameOffset: Int = 1
    ) throws(CronError) -> Set<Int> {
        func value(_ token: Substring) throws(CronError) -> Int {
            if let number = Int(token), range.contains(number) { return number }
            if let index = names.firstIndex(of: token.lowercased()) { return index + nameOffset }
            throw CronError(message: "cron \(name) '\(token)' is not in \(range.lowerBound)-\(range.upperBound)")
        }
        var out: Set<Int> = []
        for part in field.split(separator: ",") {
            let pieces = part.split(separator: "/", maxSplits: 1)
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw CronError(message: "cron \(name) step '\(pieces[1])' must be a positive number")
                }
                step = parsed
            }
            let base = pieces[0]
            var lower = range.lowerBound
            var upper = range.upperBound
            if base == "*" || base == "?" {
                // whole range
            } else if let dash = base.firstIndex(of: "-") {
                lower = try value(base[base.startIndex..<dash])
                upper = try value(base[base.index(after: dash)...])
                guard lower <= upper else { throw CronError(message: "cron \(name) range '\(base)' is backwards") }
            } else {
                lower = try value(base)
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            out.formUnion(stride(from: lower, through: upper, by: step))
        }
        guard !out.isEmpty else { throw CronError(message: "cron \(name) '\(field)' matches nothing") }
        return out
    }

    /// The first firing time strictly after `date`, in `timeZone`.
    func next(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        guard var day = calendar.date(from: DateComponents(year: start.year, month: start.month, day: start.day, hour: 12)) else {
            return nil
        }
        let sortedHours = hours.sorted()
        let sortedMinutes = minutes.sorted()
        for _ in 0..<(366 * 5) {
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            if let month = parts.month, let dayOfMonth = parts.day, let weekday = parts.weekday, months.contains(month),
                matchesDay(dayOfMonth: dayOfMonth, dayOfWeek: weekday - 1)
            {
                for hour in sortedHours {
                    for minute in sortedMinutes {
                        let local = DateComponents(year: parts.year, month: month, day: dayOfMonth, hour: hour, minute: minute)
                        guard let candidate = calendar.date(from: local), candidate > date else { continue }
                        return candidate
                    }
                }
            }
            guard let following = calendar.date(byAdding: .day, value: 1, to: day) else { return nil }
            day = following
        }
        return nil
    }

    private func matchesDay(dayOfMonth: Int, dayOfWeek: Int) -> Bool {
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): daysOfMonth.contains(dayOfMonth) || daysOfWeek.contains(dayOfWeek)
        case (true, false): daysOfMonth.contains(dayOfMonth)
        case (false, true): daysOfWeek.contains(dayOfWeek)
        case (false, false): true
        }
    }
}
