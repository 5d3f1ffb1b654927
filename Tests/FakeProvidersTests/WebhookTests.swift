import Foundation
import Hummingbird
import Synchronization
import TestSupport
import Testing

@testable import FakeProviders

/// Webhooks: GitHub `pull_request`/`issue_comment` signed with HMAC-SHA256, Jira issue updates
/// with a changelog, retried with a stable identifier; redelivery keeps the delivery id.
@Suite struct WebhookTests {
    /// What the receiver got.
    struct Received: Sendable {
        let headers: [String: String]
        let body: [UInt8]
        var json: JSON { (try? JSONParser.parse(body)) ?? .null }
    }

    /// Deliveries seen so far; the first Jira delivery is answered 500.
    final class Inbox: Sendable {
        let items = Mutex<[Received]>([])
        let failedJira = Mutex(false)
        var all: [Received] { items.withLock { $0 } }
    }

    static func receiver() async throws -> (url: String, inbox: Inbox, task: Task<Void, any Error>) {
        let inbox = Inbox()
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 22)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            inbox.items.withLock { $0.append(Received(headers: headers, body: Array(buffer: body))) }
            let isJira = headers["x-atlassian-webhook-identifier"] != nil
            let fail =
                isJira
                && inbox.failedJira.withLock { failed in
                    defer { failed = true }
                    return !failed
                }
            return Response(status: fail ? .internalServerError : .ok)
        }
        let (url, task) = try await startTestServer(router)
        return (url + "/hook", inbox, task)
    }

    @Test func signatureMatchesTheDocumentedVector() {
        let headers = WebhookSender.signatures(Array("Hello, World!".utf8), secret: "It's a Secret to Everybody", service: .github)
        #expect(
            headers.first { $0.0 == "X-Hub-Signature-256" }?.1 == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    }

    @Test func gitHubAndJiraDeliveries() async throws {
        let (url, inbox, server) = try await Self.receiver()
        defer { server.cancel() }
        let fakes = try await Fakes.start()
        try await fakes.control("POST", "/control/webhooks", .object([("service", "github"), ("url", .string(url)), ("secret", "s3cret")]))
        try await fakes.control("POST", "/control/webhooks", .object([("service", "jira"), ("url", .string(url)), ("secret", "j1ra")]))

        let pull = try await fakes.control(
            "POST", "/control/github/pulls",
            .object([("repo", "api"), ("title", "PROJ-3: Webhooks"), ("author", "bob"), ("requested_reviewers", ["alice@acme.test"])]))
        let number = try #require(pull["number"]?.intValue)
        try await fakes.control("PATCH", "/control/github/pulls/api/\(number)", .object([("merged", true)]))
        let token = try await fakes.token("github")
        #expect(
            try await fakes.send(
                "POST", fakes.urls.github + "/repos/acme/api/issues/\(number)/comments", token: token, json: .object([("body", "Nice")])
            ).status == 201)
        #expect(await eventually { inbox.all.filter { $0.headers["x-github-event"] != nil }.count >= 4 })
        let github = inbox.all.filter { $0.headers["x-github-event"] != nil }
        let actions = github.filter { $0.headers["x-github-event"] == "pull_request" }.compactMap { $0.json["action"]?.stringValue }
        #expect(actions.contains("opened") && actions.contains("review_requested") && actions.contains("closed"))
        let closed = try #require(github.first { $0.json["action"] == "closed" })
        #expect(closed.json["pull_request"]?["merged"] == true)
        #expect(github.contains { $0.headers["x-github-event"] == "issue_comment" && $0.json["comment"]?["body"] == "Nice" })
        for delivery in github {
            let expected = WebhookSender.signatures(delivery.body, secret: "s3cret", service: .github).first {
                $0.0 == "X-Hub-Signature-256"
            }?.1
            #expect(delivery.headers["x-hub-signature-256"] == expected)
            #expect(delivery.headers["x-github-delivery"] != nil && delivery.headers["user-agent"]?.hasPrefix("GitHub-Hookshot/") == true)
        }

        let jiraToken = try await fakes.token("atlassian")
        let created = try await fakes.control(
            "POST", "/control/jira/issues", .object([("summary", "Hooked"), ("assignee", "alice@acme.test")]))
        let key = try #require(created["key"]?.stringValue)
        let api = fakes.urls.jira + "/ex/jira/\(fakes.urls.cloudId)/rest/api/3"
        let transitions = try await fakes.get(api + "/issue/\(key)/transitions", token: jiraToken).json["transitions"]?.arrayValue ?? []
        let start = try #require(transitions.first?["id"]?.stringValue)
        #expect(
            try await fakes.send(
                "POST", api + "/issue/\(key)/transitions", token: jiraToken,
                json: .object([("transition", .object([("id", .string(start))]))])
            ).status == 204)
        #expect(
            await eventually { inbox.all.filter { $0.headers["x-atlassian-webhook-identifier"] != nil }.count >= 3 })
        let jira = inbox.all.filter { $0.headers["x-atlassian-webhook-identifier"] != nil }
        let first = jira[0]
        let retried = try #require(jira.first { $0.headers["x-atlassian-webhook-retry"] == "1" })
        #expect(
            retried.headers["x-atlassian-webhook-identifier"] == first.headers["x-atlassian-webhook-identifier"],
            "a retry keeps its identifier")
        let update = try #require(jira.first { $0.json["webhookEvent"] == "jira:issue_updated" })
        let item = update.json["changelog"]?["items"]?.arrayValue?.first
        #expect(item?["field"] == "status" && item?["toString"] == "In Progress")
        #expect(update.headers["x-hub-signature"]?.hasPrefix("sha256=") == true)

        let deliveries = try await fakes.control("GET", "/control/webhooks/deliveries")["deliveries"]?.arrayValue ?? []
        let id = try #require(deliveries.first { $0["service"] == "github" }?["id"]?.stringValue)
        let before = inbox.all.count
        try await fakes.control("POST", "/control/webhooks/redeliver", .object([("delivery", .string(id))]))
        #expect(await eventually { inbox.all.count > before })
        #expect(inbox.all.last?.headers["x-github-delivery"] == id, "a redelivery keeps the delivery id")
        await fakes.stop()
    }
}
