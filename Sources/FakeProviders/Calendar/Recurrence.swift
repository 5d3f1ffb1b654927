import Foundation

/// `RRULE` expansion for the rules calendars commonly hold: `FREQ` daily, weekly (with `BYDAY`),
/// monthly, yearly; `INTERVAL`, `COUNT`, `UNTIL`; `EXDATE` lines. Wall times stay put across
/// daylight-saving changes in the event's time zone.
struct RecurrenceRule: Sendable {
    enum Frequency: String, Sendable {
        case daily = "DAILY"
        case weekly = "WEEKLY"
        case monthly = "MONTHLY"
        case yearly = "YEARLY"
    }

    let frequency: Frequency
    let interval: Int
    let count: Int?
    let until: Int64?
    /// Weekdays 0 = Sunday ... 6 = Saturday.
    let byDay: [Int]
    /// Excluded original starts (epoch ms).
    let exdates: Set<Int64>

    /// Parses the `recurrence` lines of an event; nil when there is no usable `RRULE`.
    init?(lines: [String]) {
        guard let rule = lines.first(where: { $0.uppercased().hasPrefix("RRULE:") }) else { return nil }
        var parts: [String: String] = [:]
        for piece in rule.dropFirst(6).split(separator: ";") {
            let pair = piece.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { parts[pair[0].uppercased()] = String(pair[1]) }
        }
        guard let frequency = parts["FREQ"].flatMap({ Frequency(rawValue: $0.uppercased()) }) else { return nil }
        self.frequency = frequency
        interval = max(1, Int(parts["INTERVAL"] ?? "1") ?? 1)
        count = parts["COUNT"].flatMap { Int($0) }
        until = parts["UNTIL"].flatMap(Self.parseICalTime)
        let days = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
        byDay = (parts["BYDAY"] ?? "").split(separator: ",").compactMap { day in days.firstIndex(of: String(day.suffix(2)).uppercased()) }
        var excluded: Set<Int64> = []
        for line in lines where line.uppercased().hasPrefix("EXDATE") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            for value in line[line.index(after: colon)...].split(separator: ",") {
                if let millis = Self.parseICalTime(String(value)) { excluded.insert(millis) }
            }
        }
        exdates = excluded
    }

    /// `20240603T100000Z`, `20240603T100000` (UTC assumed) or `20240603`.
    static func parseICalTime(_ text: String) -> Int64? {
        let digits = text.filter(\.isNumber)
        guard digits.count >= 8, let y = Int64(digits.prefix(4)), let m = Int64(digits.dropFirst(4).prefix(2)),
            let d = Int64(digits.dropFirst(6).prefix(2))
        else { return nil }
        var millis = Timestamps.days(year: y, month: m, day: d) * 86_400_000
        if digits.count >= 14, let h = Int64(digits.dropFirst(8).prefix(2)), let mi = Int64(digits.dropFirst(10).prefix(2)),
            let s = Int64(digits.dropFirst(12).prefix(2))
        {
            millis += (h * 3600 + mi * 60 + s) * 1000
        }
        return millis
    }

    /// Original start times (epoch ms) of the occurrences starting before `limit`, at most `maximum`.
    func occurrences(start: Int64, zone: TimeZone, limit: Int64, maximum: Int = 1000) -> [Int64] {
        let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(start) / 1000))) * 1000
        let localStart = start + offset
        let startDay = Self.floorDiv(localStart, 86_400_000)
        let timeOfDay = localStart - startDay * 86_400_000
        let (sy, sm, sd) = Timestamps.civil(days: startDay)
        var result: [Int64] = []
        var produced = 0
        func emit(day: Int64) -> Bool {
            let local = day * 86_400_000 + timeOfDay
            let guess = local - offset
            let actualOffset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(guess) / 1000))) * 1000
            let utc = local - actualOffset
            if let until, utc > until + 999 { return false }
            if utc >= limit { return false }
            produced += 1
            if let count, produced > count { return false }
            if !exdates.contains(utc) { result.append(utc) }
            return result.count < maximum
        }
        switch frequency {
        case .daily:
            var day = startDay
            while emit(day: day) { day += Int64(interval) }
        case .weekly:
            let startWeekday = Int((startDay + 4) % 7 + 7) % 7
            let days = byDay.isEmpty ? [startWeekday] : byDay.sorted()
            var weekStart = startDay - Int64(startWeekday)
            outer: while true {
                for weekday in days {
                    let day = weekStart + Int64(weekday)
                    if day < startDay { continue }
                    if !emit(day: day) { break outer }
                }
                weekStart += Int64(7 * interval)
                if weekStart * 86_400_000 - offset > limit + 7 * 86_400_000 { break }
            }
        case .monthly, .yearly:
            var step: Int64 = 0
            while true {
                let months = frequency == .monthly ? step * Int64(interval) : step * Int64(interval) * 12
                let total = (sy * 12 + (sm - 1)) + months
                let y = Self.floorDiv(total, 12)
                let m = total - y * 12 + 1
                let day = Timestamps.days(year: y, month: m, day: sd)
                if Timestamps.civil(days: day).day == sd {
                    if !emit(day: day) { break }
                } else if day * 86_400_000 - offset > limit {
                    break
                }
                step += 1
                if step > 5000 { break }
            }
        }
        return result
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }
}
