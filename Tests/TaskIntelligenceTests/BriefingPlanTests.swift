import Contracts
import Foundation
import Testing

@testable import TaskIntelligence

/// Time blocks, the working window across daylight saving, a briefing cut to a level, and the
/// renderings.
@Suite struct BriefingPlanTests {
    func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    @Test func gapsOfHalfAnHourOrMoreGetTheTasksLargestFirst() {
        let window = TimeBlocks.Interval(start: at("2027-01-12T09:00:00Z"), end: at("2027-01-12T17:00:00Z"))
        let busy = [
            // Overlapping and touching meetings merge; one starts before the window.
            TimeBlocks.Interval(start: at("2027-01-12T08:30:00Z"), end: at("2027-01-12T09:20:00Z")),
            TimeBlocks.Interval(start: at("2027-01-12T10:00:00Z"), end: at("2027-01-12T11:00:00Z")),
            TimeBlocks.Interval(start: at("2027-01-12T10:30:00Z"), end: at("2027-01-12T11:15:00Z")),
            TimeBlocks.Interval(start: at("2027-01-12T11:15:00Z"), end: at("2027-01-12T11:40:00Z")),
            TimeBlocks.Interval(start: at("2027-01-12T14:00:00Z"), end: at("2027-01-12T16:35:00Z")),
        ]
        let gaps = TimeBlocks.free(busy: busy, within: window)
        // 09:20–10:00 (40), 11:40–14:00 (140); 16:35–17:00 (25) is too short.
        #expect(
            gaps == [
                .init(start: at("2027-01-12T09:20:00Z"), end: at("2027-01-12T10:00:00Z")),
                .init(start: at("2027-01-12T11:40:00Z"), end: at("2027-01-12T14:00:00Z")),
            ])
        let placed = TimeBlocks.assign(gaps, to: ["first", "second", "third"])
        #expect(placed.map(\.task) == ["second", "first"])
        #expect(TimeBlocks.assign(gaps, to: ["only"]).map(\.task) == [nil, "only"])
        // A free day is one block; a fully busy one none.
        #expect(TimeBlocks.free(busy: [], within: window) == [window])
        #expect(TimeBlocks.free(busy: [window], within: window).isEmpty)
    }

    @Test func theWorkingDayIsLocalAcrossDaylightSavingAndStartsNoEarlierThanNow() {
        let past = at("2020-01-01T00:00:00Z")
        // Winter: 09:00 Berlin is 08:00Z; the Monday after the spring change it is 07:00Z.
        let winter = TimeBlocks.workingWindow(day: "2027-03-26", zone: berlin, startHour: 9, endHour: 17, now: past)
        #expect(winter?.start == at("2027-03-26T08:00:00Z") && winter?.end == at("2027-03-26T16:00:00Z"))
        let summer = TimeBlocks.workingWindow(day: "2027-03-29", zone: berlin, startHour: 9, endHour: 17, now: past)
        #expect(summer?.start == at("2027-03-29T07:00:00Z"))
        // Asked at noon: the rest of the day; asked after five: none.
        let noon = TimeBlocks.workingWindow(day: "2027-03-29", zone: berlin, startHour: 9, endHour: 17, now: at("2027-03-29T10:00:00Z"))
        #expect(noon?.start == at("2027-03-29T10:00:00Z"))
        #expect(
            TimeBlocks.workingWindow(day: "2027-03-29", zone: berlin, startHour: 9, endHour: 17, now: at("2027-03-29T16:00:00Z")) == nil)
        #expect(TimeBlocks.local(at("2027-03-29T07:00:00Z"), berlin) == "2027-03-29T09:00:00+02:00")
        #expect(TimeBlocks.today(in: berlin, now: at("2027-03-28T22:30:00Z")) == "2027-03-29")
    }

    func sample() -> Briefing {
        var briefing = Briefing(
            id: "b1", user: "alice", date: "2027-01-12", timeZone: "UTC", generatedAt: "2027-01-12T07:00:00Z", status: .ready,
            classification: "confidential")
        briefing.tasks = [
            .init(
                id: "t1", title: "Plan & <ship>", score: 61, quadrant: .doFirst, urgency: 56, importance: 66, deadline: nil, sources: [],
                classification: "internal"),
            .init(
                id: "t2", title: "Acquisition memo", score: 45, quadrant: .schedule, urgency: 10, importance: 80, deadline: nil,
                sources: [],
                classification: "confidential"),
        ]
        briefing.quadrants = ["do_first": 1, "schedule": 1, "delegate": 0, "eliminate": 0]
        briefing.timeBlocks = [
            .init(
                start: "2027-01-12T09:00:00Z", end: "2027-01-12T10:00:00Z", minutes: 60, label: "Deep work: Acquisition memo", taskID: "t2")
        ]
        briefing.alerts = [.init(kind: "critical_mail", text: "Critical mail: merger"), .init(kind: "connector", text: "jira: error")]
        return briefing
    }

    @Test func aBriefingCutToALevelLeavesOutAndCountsWhatIsAbove() {
        let cut = sample().limited(to: "internal", levels: ["public", "internal", "confidential", "restricted"])
        #expect(cut.tasks.map(\.id) == ["t1"])
        #expect(cut.timeBlocks.first?.label == "Deep work" && cut.timeBlocks.first?.taskID == nil)
        #expect(cut.alerts.map(\.kind) == ["connector"])
        #expect(cut.withheld.count == 2 && cut.classification == "internal")
        #expect(!BriefingRendering.text(cut).contains("Acquisition"))
        #expect(sample().limited(to: "restricted", levels: ["public", "internal", "confidential", "restricted"]) == sample())
    }

    @Test func theRenderingsEscapeAndDrawTheMatrix() {
        let html = BriefingRendering.html(sample())
        #expect(html.contains("<svg") && html.contains("Do first (1)") && html.contains("Schedule (1)") && html.contains("Eliminate (0)"))
        #expect(html.contains("Plan &amp; &lt;ship&gt;") && !html.contains("<ship>"))
        let text = BriefingRendering.text(sample())
        #expect(text.contains("1. [61] Plan & <ship> (do first)"))
        #expect(text.contains("09:00–10:00  Deep work: Acquisition memo"))
        var none = sample()
        none.status = .unavailable
        none.reason = "the policy engine could not be asked"
        #expect(BriefingRendering.text(none).contains("No briefing: the policy engine could not be asked"))
        #expect(!BriefingRendering.html(none).contains("<svg"))
    }
}

