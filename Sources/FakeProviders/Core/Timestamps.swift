import Foundation

/// The vendors' timestamp formats, from epoch milliseconds, without `DateFormatter` on hot paths.
enum Timestamps {
    /// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// (year, month, day) → days since 1970-01-01.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    private static func parts(_ ms: Int64) -> (date: String, time: String, millis: String) {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let millis = ms - seconds * 1000
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = seconds - days * 86400
        let (y, m, d) = civil(days: days)
        return (
            "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))", "\(pad(rest / 3600, 2)):\(pad(rest % 3600 / 60, 2)):\(pad(rest % 60, 2))",
            pad(millis, 3)
        )
    }

    /// `2024-06-03T10:00:00.000Z` (Calendar `updated`, Drive times).
    static func rfc3339Millis(_ ms: Int64) -> String {
        let p = parts(ms)
        return "\(p.date)T\(p.time).\(p.millis)Z"
    }

    /// `2024-06-03T10:00:00Z` (GitHub, free/busy).
    static func rfc3339(_ ms: Int64) -> String {
        let p = parts(ms)
        return "\(p.date)T\(p.time)Z"
    }

    /// `2024-05-01T12:34:56.789+0000` (Jira).
    static func jira(_ ms: Int64) -> String {
        let p = parts(ms)
        return "\(p.date)T\(p.time).\(p.millis)+0000"
    }

    /// `2024-06-03`.
    static func date(_ ms: Int64) -> String { parts(ms).date }

    /// `2024-06-03T12:00:00+02:00`: the wall time in `zone` with its offset.
    static func rfc3339(_ ms: Int64, zone: TimeZone) -> String {
        let offset = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000)))
        let p = parts(ms + offset * 1000)
        if offset == 0 { return "\(p.date)T\(p.time)Z" }
        let sign = offset < 0 ? "-" : "+"
        let magnitude = abs(offset)
        return "\(p.date)T\(p.time)\(sign)\(pad(magnitude / 3600, 2)):\(pad(magnitude % 3600 / 60, 2))"
    }

    /// RFC 2822 date for mail headers: `Mon, 03 Jun 2024 10:00:00 +0000`.
    static func rfc2822(_ ms: Int64) -> String {
        let seconds = ms / 1000
        let days = seconds / 86400
        let (y, m, d) = civil(days: days)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][Int(m - 1)]
        let rest = seconds % 86400
        return "\(weekday), \(pad(d, 2)) \(month) \(y) \(pad(rest / 3600, 2)):\(pad(rest % 3600 / 60, 2)):\(pad(rest % 60, 2)) +0000"
    }

    /// Parses RFC 3339 with a mandatory offset (`Z`, `+02:00`, `+0200`), optional fraction.
    static func parseRFC3339(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        guard chars.count >= 20 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= chars.count else { return nil }
            var value: Int64 = 0
            for byte in chars[from..<from + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let y = number(0, 4), chars[4] == 45, let mo = number(5, 2), chars[7] == 45, let d = number(8, 2),
            chars[10] == 84 || chars[10] == 116, let h = number(11, 2), chars[13] == 58, let mi = number(14, 2), chars[16] == 58,
            let s = number(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var index = 19
        var millis: Int64 = 0
        if index < chars.count, chars[index] == 46 {
            index += 1
            var digits = 0
            while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                if digits < 3 { millis = millis * 10 + Int64(chars[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<3 where digits < 3 { millis *= 10 }
        }
        guard index < chars.count else { return nil }
        var offsetSeconds: Int64 = 0
        if chars[index] == 90 || chars[index] == 122 {
            index += 1
        } else if chars[index] == 43 || chars[index] == 45 {
            let sign: Int64 = chars[index] == 45 ? -1 : 1
            guard let oh = number(index + 1, 2) else { return nil }
            var om: Int64 = 0
            if index + 3 < chars.count, chars[index + 3] == 58, let value = number(index + 4, 2) {
                om = value
                index += 6
            } else if let value = number(index + 3, 2) {
                om = value
                index += 5
            } else {
                return nil
            }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard index == chars.count else { return nil }
        let seconds = days(year: y, month: mo, day: d) * 86400 + h * 3600 + mi * 60 + s - offsetSeconds
        return seconds * 1000 + millis
    }

    /// Parses `yyyy-mm-dd` to the epoch milliseconds of its UTC midnight.
    static func parseDate(_ text: String) -> Int64? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2, let y = Int64(parts[0]),
            let m = Int64(parts[1]), let d = Int64(parts[2]), (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        return days(year: y, month: m, day: d) * 86_400_000
    }
}
