/// Where a job is in its life. Terminal states: succeeded, failed, dead, cancelled.
public enum JobState: String, Sendable, Codable, CaseIterable {
    /// Waiting in its stream, or in the delayed set until its `run_at`.
    case queued
    case running
    case succeeded
    /// An attempt failed; the job waits in the delayed set for its next attempt.
    case retrying
    /// Failed permanently (a non-retryable error); not dead-lettered.
    case failed
    /// Out of attempts or undecodable: parked in the dead-letter stream, replayable.
    case dead
    case cancelled

    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .dead, .cancelled: true
        case .queued, .running, .retrying: false
        }
    }
}

/// The status record of one job (a Redis hash with a retention TTL once the job is terminal).
public struct JobStatus: Sendable, Codable, Equatable {
    public var id: String
    public var tenant: TenantID
    public var kind: JobKind
    public var state: JobState
    public var attempts: Int
    public var lastError: String?
    /// Milliseconds since the epoch.
    public var enqueuedAt: Int64
    public var runAt: Int64?
    public var startedAt: Int64?
    public var finishedAt: Int64?
    public var updatedAt: Int64
    /// The user the job was submitted for.
    public var requester: String?
    /// What a succeeded job produced (a JSON object: a sync's counts, a link to what it made).
    public var result: String?

    public init(
        id: String, tenant: TenantID, kind: JobKind, state: JobState, attempts: Int, lastError: String?,
        enqueuedAt: Int64, runAt: Int64?, startedAt: Int64?, finishedAt: Int64?, updatedAt: Int64, requester: String? = nil,
        result: String? = nil
    ) {
        self.id = id
        self.tenant = tenant
        self.kind = kind
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.enqueuedAt = enqueuedAt
        self.runAt = runAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.updatedAt = updatedAt
        self.requester = requester
        self.result = result
    }
}
