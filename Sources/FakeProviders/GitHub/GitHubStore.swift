import Synchronization

/// The organization's repositories with their issues, pull requests and comments.
final class GitHubStore: Sendable {
    struct RepoState: Sendable {
        var repo: GitHubRepo
        var issues: [Int: GitHubIssue] = [:]
        var nextNumber = 1
    }

    struct State: Sendable {
        var repos: [String: RepoState] = [:]
        var order: [String] = []
        var nextIssueId: Int64 = 1_800_000_000
        var nextPullId: Int64 = 1_700_000_000
        var nextCommentId: Int64 = 2_100_000_000
        var random: SeededGenerator
    }

    let org: String
    let orgId: Int64 = 91_234_567
    let directory: Directory
    let clock: FakeClock
    let state: Mutex<State>

    init(org: String, directory: Directory, clock: FakeClock, seed: UInt64) {
        self.org = org
        self.directory = directory
        self.clock = clock
        state = Mutex(State(random: SeededGenerator(seed: seed, purpose: "github-ids")))
    }

    func addRepo(_ repo: GitHubRepo) {
        state.withLock { state in
            state.repos[repo.name.lowercased()] = RepoState(repo: repo)
            state.order.append(repo.name.lowercased())
        }
    }

    var repos: [GitHubRepo] { state.withLock { state in state.order.compactMap { state.repos[$0]?.repo } } }

    func repo(owner: String, name: String) -> GitHubRepo? {
        guard owner.lowercased() == org.lowercased() else { return nil }
        return state.withLock { $0.repos[name.lowercased()]?.repo }
    }

    func issues(repo: String) -> [GitHubIssue] {
        state.withLock { state in (state.repos[repo.lowercased()]?.issues.values).map { Array($0) } ?? [] }.sorted { $0.number > $1.number }
    }

    /// Every issue and pull request of every repository, with its repository.
    func allIssues() -> [(repo: GitHubRepo, issue: GitHubIssue)] {
        state.withLock { state in
            state.order.flatMap { name -> [(GitHubRepo, GitHubIssue)] in
                guard let repoState = state.repos[name] else { return [] }
                return repoState.issues.values.map { (repoState.repo, $0) }
            }
        }
    }

    func issue(repo: String, number: Int) -> GitHubIssue? { state.withLock { $0.repos[repo.lowercased()]?.issues[number] } }

    static func sha(_ random: inout SeededGenerator) -> String { random.string(40, alphabet: "0123456789abcdef") }

    /// Creates an issue or pull request (`pull` given) with the next number.
    func create(
        repo: String, title: String, body: String?, author: String, assignees: [String], labels: [String], created: Int64,
        pull: (head: String, reviewers: [String], draft: Bool)?
    ) -> GitHubIssue? {
        state.withLock { state -> GitHubIssue? in
            guard var repoState = state.repos[repo.lowercased()] else { return nil }
            let number = repoState.nextNumber
            repoState.nextNumber += 1
            var info: PullRequestInfo?
            if let pull {
                state.nextPullId += Int64.random(in: 1...50, using: &state.random)
                info = PullRequestInfo(
                    pullId: state.nextPullId, headRef: pull.head, headSha: Self.sha(&state.random), baseRef: "main",
                    baseSha: Self.sha(&state.random),
                    draft: pull.draft, merged: false, mergedAt: nil, mergedBy: nil, mergeCommitSha: nil, requestedReviewers: pull.reviewers,
                    mergeableAt: clock.nowMillis + 1500, additions: Int.random(in: 3...800, using: &state.random),
                    deletions: Int.random(in: 0...300, using: &state.random), changedFiles: Int.random(in: 1...25, using: &state.random),
                    commits: Int.random(in: 1...12, using: &state.random))
            }
            state.nextIssueId += Int64.random(in: 1...80, using: &state.random)
            let issue = GitHubIssue(
                number: number, id: state.nextIssueId, title: title, body: body, state: "open", stateReason: nil, author: author,
                assignees: assignees, labels: labels, comments: [], created: created, updated: created, closedAt: nil, pull: info)
            repoState.issues[number] = issue
            state.repos[repo.lowercased()] = repoState
            return issue
        }
    }

    /// Changes an issue or pull request.
    func update(repo: String, number: Int, _ change: (inout GitHubIssue, inout State) -> Void) -> GitHubIssue? {
        state.withLock { state -> GitHubIssue? in
            guard var issue = state.repos[repo.lowercased()]?.issues[number] else { return nil }
            change(&issue, &state)
            state.repos[repo.lowercased()]?.issues[number] = issue
            return issue
        }
    }

    /// Adds a comment (also used for generated conversation).
    func comment(repo: String, number: Int, author: String, body: String, at time: Int64) -> (GitHubIssue, GitHubComment)? {
        var made: GitHubComment?
        let issue = update(repo: repo, number: number) { issue, state in
            state.nextCommentId += Int64.random(in: 1...400, using: &state.random)
            let comment = GitHubComment(id: state.nextCommentId, author: author, body: body, created: time, updated: time)
            issue.comments.append(comment)
            issue.updated = max(issue.updated, time)
            made = comment
        }
        guard let issue, let made else { return nil }
        return (issue, made)
    }
}