/// The briefing's stored JSON, built directly, is the document its `Encodable` conformance
/// makes (the API and the renderings read it back through `Decodable`).
@Suite struct BriefingJSONTests {
    func encoded(_ briefing: Briefing) throws -> JSONValue {
        try #require(JSONValue.parse(try JSONEncoder().encode(briefing)))
    }

    @Test func theBuiltDocumentIsTheEncodedOne() throws {
        var bare = Briefing(
            id: "b1", user: "u", date: "2026-12-03", timeZone: "Europe/Berlin", generatedAt: "2026-12-02T08:00:00Z", status: .unavailable,
            classification: "internal")
        #expect(bare.json == (try encoded(bare)))
        bare.reason = "the policy engine could not be asked"
        #expect(bare.json == (try encoded(bare)))

        var full = bare
        full.status = .partial
        full.missing = ["jira"]
        full.tasks = [
            .init(
                id: "t1", title: "Review \"PR\" 7 / ünïcode", score: 87, quadrant: .doFirst, urgency: 40, importance: 47,
                deadline: "2026-12-03T12:00:00Z",
                sources: [
                    .init(system: "github", id: "pr-7", url: "https://github.com/o/r/pull/7", title: "PR 7"),
                    .init(system: "jira", id: "ENG-1", url: nil, title: "ENG-1"),
                ], classification: "confidential"),
            .init(
                id: "t2", title: "Later", score: 10, quadrant: .eliminate, urgency: 5, importance: 5, deadline: nil, sources: [],
                classification: "public"),
        ]
        full.quadrants = ["do_first": 1, "eliminate": 1]
        full.timeBlocks = [
            .init(start: "09:00", end: "10:30", minutes: 90, label: "Deep work: Review PR 7", taskID: "t1"),
            .init(start: "14:00", end: "15:00", minutes: 60, label: "Deep work", taskID: nil),
        ]
        full.freeMinutes = 150
        var replies = Briefing.AutoResponses(since: nil)
        replies.sent = 3
        replies.awaitingApproval = 1
        replies.recent = [.init(to: "a@example.com", subject: "Re: hi", status: "sent")]
        full.autoResponses = replies
        full.alerts = [
            .init(kind: "critical_mail", text: "Critical mail: outage", link: "https://mail/1"), .init(kind: "approval", text: "2 waiting"),
        ]
        full.connectorStatus = [
            .init(connector: "gcal", status: .ok, lastSyncAt: "2026-12-02T07:00:00Z", detail: nil),
            .init(connector: "jira", status: .error, lastSyncAt: nil, detail: "must be connected again"),
        ]
        full.withheld.add("above internal", 2)
        full.delivery = ["email": "not_requested"]
        #expect(full.json == (try encoded(full)))
        full.autoResponses?.since = "2026-12-01T08:00:00Z"
        #expect(full.json == (try encoded(full)))
        #expect(try JSONDecoder().decode(Briefing.self, from: Data(full.json.canonicalBytes)) == full)
    }
}
