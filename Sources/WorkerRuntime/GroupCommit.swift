import Synchronization

/// Gathers items submitted concurrently and flushes them together: the first submitter of an
/// idle batch becomes the flusher and keeps flushing until nothing is left; everyone returns
/// once the flush holding their item finished (or rethrows its error).
public final class GroupCommit<Item: Sendable>: Sendable {
    private struct Waiting {
        var items: [Item] = []
        /// One per item; nil for items added with `add` (nobody waits for them).
        var continuations: [CheckedContinuation<Void, any Error>?] = []
        var flushing = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(Waiting())
    private let flush: @Sendable ([Item]) async throws -> Void
    private let onError: @Sendable ([Item], any Error) -> Void
    private let maxBatch: Int

    /// - Parameter onError: told about failed flushes of items nobody waits for.
    public init(
        maxBatch: Int = 512, flush: @escaping @Sendable ([Item]) async throws -> Void,
        onError: @escaping @Sendable ([Item], any Error) -> Void = { _, _ in }
    ) {
        self.maxBatch = maxBatch
        self.flush = flush
        self.onError = onError
    }

    /// Adds `item` to the next flush without waiting for it (see `idle()`).
    public func add(_ item: Item) {
        let lead = state.withLock { state in
            state.items.append(item)
            state.continuations.append(nil)
            if state.flushing { return false }
            state.flushing = true
            return true
        }
        if lead { Task { await self.drain() } }
    }

    /// Returns once everything added so far has been flushed (or failed).
    public func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if !state.flushing && state.items.isEmpty { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Adds `item` to the next flush and waits for it.
    public func submit(_ item: Item) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let lead = state.withLock { state in
                state.items.append(item)
                state.continuations.append(continuation)
                if state.flushing { return false }
                state.flushing = true
                return true
            }
            if lead { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let (items, continuations, idle) = state.withLock {
                state -> ([Item], [CheckedContinuation<Void, any Error>?], [CheckedContinuation<Void, Never>]) in
                let count = min(state.items.count, maxBatch)
                if count == 0 {
                    state.flushing = false
                    let idle = state.idleWaiters
                    state.idleWaiters = []
                    return ([], [], idle)
                }
                let items = Array(state.items.prefix(count))
                let continuations = Array(state.continuations.prefix(count))
                state.items.removeFirst(count)
                state.continuations.removeFirst(count)
                return (items, continuations, [])
            }
            if items.isEmpty {
                for waiter in idle { waiter.resume() }
                return
            }
            do {
                try await flush(items)
                for continuation in continuations { continuation?.resume() }
            } catch {
                var unwaited: [Item] = []
                for (item, continuation) in zip(items, continuations) {
                    if let continuation { continuation.resume(throwing: error) } else { unwaited.append(item) }
                }
                if !unwaited.isEmpty { onError(unwaited, error) }
            }
        }
    }
}
