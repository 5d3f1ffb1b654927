import Synchronization

/// Lets concurrent tasks through one at a time in the order they took tickets: for a step
/// that must run in sequence (chaining audit batches) inside work that otherwise overlaps.
/// Every ticket must end with `done` (after its turn) or `pass`, or later ones wait forever.
public final class Turnstile: Sendable {
    private struct State {
        var nextTicket = 0
        var serving = 0
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Tickets given up before their turn: skipped when it comes.
        var passed: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    /// A place in line.
    public func ticket() -> Int {
        state.withLock { state in
            defer { state.nextTicket += 1 }
            return state.nextTicket
        }
    }

    /// Waits until it is `ticket`'s turn.
    public func wait(for ticket: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.serving == ticket { return true }
                state.waiting[ticket] = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Waits for `ticket`'s turn without a step to run, and ends it (for a ticket that gave up),
    /// in the background: later tickets go through once this one's turn has come.
    public func pass(_ ticket: Int) {
        let now = state.withLock { state in
            if state.serving == ticket { return true }
            state.passed.insert(ticket)
            return false
        }
        if now { done(ticket) }
    }

    /// Ends `ticket`'s turn (also when it never waited) and lets the next one through.
    public func done(_ ticket: Int) {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.serving == ticket else { return nil }
            state.serving += 1
            while state.passed.remove(state.serving) != nil { state.serving += 1 }
            return state.waiting.removeValue(forKey: state.serving)
        }
        next?.resume()
    }
}
