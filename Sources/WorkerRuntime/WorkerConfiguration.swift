import Contracts
import JobQueue
import Synchronization

/// How a worker process runs.
public struct WorkerConfiguration: Sendable {
    /// Kinds this process consumes.
    public var kinds: [JobKind]
    /// Jobs run at once by this process, over all its kinds.
    public var concurrency: Int
    /// Serve only these tenants (a dedicated pool); nil serves every tenant.
    public var tenants: [TenantID]?
    /// After SIGTERM/SIGINT, how long in-flight jobs may take to finish before they are
    /// interrupted (and left for another worker to reclaim).
    public var gracePeriod: Duration
    /// How often queue depth, lag and pending are sampled for `/metrics`.
    public var statsInterval: Duration
    public var queue: QueueConfiguration

    public init(
        kinds: [JobKind], concurrency: Int = 32, tenants: [TenantID]? = nil, gracePeriod: Duration = .seconds(30),
        statsInterval: Duration = .seconds(10), queue: QueueConfiguration = .init()
    ) {
        self.kinds = kinds
        self.concurrency = concurrency
        self.tenants = tenants
        self.gracePeriod = gracePeriod
        self.statsInterval = statsInterval
        self.queue = queue
    }
}

/// Set once when the process starts shutting down.
final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { flag.load(ordering: .acquiring) }

    func set() { flag.store(true, ordering: .releasing) }

    /// Sleeps for `duration`, returning early once the signal is set.
    func pause(_ duration: Duration) async {
        let deadline = ContinuousClock.now + duration
        while !isSet && !Task.isCancelled {
            let left = deadline - .now
            if left <= .zero { return }
            try? await Task.sleep(for: min(left, .milliseconds(100)))
        }
    }
}
