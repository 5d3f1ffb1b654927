import Synchronization

/// Gathers items submitted concurrently and flushes them together (group commit): the first
/// submitter of an idle batch starts a flusher that keeps flushing everything pending until
/// nothing is left; with `concurrentFlushes` above 1, items arriving while a flush runs start
/// another (pipelining; the flush function must cope with running concurrently).
///
/// The flush returns one result per item, in order; `submit` returns its items' results once
/// the flush holding them finished (or rethrows its error); `add` does not wait. At most
/// `maxPending` items wait at once: further submitters wait for room, so a slow sink slows its
/// producers instead of growing memory.
///
/// Its methods are inlinable so that each client's concrete `Item` and `Output` get specialized
/// code: every request passes through several group commits, and unspecialized generic code
/// pays for type metadata look-ups and value witnesses on each item.
public final class GroupCommit<Item: Sendable, Output: Sendable>: Sendable {
    @usableFromInline
    struct Submission {
        @usableFromInline let count: Int
        @usableFromInline let continuation: UnsafeContinuation<[Output], any Error>?

        @inlinable
        init(count: Int, continuation: UnsafeContinuation<[Output], any Error>?) {
            self.count = count
            self.continuation = continuation
        }
    }

    @usableFromInline
    struct State {
        @usableFromInline var items: [Item] = []
        @usableFromInline var submissions: [Submission] = []
        @usableFromInline var flushing = 0
        @usableFromInline var idleWaiters: [CheckedContinuation<Void, Never>] = []
        /// Submissions waiting for room, in order, with their items.
        @usableFromInline var parked: [(items: [Item], continuation: UnsafeContinuation<[Output], any Error>)] = []

        @inlinable init() {}
    }

    @usableFromInline let state = Mutex(State())
    @usableFromInline let flush: @Sendable ([Item]) async throws -> [Output]
    @usableFromInline let onError: @Sendable ([Item], any Error) -> Void
    @usableFromInline let maxPending: Int
    @usableFromInline let flushLimit: Atomic<Int>

    /// - Parameters:
    ///   - maxPending: most items waiting at once (back-pressure beyond it).
    ///   - concurrentFlushes: flushes allowed to run at once.
    ///   - flush: writes a batch; returns once it is durable, with one result per item.
    ///   - onError: told about failed flushes of items added with `add` (nobody waits for them).
    public init(
        maxPending: Int = 10_000, concurrentFlushes: Int = 1, flush: @escaping @Sendable ([Item]) async throws -> [Output],
        onError: @escaping @Sendable ([Item], any Error) -> Void = { _, _ in }
    ) {
        self.maxPending = max(1, maxPending)
        self.flushLimit = Atomic(max(1, concurrentFlushes))
        self.flush = flush
        self.onError = onError
    }

    /// Flushes allowed to run at once from now on (at least 1); flushes running go on.
    public var concurrentFlushes: Int {
        get { flushLimit.load(ordering: .relaxed) }
        set { flushLimit.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Items waiting for the next flush.
    public var pendingCount: Int { state.withLock { $0.items.count } }

    /// Adds `items` to the next flush and waits until they are flushed; returns their results.
    @discardableResult @inlinable
    public func submit(_ items: [Item]) async throws -> [Output] {
        if items.isEmpty { return [] }
        // Idle (nothing pending, no flush running): this submitter flushes its items itself, in
        // its own task, instead of starting a flusher task and waiting to be woken by it (two
        // thread hand-offs fewer for a lone request). Items arriving meanwhile are left to a
        // flusher; while a flush runs, items wait to be flushed together as before, so a busy
        // commit's batches do not shrink to one item.
        let leads = state.withLock { state -> Bool in
            guard state.items.isEmpty, state.parked.isEmpty, state.flushing == 0 else { return false }
            state.flushing += 1
            return true
        }
        if leads {
            let outputs: [Output]
            do {
                outputs = try await flush(items)
            } catch {
                finishLead()
                throw error
            }
            precondition(outputs.count == items.count, "a group commit flush returns one result per item")
            finishLead()
            return outputs
        }
        // Unchecked: `drain` resumes every continuation exactly once (hot path: one per request).
        return try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<[Output], any Error>) in
            // Room is taken in the step that adds the items, so submitters arriving together
            // cannot overshoot it; those that wait are let in, in order, as flushes make room.
            // (Items wait only behind other items, so a flusher is running for them.)
            let lead = state.withLock { state -> Bool in
                guard state.parked.isEmpty, state.items.count + items.count <= maxPending || state.items.isEmpty else {
                    state.parked.append((items, continuation))
                    return false
                }
                return add(&state, items, continuation)
            }
            if lead { Task { await self.drain() } }
        }
    }

