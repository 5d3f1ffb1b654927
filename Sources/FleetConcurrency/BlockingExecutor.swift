import Foundation

/// Dedicated threads for blocking C calls (hiredis, libpq, libcurl), shared by every client of
/// a process, so such calls never run on Swift's cooperative pool.
///
/// Work is submitted through lanes (`BlockingLane`): a lane runs its work items one at a time
/// and in order, so one connection is never used by two threads at once. A thread is started
/// when a lane has work and every thread is busy, so a lane blocked for a long time (`XREAD
/// BLOCK`) never holds up another; threads idle for a while beyond `keptIdle` end.
public final class BlockingExecutor: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is touched only while holding `mutex`.
    /// The process's executor.
    public static let shared = BlockingExecutor(name: "openclaw-blocking")

    /// An idle thread, waiting on a condition of its own for the lane it is handed.
    private final class Sleeper {
        /// Allocated, not a stored property: a pthread condition must keep its address.
        let condition: UnsafeMutablePointer<pthread_cond_t>
        var lane: BlockingLane?

        init() {
            condition = .allocate(capacity: 1)
            condition.initialize(to: pthread_cond_t())
            pthread_cond_init(condition, nil)
        }

        deinit {
            pthread_cond_destroy(condition)
            condition.deallocate()
        }
    }

    private let name: String
    private let keptIdle: Int
    private let idleTimeout: TimeInterval
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Idle threads, the one idle for the shortest time last: a lane is handed to it, so the
    /// few threads a steady load needs stay warm and the others time out.
    private var sleepers: [Sleeper] = []
    private var threads = 0

    /// - Parameters:
    ///   - keptIdle: idle threads kept however long they wait.
    ///   - idleTimeout: seconds after which an idle thread beyond `keptIdle` ends.
    public init(name: String, keptIdle: Int = 8, idleTimeout: TimeInterval = 60) {
        self.name = name
        self.keptIdle = keptIdle
        self.idleTimeout = idleTimeout
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// A new lane on this executor.
    public func lane() -> BlockingLane { BlockingLane(executor: self) }

    /// Threads alive now (for tests and diagnostics).
    public var threadCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return threads
    }

    /// Hands `lane` to an idle thread, or to a new one when none is idle: every ready lane needs
    /// a thread of its own, since a thread busy with another lane may be about to block for
    /// seconds (`XREAD BLOCK`) and a lane waiting behind it would wait too.
    fileprivate func schedule(_ lane: BlockingLane) {
        pthread_mutex_lock(mutex)
        if let sleeper = sleepers.popLast() {
            sleeper.lane = lane
            pthread_cond_signal(sleeper.condition)
            pthread_mutex_unlock(mutex)
            return
        }
        threads += 1
        pthread_mutex_unlock(mutex)
        let thread = Thread { [self] in self.work(lane) }
        thread.name = name
        thread.start()
    }

    private func work(_ first: BlockingLane) {
        var lane = first
        let sleeper = Sleeper()
        while true {
            lane.drain()
            pthread_mutex_lock(mutex)
            sleepers.append(sleeper)
            while sleeper.lane == nil {
                var deadline = timespec()
                clock_gettime(CLOCK_REALTIME, &deadline)
                let nanoseconds = deadline.tv_nsec + Int(idleTimeout * 1e9)
                deadline.tv_sec += nanoseconds / 1_000_000_000
                deadline.tv_nsec = nanoseconds % 1_000_000_000
                let waited = pthread_cond_timedwait(sleeper.condition, mutex, &deadline)
                if waited == ETIMEDOUT, sleeper.lane == nil, threads > keptIdle {
                    sleepers.removeAll { $0 === sleeper }
                    threads -= 1
                    pthread_mutex_unlock(mutex)
                    return
                }
            }
            lane = sleeper.lane!
            sleeper.lane = nil
            pthread_mutex_unlock(mutex)
        }
    }
}

/// A serial queue of blocking work on a `BlockingExecutor`: items run one after another, in
/// the order submitted, on one of the executor's threads.
public final class BlockingLane: @unchecked Sendable {
    // @unchecked Sendable: `items` and `scheduled` are touched only while holding `lock`.
    private let executor: BlockingExecutor
    private let lock = NSLock()
    private var items: [() -> Void] = []
    private var scheduled = false

    fileprivate init(executor: BlockingExecutor) {
        self.executor = executor
    }

    /// Runs `item` after everything submitted before it.
    public func submit(_ item: @escaping () -> Void) {
        lock.lock()
        items.append(item)
        let start = !scheduled
        scheduled = true
        lock.unlock()
        if start { executor.schedule(self) }
    }

    /// Runs `body` on the lane and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    fileprivate func drain() {
        while true {
            lock.lock()
            if items.isEmpty {
                scheduled = false
                lock.unlock()
                return
            }
            let batch = items
            items.removeAll(keepingCapacity: true)
            lock.unlock()
            for item in batch { item() }
        }
    }
}
