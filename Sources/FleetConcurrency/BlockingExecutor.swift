import Foundation

/// Dedicated threads for blocking C calls (hiredis, libpq, libcurl), shared by every client of
/// a process, so such calls never run on Swift's cooperative pool.
///
/// Work is submitted through lanes (`BlockingLane`): a lane runs its work items one at a time
/// and in order, so one connection is never used by two threads at once. A thread is started
/// when a lane has work and every thread is busy, so a lane blocked for a long time (`XREAD
/// BLOCK`) never holds up another; threads idle for a while beyond `keptIdle` end.
public final class BlockingExecutor: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is touched only while holding `condition`.
    /// The process's executor.
    public static let shared = BlockingExecutor(name: "openclaw-blocking")

    private let name: String
    private let keptIdle: Int
    private let idleTimeout: TimeInterval
    private let condition = NSCondition()
    private var ready: [BlockingLane] = []
    private var threads = 0
    private var idle = 0

    /// - Parameters:
    ///   - keptIdle: idle threads kept however long they wait.
    ///   - idleTimeout: seconds after which an idle thread beyond `keptIdle` ends.
    public init(name: String, keptIdle: Int = 8, idleTimeout: TimeInterval = 60) {
        self.name = name
        self.keptIdle = keptIdle
        self.idleTimeout = idleTimeout
    }

    /// A new lane on this executor.
    public func lane() -> BlockingLane { BlockingLane(executor: self) }

    /// Threads alive now (for tests and diagnostics).
    public var threadCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return threads
    }

    fileprivate func schedule(_ lane: BlockingLane) {
        condition.lock()
        ready.append(lane)
        // Every ready lane needs a thread of its own: a thread woken for another lane may be
        // about to block for seconds (`XREAD BLOCK`), and a lane waiting behind it would wait too.
        if ready.count <= idle {
            condition.signal()
            condition.unlock()
            return
        }
        threads += 1
        condition.unlock()
        let thread = Thread { [self] in self.work() }
        thread.name = name
        thread.start()
    }

    private func work() {
        condition.lock()
        while true {
            while ready.isEmpty {
                idle += 1
                let signalled = condition.wait(until: Date(timeIntervalSinceNow: idleTimeout))
                idle -= 1
                if !signalled && ready.isEmpty && threads > keptIdle {
                    threads -= 1
                    condition.unlock()
                    return
                }
            }
            let lane = ready.removeFirst()
            condition.unlock()
            lane.drain()
            condition.lock()
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
