import Foundation
import Synchronization

/// Dedicated threads for blocking C calls (hiredis, libpq, libcurl), shared by every client of
/// a process, so such calls never run on Swift's cooperative pool.
///
/// Work is submitted through lanes (`BlockingLane`): a lane runs its work items one at a time
/// and in order, so one connection is never used by two threads at once. A thread is started
/// when a lane has work and every thread is busy, so a lane blocked for a long time (`XREAD
/// BLOCK`) never holds up another; threads idle for a while beyond `keptIdle` end.
public final class BlockingExecutor: Sendable {
    /// The process's executor.
    public static let shared = BlockingExecutor(name: "openclaw-blocking")

    /// An idle thread, woken by its own semaphore for the lane it is handed.
    private final class Sleeper: @unchecked Sendable {
        // @unchecked Sendable: `lane` is touched only while holding the executor's `state`.
        let wake = DispatchSemaphore(value: 0)
        var lane: BlockingLane?
    }

    private struct State {
        /// Idle threads, the one idle for the shortest time last: a lane is handed to it, so
        /// the few threads a steady load needs stay warm and the others time out.
        var sleepers: [Sleeper] = []
        var threads = 0
    }

    private let name: String
    private let keptIdle: Int
    private let idleTimeout: TimeInterval
    private let state = Mutex(State())

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
    public var threadCount: Int { state.withLock { $0.threads } }

    /// Hands `lane` to an idle thread, or to a new one when none is idle: every ready lane needs
    /// a thread of its own, since a thread busy with another lane may be about to block for
    /// seconds (`XREAD BLOCK`) and a lane waiting behind it would wait too.
    fileprivate func schedule(_ lane: BlockingLane) {
        let sleeper = state.withLock { state -> Sleeper? in
            if let sleeper = state.sleepers.popLast() {
                sleeper.lane = lane
                return sleeper
            }
            state.threads += 1
            return nil
        }
        if let sleeper {
            sleeper.wake.signal()
            return
        }
        let thread = Thread { [self] in self.work(lane) }
        thread.name = name
        thread.start()
    }

    private func work(_ first: BlockingLane) {
        var lane = first
        let sleeper = Sleeper()
        while true {
            lane.drain()
            state.withLock { $0.sleepers.append(sleeper) }
            // Timed out: the thread ends, unless it is kept or was handed a lane meanwhile (whose
            // signal the next wait then takes at once).
            while sleeper.wake.wait(timeout: .now() + idleTimeout) == .timedOut {
                let ends = state.withLock { state -> Bool in
                    guard sleeper.lane == nil, state.threads > keptIdle else { return false }
                    state.sleepers.removeAll { $0 === sleeper }
                    state.threads -= 1
                    return true
                }
                if ends { return }
            }
            lane = state.withLock { _ in
                defer { sleeper.lane = nil }
                return sleeper.lane!
            }
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
