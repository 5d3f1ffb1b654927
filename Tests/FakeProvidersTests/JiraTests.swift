import Foundation
import Testing

@testable import FakeProviders

/// Jira: `/search/jql` paging by `nextPageToken`/`isLast` (no `total`), the removed `/search`,
/// per-workflow transitions, ADF comments, Basic auth on the site paths, eventual consistency.
@Suite struct JiraTests {
    @Test func searchPagesAndTransitions() async throws {
        let fakes = try await Fakes.start()
        let token = try await fakes.token("atlassian")
        let api = fakes.urls.jira + "/ex/jira/\(fakes.urls.cloudId)/rest/api/3"

        var keys: [String] = []
        var next: String?
        repeat {
            var pairs = [
                (
                    "jql",
                    "project = PROJ AND (assignee = currentUser() OR reporter = currentUser() OR watcher = currentUser()) ORDER BY key ASC"
                ),
                ("maxResults", "5"), ("fields", "summary,status,duedate,assignee"),
            ]
            if let next { pairs.append(("nextPageToken", next)) }
            let page = try await fakes.get(api + "/search/jql" + query(pairs), token: token)
            #expect(page.status == 200, "\(page.text)")
            #expect(page.json["total"] == nil && page.json["startAt"] == nil)
            #expect(page.json["isLast"]?.boolValue != nil)
            let isLast = page.json["isLast"]?.boolValue ?? false
            next = page.json["nextPageToken"]?.stringValue
            #expect(isLast == (next == nil))
            for issue in page.json["issues"]?.arrayValue ?? [] {
                keys.append(try #require(issue["key"]?.stringValue))
                #expect(issue["fields"]?["duedate"] != nil, "duedate is present, null when unset")
                let updated = issue["fields"]?["status"]?["statusCategory"]?["key"]?.stringValue
                #expect(["new", "indeterminate", "done"].contains(updated ?? ""))
            }
        } while next != nil
        #expect(keys.count >= 12 && Set(keys).count == keys.count)

        let ids = try await fakes.get(api + "/search/jql" + query([("jql", "project = PROJ")]), token: token).json
        #expect(ids["issues"]?.arrayValue?.first?.objectValue?.map(\.0) == ["id"], "default fields=id")
        let removed = try await fakes.get(api + "/search" + query([("jql", "project = PROJ")]), token: token)
        #expect(removed.status == 410 && removed.text.contains("CHANGE-2046"))
        #expect(try await fakes.get(api + "/search/jql" + query([("jql", "order by key")]), token: token).status == 400)
        #expect(try await fakes.get(api + "/search/jql" + query([("jql", "nonsense = 1")]), token: token).status == 400)

        let created = try await fakes.control(
            "POST", "/control/jira/issues",
            .object([
                ("summary", "Rotate keys"), ("assignee", "alice@acme.test"), ("priority", "High"), ("duedate", "2030-01-31"),
                ("labels", ["security"]),
            ]))
        let key = try #require(created["key"]?.stringValue)
        let transitions = try await fakes.get(api + "/issue/\(key)/transitions", token: token).json["transitions"]?.arrayValue ?? []
        #expect(transitions.map { $0["to"]?["name"]?.stringValue } == ["In Progress"], "only transitions valid from To Do")
        let start = try #require(transitions.first?["id"]?.stringValue)
        let invalid = try await fakes.send(
            "POST", api + "/issue/\(key)/transitions", token: token, json: .object([("transition", .object([("id", "31")]))]))
        #expect(invalid.status == 400)
        let moved = try await fakes.send(
            "POST", api + "/issue/\(key)/transitions", token: token, json: .object([("transition", .object([("id", .string(start))]))]))
        #expect(moved.status == 204 && moved.body.isEmpty)
        let after = try await fakes.get(api + "/issue/\(key)/transitions", token: token).json["transitions"]?.arrayValue ?? []
        #expect(Set(after.compactMap { $0["to"]?["name"]?.stringValue }) == ["In Review", "To Do"])

        let plain = try await fakes.send("POST", api + "/issue/\(key)/comment", token: token, json: .object([("body", "just text")]))
        #expect(plain.status == 400)
        let comment = try await fakes.send(
            "POST", api + "/issue/\(key)/comment", token: token, json: .object([("body", ADF.document("Done on staging."))]))
        #expect(comment.status == 201)
        #expect(comment.json["body"]?["type"] == "doc")
        #expect(comment.json["created"]?.stringValue?.hasSuffix("+0000") == true)
        let inspected = try await fakes.control("GET", "/control/jira/issues/\(key)")
        #expect(inspected["status"] == "In Progress")
        #expect(inspected["comments"]?.arrayValue?.first?["text"] == "Done on staging.")

        let site = try await fakes.send(
            "GET", fakes.urls.jira + "/rest/api/3/myself",
            headers: [("Authorization", "Basic " + Base64.encode(Array("alice@acme.test:fake-jira-api-token".utf8)))])
        #expect(site.status == 200 && site.json["emailAddress"] == "alice@acme.test")
        #expect(
            try await fakes.get(fakes.urls.jira + "/rest/api/3/myself", token: token).status == 401, "3LO tokens do not work on the site")
        let readOnly = try await fakes.token("atlassian", scopes: ["read:jira-work"])
        let scoped = try await fakes.send(
            "POST", api + "/issue/\(key)/comment", token: readOnly, json: .object([("body", ADF.document("x"))]))
        #expect(scoped.status == 401 && scoped.json["message"] == "Unauthorized; scope does not match")
        await fakes.stop()
    }

    @Test func searchIsEventuallyConsistent() async throws {
        let fakes = try await Fakes.start { $0.jiraIndexDelayMillis = 60_000 }
        let token = try await fakes.token("atlassian")
        let api = fakes.urls.jira + "/ex/jira/\(fakes.urls.cloudId)/rest/api/3"
        let created = try await fakes.control("POST", "/control/jira/issues", .object([("summary", "Fresh"), ("labels", ["fresh-label"])]))
        let id = try #require(created["id"]?.stringValue)
        let jql = "labels = fresh-label"
        #expect(try await fakes.get(api + "/search/jql" + query([("jql", jql)]), token: token).json["issues"]?.arrayValue?.isEmpty == true)
        let reconciled = try await fakes.get(api + "/search/jql" + query([("jql", jql), ("reconcileIssues", id)]), token: token).json
        #expect(reconciled["issues"]?.arrayValue?.count == 1)
        try await fakes.control("POST", "/control/clock", .object([("advance_seconds", 61)]))
        #expect(try await fakes.get(api + "/search/jql" + query([("jql", jql)]), token: token).json["issues"]?.arrayValue?.count == 1)
        await fakes.stop()
    }
}
