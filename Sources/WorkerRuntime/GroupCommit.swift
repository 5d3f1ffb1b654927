import Synchronization

/// Gathers items submitted concurrently and flushes them together: the first submitter of an
/// idle batch becomes the flusher and keeps flushing until nothing is left; everyone returns
/// once the flush holding their item finished (or rethrows its error).
public final class GroupCommit<Item: Sendable>: Sendable {
    private struct Waiting {
        var items: [Item] = []
        var continuations: [CheckedContinuation<Void, any Error>] = []
        var flushing = false
    }

    private let state = Mutex(Waiting())
    private let flush: @Sendable ([Item]) async throws -> Void
    private let maxBatch: Int

    public init(maxBatch: Int = 512, flush: @escaping @Sendable ([Item]) async throws -> Void) {
        self.maxBatch = maxBatch
        self.flush = flush
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
            let (items, continuations) = state.withLock { state -> ([Item], [CheckedContinuation<Void, any Error>]) in
                let count = min(state.items.count, maxBatch)
                if count == 0 {
                    state.flushing = false
                    return ([], [])
                }
                let items = Array(state.items.prefix(count))
                let continuations = Array(state.continuations.prefix(count))
                state.items.removeFirst(count)
                state.continuations.removeFirst(count)
                return (items, continuations)
            }
            if items.isEmpty { return }
            do {
                try await flush(items)
                for continuation in continuations { continuation.resume() }
            } catch {
                for continuation in continuations { continuation.resume(throwing: error) }
            }
        }
    }
}
