/// A repository of the organization.
struct GitHubRepo: Sendable {
    let id: Int64
    let name: String
    let owner: String
    let description: String
    let created: Int64
    var pushed: Int64

    var fullName: String { owner + "/" + name }
}

/// An issue or a pull request (`pull` set): GitHub numbers both in one sequence per repository.
struct GitHubIssue: Sendable {
    let number: Int
    let id: Int64
    var title: String
    var body: String?
    var state: String
    var stateReason: String?
    let author: String
    var assignees: [String]
    var labels: [String]
    var comments: [GitHubComment]
    let created: Int64
    var updated: Int64
    var closedAt: Int64?
    var pull: PullRequestInfo?

    var isPull: Bool { pull != nil }
}

/// What a pull request adds to an issue.
struct PullRequestInfo: Sendable {
    let pullId: Int64
    var headRef: String
    var headSha: String
    let baseRef: String
    let baseSha: String
    var draft: Bool
    var merged: Bool
    var mergedAt: Int64?
    var mergedBy: String?
    var mergeCommitSha: String?
    var requestedReviewers: [String]
    /// `mergeable` stays null until then (GitHub computes it in the background).
    var mergeableAt: Int64
    var additions: Int
    var deletions: Int
    var changedFiles: Int
    var commits: Int
}

/// An issue comment.
struct GitHubComment: Sendable {
    let id: Int64
    let author: String
    let body: String
    let created: Int64
    var updated: Int64
}
