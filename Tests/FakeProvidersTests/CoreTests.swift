import Foundation
import Testing

@testable import FakeProviders

/// The building blocks: JSON, field masks, MIME, recurrence, JQL, timestamps.
@Suite struct CoreTests {
    @Test func jsonRoundTripsAndKeepsOrder() throws {
        let text = #"{"b":1,"a":[true,null,"x\n\u00e9\ud83d\ude00"],"c":{"d":-2.5}}"#
        let value = try JSONParser.parse(text)
        #expect(value.objectValue?.map(\.0) == ["b", "a", "c"])
        #expect(value["a"]?.arrayValue?[2] == "x\né😀")
        #expect(try JSONParser.parse(JSONWriter.bytes(value)) == value)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse("{\"a\":}") }
    }

    @Test func fieldMasksSelectNestedFields() throws {
        let value: JSON = .object([
            ("nextPageToken", "t"), ("kind", "k"),
            ("changes", [.object([("fileId", "1"), ("removed", false), ("file", .object([("id", "1"), ("name", "n"), ("size", "3")]))])]),
        ])
        let mask = try FieldMask.parse("nextPageToken,changes(fileId,file(id,name))")
        #expect(
            mask.apply(to: value)
                == .object([
                    ("nextPageToken", "t"), ("changes", [.object([("fileId", "1"), ("file", .object([("id", "1"), ("name", "n")]))])]),
                ]))
        #expect(throws: FieldMask.Invalid.self) { try FieldMask.parse("a(b") }
    }

    @Test func mimeParsesWhatItWrites() {
        var root = MIMEComposer.message(
            headers: [("From", "Zoë <zoe@example.test>"), ("To", "a@b.test"), ("Subject", "Grüße – 日本語")], text: "Hallo Welt\nZeile 2",
            boundary: "b1")
        root.headers.append(("X-Extra", "1"))
        let parsed = MIMEParser.parse(MIMEWriter.render(root))
        #expect(parsed.header("Subject") == "Grüße – 日本語")
        #expect(parsed.header("From") == "Zoë <zoe@example.test>")
        #expect(parsed.mimeType == "multipart/alternative" && parsed.parts.count == 2)
        #expect(parsed.plainText == "Hallo Welt\r\nZeile 2" || parsed.plainText == "Hallo Welt\nZeile 2")
    }

    @Test func weeklyRecurrenceKeepsWallTimeAcrossDaylightSaving() throws {
        let rule = try #require(RecurrenceRule(lines: ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3"]))
        let start = try #require(Timestamps.parseRFC3339("2024-10-21T09:00:00+02:00"))
        let starts = rule.occurrences(start: start, zone: TimeZone(identifier: "Europe/Berlin")!, limit: Int64.max / 2)
        #expect(starts.map { Timestamps.rfc3339($0) } == ["2024-10-21T07:00:00Z", "2024-10-28T08:00:00Z", "2024-11-04T08:00:00Z"])
    }

    @Test func jqlParsesAndRefuses() throws {
        let query = try JQLQuery.parse("project = PROJ AND status IN (\"To Do\", \"In Progress\") AND duedate <= 7d ORDER BY duedate ASC")
        #expect(query.bounded && query.order.first?.field == "duedate")
        #expect(try !JQLQuery.parse("ORDER BY key").bounded)
        #expect(throws: JQLQuery.Invalid.self) { try JQLQuery.parse("foo = bar") }
    }

    @Test func timestampFormats() {
        let millis: Int64 = 1_714_566_896_789
        #expect(Timestamps.rfc3339Millis(millis) == "2024-05-01T12:34:56.789Z")
        #expect(Timestamps.jira(millis) == "2024-05-01T12:34:56.789+0000")
        #expect(Timestamps.rfc3339(millis) == "2024-05-01T12:34:56Z")
        #expect(Timestamps.parseRFC3339("2024-05-01T14:34:56.789+02:00") == millis)
    }
}
