import Contracts
import Foundation
import Testing

/// RFC 3339 written and read as Foundation's formatter does, for any instant and offset.
@Suite struct RFC3339Tests {
    @Test func writesAndReadsAsFoundationDoes() {
        let reference = ISO8601DateFormatter()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            // From 1600 to 2400, whole seconds.
            let seconds = Double(Int64.random(in: -11_676_096_000...13_569_465_600, using: &generator))
            let date = Date(timeIntervalSince1970: seconds)
            let text = RFC3339.format(date)
            #expect(text == reference.string(from: date))
            #expect(RFC3339.parse(text) == date)
        }
        let date = Date(timeIntervalSince1970: 1_796_116_200.25)
        #expect(RFC3339.format(date, fractional: true) == "2026-12-01T09:10:00.250Z")
        #expect(RFC3339.format(date, offset: 3600) == "2026-12-01T10:10:00+01:00")
        #expect(RFC3339.format(date, offset: -(9 * 3600 + 1800)) == "2026-11-30T23:40:00-09:30")
        #expect(RFC3339.parse("2026-12-01T10:10:00.25+01:00") == date)
        #expect(RFC3339.parse("2026-12-01t09:10:00.250z") == date)
        #expect(RFC3339.parse("1969-12-31T23:59:59Z") == Date(timeIntervalSince1970: -1))
        #expect(RFC3339.parse("2024-02-29T00:00:00Z") == Date(timeIntervalSince1970: 1_709_164_800))
    }

    @Test func refusesWhatIsNotATimestamp() {
        for text in [
            "", "2026-12-01", "2026-12-01T09:10:00", "2026-13-01T09:10:00Z", "2026-12-01T24:00:00Z", "2026-12-01T09:10:00+0100",
            "2026-12-01T09:10:00.Z", "2026-12-01T09:10:00Zjunk", "2026-12-01 09:10:00Z", "２０２６-12-01T09:10:00Z",
        ] {
            #expect(RFC3339.parse(text) == nil, "\(text)")
        }
    }
}
