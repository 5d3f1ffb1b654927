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

@Suite struct TaskDiscoveryTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15 08:00 UTC
    let alice = TaskOwner(identities: ["alice@acme.test", "alice"], vips: ["helen@acme.test"], internalDomains: ["acme.test"])

    var records: [SyncedRecord] {
        [
            SyncedRecord(
                connector: "jira", sourceID: "10001", type: "ticket", title: "Payout scheduler returns a stale beneficiary",
                link: "https://acme.atlassian.net/browse/PAY-123", status: "In Progress",
                people: ["assignee": ["alice@acme.test"], "reporter": ["dana@acme.test"]],
                details: [
                    "key": "PAY-123", "status_category": "indeterminate", "due": "2027-01-16", "priority": "High", "labels": "backend",
                ],
                occurredAt: now - 2 * 86_400),
            SyncedRecord(
                connector: "github", sourceID: "acme/payments#42", type: "pull_request", title: "PAY-123: invalidate the beneficiary cache",
                link: "https://github.example/acme/payments/pull/42", status: "open", people: ["author": ["marcus"]],
                details: ["review_requested": "true", "number": "42"], occurredAt: now - 3600),
            SyncedRecord(
                connector: "gmail", sourceID: "m1", type: "message", title: "Budget sign-off",
                people: ["from": ["helen@acme.test"], "to": ["alice@acme.test"]], occurredAt: now - 7200, messageClass: "needs_response",
                threadInbound: 3),
            SyncedRecord(
                connector: "gmail", sourceID: "m2", type: "message", title: "Lunch?",
                people: ["from": ["dana@acme.test"], "to": ["alice@acme.test"]],
                occurredAt: now - 7200, messageClass: "needs_response", threadInbound: 1, replied: true),
            SyncedRecord(
                connector: "gcal", sourceID: "e1", type: "event", title: "Q1 planning review", status: "confirmed",
                people: [
                    "organizer": ["helen@acme.test"],
                    "attendees": ["alice@acme.test", "dana@acme.test", "helen@acme.test", "marcus@acme.test"],
                ],
                details: ["self_response": "accepted"], occurredAt: now + 26 * 3600),
            SyncedRecord(
                connector: "jira", sourceID: "10002", type: "ticket", title: "Old thing", people: ["assignee": ["alice@acme.test"]],
                details: ["key": "PAY-200", "status_category": "done"], occurredAt: now - 86_400),
            SyncedRecord(
                connector: "github", sourceID: "acme/payments#50", type: "issue", title: "Flaky payout test", status: "open",
                people: ["author": ["dana"], "assignees": ["alice"]], details: ["assigned": "true"], occurredAt: now - 86_400),
            // Not hers: assigned to someone else, a review she was not asked for.
            SyncedRecord(
                connector: "jira", sourceID: "10003", type: "ticket", title: "Someone else's", people: ["assignee": ["dana@acme.test"]],
                details: ["key": "PAY-300", "status_category": "new"]),
            SyncedRecord(
                connector: "github", sourceID: "acme/payments#51", type: "pull_request", title: "Her own PR", status: "open",
                people: ["author": ["alice"]], details: ["authored": "true"]),
        ]
    }

    @Test func tasksScoresAndQuadrantsAreAsComputedByHand() {
        let tasks = TaskDiscovery.discover(records, for: alice, now: now)
        #expect(
            tasks.map(\.title) == [
                "Reply: Budget sign-off", "Prepare: Q1 planning review", "PAY-123 Payout scheduler returns a stale beneficiary",
                "acme/payments#50: Flaky payout test",
            ])
        let reply = tasks[0]
        // No deadline 5, the VIP 15, two follow-ups 10, SLA 22 h away 8.
        #expect(reply.score == TaskScore(deadline: 5, seniority: 15, followUps: 10, sla: 8, blocking: 0))
        #expect(reply.score.total == 38 && reply.score.quadrant == .schedule)
        let meeting = tasks[1]
        // Starts in 26 h (under 3 days: 15), organised by the VIP (15).
        #expect(meeting.score.total == 30 && meeting.score.quadrant == .eliminate)
        #expect(meeting.signals.deadline == now + 26 * 3600)
        // The pull request and its ticket are one task, named by the ticket: due the end of
        // tomorrow (40 h: 15), priority High (10), the reviewer asked by a colleague outside
        // the directory (3) counts less.
        let ticket = tasks[2]
        #expect(ticket.sources.map(\.id) == ["10001", "acme/payments#42"])
        #expect(ticket.score.total == 25)
        #expect(ticket.keys == ["jira:10001", "github:acme/payments#42"])
        #expect(tasks[3].score.total == 5 && tasks[3].score.quadrant == .eliminate)
    }

    @Test func possiblyRelatedTasksNameEachOther() {
        var more = records
        more.append(
            SyncedRecord(
                connector: "gmail", sourceID: "m3", type: "message", title: "Question about INC-4488",
                people: ["from": ["nadia@acme.test"], "to": ["alice@acme.test"]], occurredAt: now - 3600, messageClass: "critical",
                threadInbound: 1))
        more.append(
            SyncedRecord(
                connector: "jira", sourceID: "10009", type: "ticket", title: "Post-incident actions for INC-4488",
                people: ["assignee": ["alice@acme.test"], "reporter": ["nadia@acme.test"]],
                details: ["key": "OPS-7", "status_category": "new"],
                occurredAt: now - 7200))
        let tasks = TaskDiscovery.discover(more, for: alice, now: now)
        // Both name the incident (0.4), an hour apart (0.1), the same person (0.1): 0.6, two
        // tasks that name each other.
        let mail = tasks.first { $0.keys == ["gmail:m3"] }
        let ticket = tasks.first { $0.keys == ["jira:10009"] }
        #expect(mail?.related == ["jira:10009"])
        #expect(ticket?.related == ["gmail:m3"])
        #expect(mail?.score.sla == 14)  // critical: four hours from receipt, three left
        #expect(tasks.count == 6)
    }
}

@Suite struct CorrelationCorpusTests {
    @Test func fewerThanFivePercentOfMergesAreFalseOnTheLabelledCorpus() throws {
        let corpus = try CorrelationCorpus(jsonLines: String(contentsOfFile: "Tests/Corpus/tasks/correlation.jsonl", encoding: .utf8))
        let result = corpus.evaluate()
        #expect(result.pairs >= 200)
        #expect(result.falseMergeRate < 0.05, "\(result.falseMerges)")
        print(
            "correlation corpus: \(result.pairs) pairs, \(result.merged) merged, \(result.falseMerges.count) false, recall \(result.recall); missed: \(result.missed.map { "\($0.0)~\($0.1) \(String(format: "%.2f", $0.2))" })"
        )
    }
}
