import Foundation
import Testing

@testable import TaskIntelligence

@Suite struct TaskScoringTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func everyPartFollowsTheSpecTable() {
        let hour = 3600.0
        let deadlines: [(TimeInterval?, Int)] = [
            (-1, 30), (0.5 * hour, 28), (3.9 * hour, 28), (4 * hour, 22), (23 * hour, 22), (25 * hour, 15), (71 * hour, 15),
            (73 * hour, 10), (167 * hour, 10), (169 * hour, 5), (nil, 5),
        ]
        for (left, points) in deadlines {
            #expect(TaskScoring.deadlinePoints(left.map { now + $0 }, now: now) == points, "\(String(describing: left))")
        }
        for (count, points) in [(0, 0), (1, 5), (2, 10), (3, 15), (4, 15), (5, 20), (12, 20)] {
            #expect(TaskScoring.followUpPoints(count) == points)
        }
        let slas: [(TimeInterval?, Int)] = [(-60, 20), (0.5 * hour, 18), (3 * hour, 14), (20 * hour, 8), (30 * hour, 3), (nil, 0)]
        for (left, points) in slas { #expect(TaskScoring.slaPoints(left.map { now + $0 }, now: now) == points) }
        for (count, points) in [(0, 0), (1, 8), (2, 12), (3, 12), (4, 15), (9, 15)] { #expect(TaskScoring.blockingPoints(count) == points) }
    }

    @Test func aScoreAndItsQuadrant() {
        // Overdue (30), the CFO (15), asked three times (15), SLA breached (20), blocks two (12).
        let worst = TaskScoring.score(
            UrgencySignals(deadline: now - 60, senderSeniority: 15, followUps: 3, slaDue: now - 1, blocking: 2), now: now)
        #expect(worst.total == 92)
        #expect(worst.urgency == 100 && worst.importance == 84)
        #expect(worst.quadrant == .doFirst)
        // Due in two days (15), a peer (5), one follow-up (5), no SLA, blocks four (15).
        let important = TaskScoring.score(
            UrgencySignals(deadline: now + 2 * 86_400, senderSeniority: 5, followUps: 1, blocking: 4), now: now)
        #expect(important.total == 40)
        #expect(important.urgency == 30 && important.importance == 50)
        #expect(important.quadrant == .schedule)
        // Due in two hours (28), nobody in particular, an SLA three hours out (14).
        let urgent = TaskScoring.score(UrgencySignals(deadline: now + 7200, slaDue: now + 3 * 3600), now: now)
        #expect(urgent.total == 42)
        #expect(urgent.quadrant == .delegate)
        #expect(TaskScoring.score(UrgencySignals(), now: now).quadrant == .eliminate)
        #expect(TaskScoring.score(UrgencySignals(senderSeniority: 99), now: now).seniority == 15)
    }
}

@Suite struct CorrelationTests {
    let day = 86_400.0
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func referencesAreFound() {
        let text = """
            Fixes PAY-123 and see acme/payments#42, https://github.com/acme/payments/pull/57 and
            https://acme.atlassian.net/browse/INC-4488. Not: pay-9, X-1, ABC-, http:/nope, sha256-abc
            """
        #expect(References.find(in: text) == ["pay-123", "acme/payments#42", "acme/payments#57", "inc-4488"])
        #expect(References.find(in: "RE: [PAY-7] budget") == ["pay-7"])
    }

    @Test func aPullRequestAndItsTicketAreOneTask() {
        let ticket = CorrelationItem(
            system: "jira", title: "Payout scheduler returns a stale beneficiary", identities: ["PAY-123"],
            participants: ["dana@acme.example"], occurredAt: now - 3 * day)
        let pull = CorrelationItem(
            system: "github", title: "Invalidate the beneficiary cache on update", text: "branch: fix/PAY-123-cache",
            identities: ["acme/payments#42"], participants: ["dana@acme.example", "marcus@acme.example"], occurredAt: now)
        #expect(Correlation.confidence(ticket, pull) >= 0.8)
        #expect(Correlation.relation(pull, ticket) == .same)
    }

    @Test func aSharedMentionMakesItemsPossiblyRelatedAndNothingMakesThemSeparate() {
        let mail = CorrelationItem(
            system: "gmail", title: "Re: payout errors after INC-4488", participants: ["nadia@acme.example", "dana@acme.example"],
            occurredAt: now)
        let followUp = CorrelationItem(
            system: "jira", title: "Post-incident actions", text: "Caused by INC-4488", identities: ["OPS-77"],
            participants: ["dana@acme.example"], occurredAt: now - day / 2)
        let confidence = Correlation.confidence(mail, followUp)
        #expect((0.5..<0.8).contains(confidence), "\(confidence)")
        #expect(Correlation.relation(mail, followUp) == .possiblyRelated)

        let unrelated = CorrelationItem(
            system: "gcal", title: "Quarterly offsite planning", participants: ["helen@acme.example"], occurredAt: now + 20 * day)
        #expect(Correlation.relation(mail, unrelated) == .separate)
        #expect(Correlation.confidence(mail, unrelated) < 0.1)
    }

    @Test func similarTitlesAloneDoNotMerge() {
        let first = CorrelationItem(system: "jira", title: "Update the onboarding guide", identities: ["DOC-1"], occurredAt: now)
        let second = CorrelationItem(system: "github", title: "Update the onboarding guide", identities: ["acme/docs#9"], occurredAt: now)
        let confidence = Correlation.confidence(first, second)
        #expect(abs(confidence - 0.45) < 1e-9, "\(confidence)")
        #expect(Correlation.relation(first, second) == .separate)
        #expect(Correlation.titleSimilarity("Re: Budget sign-off", "Budget sign-off") == 1)
    }
}
