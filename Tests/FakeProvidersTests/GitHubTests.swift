import Foundation
import Testing

@testable import FakeProviders

/// GitHub: `link` pagination with absolute URLs, ETags and 304s that do not spend the rate
/// limit, the `x-ratelimit-*` headers, review-requested search, comments.
@Suite struct GitHubTests {
    @Test func linkPaginationAndConditionalRequests() async throws {
        let fakes = try await Fakes.start { $0.githubPullsPerUser = 12 }
        let token = try await fakes.token("github")
        var url: String? = fakes.urls.github + "/repos/acme/api/issues?state=all&per_page=3"
        var numbers: [Int64] = []
        var pages = 0
        while let next = url {
            let page = try await fakes.get(next, token: token)
            #expect(page.status == 200)
            for name in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset", "x-ratelimit-resource"] {
                #expect(page.header(name) != nil, "\(name) on every answer")
            }
            numbers += (page.json.arrayValue ?? []).compactMap { $0["number"]?.intValue }
            url = page.header("link").flatMap(Self.nextLink)
            if let url { #expect(url.hasPrefix("http://")) }
            pages += 1
        }
        #expect(pages > 1 && Set(numbers).count == numbers.count)
        let issues =
            try await fakes.get(fakes.urls.github + "/repos/acme/api/issues?state=all&per_page=100", token: token).json.arrayValue ?? []
        #expect(issues.contains { $0["pull_request"] != nil }, "issues include pull requests")
        #expect(issues.contains { $0["body"] == .null } || issues.allSatisfy { $0["body"] != nil })

        let first = try await fakes.get(fakes.urls.github + "/repos/acme/api/pulls", token: token)
        let etag = try #require(first.header("etag"))
        let remaining = Int(first.header("x-ratelimit-remaining") ?? "") ?? -1
        let cached = try await fakes.get(fakes.urls.github + "/repos/acme/api/pulls", token: token, headers: [("If-None-Match", etag)])
        #expect(cached.status == 304 && cached.body.isEmpty)
        #expect(Int(cached.header("x-ratelimit-remaining") ?? "") == remaining, "a 304 does not count")
        let again = try await fakes.get(fakes.urls.github + "/repos/acme/api/pulls", token: token)
        #expect(Int(again.header("x-ratelimit-remaining") ?? "") == remaining - 1)

        let pull = try #require((first.json.arrayValue ?? []).first)
        #expect(pull["merged_at"] != nil && pull["head"]?["ref"]?.stringValue?.contains("PROJ-") == true)
        let number = try #require(pull["number"]?.intValue)
        let detail = try await fakes.get(fakes.urls.github + "/repos/acme/api/pulls/\(number)", token: token).json
        #expect(detail["merged"]?.boolValue != nil)
        #expect(detail["mergeable"] != nil, "mergeable is present (null while computing)")

        let comment = try await fakes.send(
            "POST", fakes.urls.github + "/repos/acme/api/issues/\(number)/comments", token: token, json: .object([("body", "Standup note")])
        )
        #expect(comment.status == 201 && comment.json["user"]?["login"] == "alice")
        let listed = try await fakes.control("GET", "/control/github/comments?repo=api&number=\(number)")
        #expect(listed["comments"]?.arrayValue?.last?["body"] == "Standup note")

        let pr = try await fakes.control(
            "POST", "/control/github/pulls",
            .object([("repo", "web"), ("title", "PROJ-7: Tidy up"), ("author", "bob@acme.test"), ("requested_reviewers", ["alice"])]))
        #expect(pr["mergeable"] == .null)
        let search = try await fakes.get(
            fakes.urls.github + "/search/issues" + query([("q", "is:pr is:open review-requested:@me"), ("per_page", "100")]), token: token)
        #expect(search.header("x-ratelimit-resource") == "search")
        #expect(search.json["incomplete_results"] == false)
        #expect((search.json["items"]?.arrayValue ?? []).contains { $0["title"] == "PROJ-7: Tidy up" })

        #expect(try await fakes.get(fakes.urls.github + "/user", token: "gho_nope").json["message"] == "Bad credentials")
        let noAgent = try await fakes.http.send(.init(method: "GET", url: fakes.urls.github + "/user", headers: [("User-Agent", "")]))
        #expect(noAgent.status == 403, "a request without User-Agent is refused")
        await fakes.stop()
    }

    @Test func primaryRateLimitExhausts() async throws {
        let fakes = try await Fakes.start { $0.githubRequestsPerHour = 3 }
        let token = try await fakes.token("github")
        for _ in 0..<3 { #expect(try await fakes.get(fakes.urls.github + "/user", token: token).status == 200) }
        let refused = try await fakes.get(fakes.urls.github + "/user", token: token)
        #expect(refused.status == 403)
        #expect(refused.header("x-ratelimit-remaining") == "0")
        #expect(refused.json["message"]?.stringValue?.hasPrefix("API rate limit exceeded") == true)
        let limits = try await fakes.get(fakes.urls.github + "/rate_limit", token: token)
        #expect(limits.status == 200 && limits.json["resources"]?["core"]?["remaining"] == 0)
        await fakes.stop()
    }

    /// The URL of `rel="next"` in a link header.
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") where part.contains("rel=\"next\"") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">") else { continue }
            return String(part[part.index(after: open)..<close])
        }
        return nil
    }
}