    /// Adds one item to the next flush and waits until it is flushed; returns its result.
    @discardableResult @inlinable
    public func submit(_ item: Item) async throws -> Output { try await submit([item])[0] }

    /// Adds `item` to the next flush without waiting for it (see `idle()`).
    @inlinable
    public func add(_ item: Item) { enqueue([item], nil) }

    /// Returns once everything added so far has been flushed (or failed).
    public func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.flushing == 0 && state.items.isEmpty { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// After a submitter flushed its own items: its flush slot goes to a flusher for what
    /// arrived meanwhile, or is given up.
    @inlinable
    func finishLead() {
        let (drains, idle) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            if !state.items.isEmpty || !state.parked.isEmpty { return (true, []) }
            return (false, Self.endFlush(&state))
        }
        for waiter in idle { waiter.resume() }
        if drains { Task { await self.drain() } }
    }

    /// A flusher stops: the callers of `idle()` to resume once no flush runs.
    @inlinable
    static func endFlush(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        state.flushing -= 1
        guard state.flushing == 0 else { return [] }
        defer { state.idleWaiters = [] }
        return state.idleWaiters
    }

    @inlinable
    func enqueue(_ items: [Item], _ continuation: UnsafeContinuation<[Output], any Error>?) {
        if state.withLock({ add(&$0, items, continuation) }) { Task { await self.drain() } }
    }

    /// Adds a submission; true when the caller must start a flusher for it.
    @inlinable
    func add(_ state: inout State, _ items: [Item], _ continuation: UnsafeContinuation<[Output], any Error>?) -> Bool {
        state.items += items
        state.submissions.append(Submission(count: items.count, continuation: continuation))
        if state.flushing >= flushLimit.load(ordering: .relaxed) { return false }
        state.flushing += 1
        return true
    }

    @inlinable
    func drain() async {
        while true {
            let (items, submissions, idle) = state.withLock { state in
                let taken = (state.items, state.submissions)
                state.items = []
                state.submissions = []
                // What waited for room comes in behind the batch taken, as far as room allows.
                while let first = state.parked.first, state.items.count + first.items.count <= maxPending || state.items.isEmpty {
                    state.parked.removeFirst()
                    state.items += first.items
                    state.submissions.append(Submission(count: first.items.count, continuation: first.continuation))
                }
                return (taken.0, taken.1, taken.0.isEmpty ? Self.endFlush(&state) : [])
            }
            if items.isEmpty {
                for waiter in idle { waiter.resume() }
                return
            }
            do {
                let outputs = try await flush(items)
                precondition(outputs.count == items.count, "a group commit flush returns one result per item")
                var offset = 0
                for submission in submissions {
                    submission.continuation?.resume(returning: Array(outputs[offset..<offset + submission.count]))
                    offset += submission.count
                }
            } catch {
                var unwaited: [Item] = []
                var offset = 0
                for submission in submissions {
                    if let continuation = submission.continuation {
                        continuation.resume(throwing: error)
                    } else {
                        unwaited += items[offset..<offset + submission.count]
                    }
                    offset += submission.count
                }
                if !unwaited.isEmpty { onError(unwaited, error) }
            }
        }
    }
}

extension GroupCommit where Output == Void {
    /// A group commit whose flush has no per-item result (it only writes).
    public static func sink(
        maxPending: Int = 10_000, concurrentFlushes: Int = 1, onError: @escaping @Sendable ([Item], any Error) -> Void = { _, _ in },
        _ flush: @escaping @Sendable ([Item]) async throws -> Void
    ) -> GroupCommit<Item, Void> {
        GroupCommit(
            maxPending: maxPending, concurrentFlushes: concurrentFlushes,
            flush: { items in
                try await flush(items)
                return Array(repeating: (), count: items.count)
            }, onError: onError)
    }
}
