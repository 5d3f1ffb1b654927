/// Makes the organization's repositories from the seed: per user, pull requests they authored
/// (reviews requested from colleagues), pull requests requesting their review, issues assigned
/// to them; branch names and titles carry Jira keys (`feature/PROJ-123-...`); some PRs merged or
/// closed, some drafts, a Dependabot PR, conversation comments.
enum GitHubGenerator {
    static let repoNames: [(String, String)] = [
        ("api", "Public REST API and background workers"), ("web", "Customer-facing web app"),
        ("infra", "Terraform and deployment manifests"), ("mobile", "iOS and Android apps"),
    ]
    static let pullTitles = [
        "Fix pagination in search results", "Add SSO login flow", "Retry failed webhook deliveries", "Speed up invoice export",
        "Refactor notification worker", "Rotate staging credentials", "Add rate limiting middleware", "Upgrade TLS configuration",
    ]
    static let issueTitles = [
        "Crash when opening settings on Android 14", "Docs: explain the sync cursor", "Intermittent 502 from the edge proxy",
        "Support dark mode in emails", "Audit export misses the timezone",
    ]

    static func store(
        org: String, directory: Directory, clock: FakeClock, pullsPerUser: Int, jiraIssueCount: Int, now: Int64, seed: UInt64
    ) -> GitHubStore {
        let store = GitHubStore(org: org, directory: directory, clock: clock, seed: seed)
        var random = SeededGenerator(seed: seed, purpose: "github")
        for (index, entry) in repoNames.enumerated() {
            store.addRepo(
                GitHubRepo(
                    id: 600_000_000 + Int64(index) * 7919, name: entry.0, owner: org, description: entry.1,
                    created: now - Int64(400 + index * 30) * 86_400_000, pushed: now - Int64(index + 1) * 3_600_000))
        }
        let repos = repoNames.map(\.0)
        let staff = directory.staff
        let day: Int64 = 86_400_000
        func jiraKey() -> String { "PROJ-\(Int.random(in: 1...max(1, jiraIssueCount), using: &random))" }
        for user in directory.users {
            let others = staff.filter { $0.email != user.email }
            for index in 0..<pullsPerUser {
                let key = jiraKey()
                let title = random.pick(pullTitles)
                let slug = title.lowercased().split(separator: " ").prefix(4).joined(separator: "-")
                let requestsMine = index % 2 == 1
                let author = requestsMine ? random.pick(others) : user
                var reviewers = Array(
                    others.filter { $0.email != author.email }.shuffled(using: &random).prefix(Int.random(in: 1...2, using: &random)))
                if requestsMine { reviewers = [user] + reviewers.filter { $0.email != user.email }.prefix(1) }
                let created = now - Int64.random(in: 3_600_000...(20 * day), using: &random)
                let repo = random.pick(repos)
                guard
                    let pull = store.create(
                        repo: repo, title: "\(key): \(title)", body: random.chance(0.8) ? "Fixes \(key).\n\n- [x] tests\n- [ ] docs" : nil,
                        author: author.githubLogin, assignees: random.chance(0.5) ? [author.githubLogin] : [],
                        labels: random.chance(0.4) ? ["enhancement"] : [],
                        created: created,
                        pull: (head: "feature/\(key)-\(slug)", reviewers: reviewers.map(\.githubLogin), draft: random.chance(0.1)))
                else { continue }
                let roll = random.next() % 10
                _ = store.update(repo: repo, number: pull.number) { issue, state in
                    issue.updated = min(now - 60_000, created + Int64.random(in: 0...(3 * day), using: &state.random))
                    issue.pull?.mergeableAt = 0
                    if roll < 2 && !requestsMine {
                        issue.state = "closed"
                        issue.closedAt = issue.updated
                        issue.pull?.merged = true
                        issue.pull?.mergedAt = issue.updated
                        issue.pull?.mergedBy = reviewers.first?.githubLogin
                        issue.pull?.mergeCommitSha = GitHubStore.sha(&state.random)
                        issue.pull?.requestedReviewers = []
                    } else if roll == 2 && !requestsMine {
                        issue.state = "closed"
                        issue.closedAt = issue.updated
                    }
                }
                if random.chance(0.6) {
                    let commenter = random.pick(reviewers + [author])
                    _ = store.comment(
                        repo: repo, number: pull.number, author: commenter.githubLogin,
                        body: random.pick([
                            "LGTM, one nit inline.", "Could you add a test for the empty case?", "Rebased on main.",
                            "@\(author.githubLogin) can you take another look?",
                        ]),
                        at: created + Int64.random(in: 60_000...day, using: &random))
                }
            }
            let assignedCount = max(1, pullsPerUser / 2)
            for _ in 0..<assignedCount {
                let repo = random.pick(repos)
                let created = now - Int64.random(in: day...(40 * day), using: &random)
                _ = store.create(
                    repo: repo, title: random.pick(issueTitles) + " (\(jiraKey()))", body: "Steps to reproduce:\n1. ...\n\nExpected: ...",
                    author: random.pick(others).githubLogin, assignees: [user.githubLogin],
                    labels: [random.pick(["bug", "documentation", "enhancement"])],
                    created: created, pull: nil)
            }
        }
        _ = store.create(
            repo: "web", title: "Bump lodash from 4.17.20 to 4.17.21", body: "Bumps lodash from 4.17.20 to 4.17.21.",
            author: "dependabot[bot]",
            assignees: [], labels: ["dependencies"], created: now - 2 * day,
            pull: (head: "dependabot/npm_and_yarn/lodash-4.17.21", reviewers: [], draft: false))
        return store
    }
}
