import FleetConcurrency
import Foundation
import Synchronization
import Testing

@Suite struct SlotsAndGroupCommitTests {
    @Test func slotsBoundConcurrency() async {
        let slots = Slots(3)
        final class Peak: Sendable { let state = Mutex((now: 0, max: 0)) }
        let peak = Peak()
        await withDiscardingTaskGroup { group in
            for _ in 0..<30 {
                group.addTask {
                    await slots.acquire()
                    peak.state.withLock {
                        $0.now += 1
                        $0.max = max($0.max, $0.now)
                    }
                    try? await Task.sleep(for: .milliseconds(5))
                    peak.state.withLock { $0.now -= 1 }
                    slots.release()
                }
            }
        }
        #expect(peak.state.withLock { $0.max } == 3)
        #expect(slots.available == 3)
    }

    @Test func groupCommitBatchesConcurrentSubmissions() async throws {
        final class Batches: Sendable { let all = Mutex<[[Int]]>([]) }
        let batches = Batches()
        let commit = GroupCommit<Int, Void>.sink { items in
            try await Task.sleep(for: .milliseconds(10))
            batches.all.withLock { $0.append(items) }
        }
        try await withThrowingDiscardingTaskGroup { group in
            for index in 0..<200 { group.addTask { try await commit.submit(index) } }
        }
        let all = batches.all.withLock { $0 }
        #expect(all.flatMap { $0 }.sorted() == Array(0..<200))
        #expect(all.count < 50)
    }

    @Test func whatArrivesWhileALoneSubmitterFlushesIsFlushedAfterIt() async throws {
        final class Trace: Sendable {
            let batches = Mutex<[[Int]]>([])
            let open = Atomic(false)
        }
        let trace = Trace()
        let commit = GroupCommit<Int, Int> { items in
            // The first batch waits until the test lets it go.
            while trace.batches.withLock({ $0.isEmpty }) && !trace.open.load(ordering: .relaxed) {
                try await Task.sleep(for: .milliseconds(2))
            }
            trace.batches.withLock { $0.append(items) }
            return items.map { $0 * 10 }
        }
        async let first = commit.submit(1)
        try await Task.sleep(for: .milliseconds(50))
        // The lone submitter is flushing its item itself: nothing is pending.
        #expect(commit.pendingCount == 0)
        async let second = commit.submit(2)
        async let third = commit.submit(3)
        while commit.pendingCount < 2 { try await Task.sleep(for: .milliseconds(5)) }
        trace.open.store(true, ordering: .relaxed)
        #expect(try await [first, second, third] == [10, 20, 30])
        await commit.idle()
        // 2 and 3 are submitted side by side, so either may be first in their batch.
        #expect(trace.batches.withLock { $0 }.map { $0.sorted() } == [[1], [2, 3]])
        #expect(commit.pendingCount == 0)
    }

    @Test func eachSubmitterGetsItsOwnItemsResults() async throws {
        let commit = GroupCommit<Int, String> { items in
            try await Task.sleep(for: .milliseconds(5))
            return items.map { "r\($0)" }
        }
        let results = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for index in 0..<100 { group.addTask { (index, try await commit.submit([index, index + 1000])) } }
            var out: [Int: [String]] = [:]
            for try await (index, result) in group { out[index] = result }
            return out
        }
        for index in 0..<100 { #expect(results[index] == ["r\(index)", "r\(index + 1000)"]) }
    }

    /// Flushes run concurrently up to the limit, which can be changed while items flow (never
    /// below one).
    @Test func concurrentFlushesFollowTheirLimit() async throws {
        final class Gate: Sendable { let state = Mutex((running: 0, open: false)) }
        func running(flushes: Int, change: Int? = nil) async throws -> Int {
            let gate = Gate()
            let commit = GroupCommit<Int, Void>(concurrentFlushes: flushes) { items in
                gate.state.withLock { $0.running += 1 }
                while !gate.state.withLock({ $0.open }) { try await Task.sleep(for: .milliseconds(2)) }
                return items.map { _ in () }
            }
            if let change { commit.concurrentFlushes = change }
            let limit = max(1, change ?? flushes)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                // Each item arrives while the flushes before it are held: it starts a flush of
                // its own only below the limit.
                for index in 0..<4 {
                    group.addTask { try await commit.submit(index) }
                    let deadline = ContinuousClock.now + .seconds(20)
                    while gate.state.withLock({ $0.running }) < min(index + 1, limit) && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
                let seen = gate.state.withLock { $0.running }
                gate.state.withLock { $0.open = true }
                try await group.waitForAll()
                return seen
            }
        }
        #expect(try await running(flushes: 2) == 2)
        #expect(try await running(flushes: 2, change: 1) == 1)
        #expect(try await running(flushes: 1, change: 0) == 1)
    }

    @Test func groupCommitReportsFailuresToEveryWaiter() async {
        struct Broken: Error {}
        let commit = GroupCommit<Int, Void>.sink { _ in throw Broken() }
        await #expect(throws: Broken.self) { try await commit.submit(1) }
    }
}

@Suite struct BackPressureTests {
    @Test func submittersWaitForRoomWhenTheSinkIsSlow() async throws {
        final class Flushed: Sendable { let count = Mutex(0) }
        let flushed = Flushed()
        let commit = GroupCommit<Int, Void>.sink(maxPending: 50) { items in
            try await Task.sleep(for: .milliseconds(5))
            flushed.count.withLock { $0 += items.count }
        }
        let peak = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    try await commit.submit(Array(0..<10))
                    return 0
                }
            }
            group.addTask {
                var peak = 0
                while flushed.count.withLock({ $0 }) < 400 {
                    peak = max(peak, commit.pendingCount)
                    try await Task.sleep(for: .milliseconds(1))
                }
                return peak
            }
            var peak = 0
            for try await value in group { peak = max(peak, value) }
            return peak
        }
        #expect(peak <= 50)
        #expect(peak > 0)
    }

    @Test func addedItemsAreFlushedBeforeIdleReturns() async {
        final class Seen: Sendable { let items = Mutex<[Int]>([]) }
        let seen = Seen()
        let commit = GroupCommit<Int, Void>.sink { items in
            try await Task.sleep(for: .milliseconds(2))
            seen.items.withLock { $0 += items }
        }
        for index in 0..<100 { commit.add(index) }
        await commit.idle()
        #expect(seen.items.withLock { $0.sorted() } == Array(0..<100))
    }
}

@Suite struct TurnstileTests {
    @Test func ticketsGoThroughInOrderAndPassedOnesAreSkipped() async {
        let turnstile = Turnstile()
        let tickets = (0..<6).map { _ in turnstile.ticket() }
        final class Order: Sendable { let seen = Mutex<[Int]>([]) }
        let order = Order()
        // Ticket 2 gives up before its turn; ticket 4 gives up once its turn has come.
        turnstile.pass(tickets[2])
        await withDiscardingTaskGroup { group in
            for ticket in tickets.reversed() where ticket != 2 {
                group.addTask {
                    await turnstile.wait(for: ticket)
                    order.seen.withLock { $0.append(ticket) }
                    if ticket == 4 { turnstile.pass(ticket) } else { turnstile.done(ticket) }
                }
            }
        }
        #expect(order.seen.withLock { $0 } == [0, 1, 3, 4, 5])
        // The line carries on after the skipped tickets.
        let next = turnstile.ticket()
        await turnstile.wait(for: next)
        turnstile.done(next)
    }
}

@Suite struct BlockingExecutorTests {
    @Test func aLaneRunsItsWorkInOrderOneAtATime() async throws {
        let executor = BlockingExecutor(name: "test-blocking")
        let lane = executor.lane()
        final class Trace: Sendable {
            let seen = Mutex<[Int]>([])
            let running = Mutex(0)
            let overlap = Mutex(false)
        }
        let trace = Trace()
        try await withThrowingDiscardingTaskGroup { group in
            for index in 0..<50 {
                // Submitted in order from one task, so the lane must run them in that order.
                lane.submit {
                    if trace.running.withLock({
                        $0 += 1
                        return $0
                    }) > 1 {
                        trace.overlap.withLock { $0 = true }
                    }
                    usleep(200)
                    trace.seen.withLock { $0.append(index) }
                    trace.running.withLock { $0 -= 1 }
                }
            }
            group.addTask { _ = try await lane.run { 0 } }
        }
        #expect(trace.seen.withLock { $0 } == Array(0..<50))
        #expect(trace.overlap.withLock { $0 } == false)
    }

    @Test func aBlockedLaneDoesNotHoldUpAnother() async throws {
        let executor = BlockingExecutor(name: "test-blocking")
        let blocked = executor.lane()
        let other = executor.lane()
        let gate = DispatchSemaphore(value: 0)
        blocked.submit { gate.wait() }
        // Runs while the first lane's thread is still blocked.
        let answer = try await other.run { 42 }
        #expect(answer == 42)
        #expect(executor.threadCount >= 2)
        gate.signal()
        _ = try await blocked.run { 0 }
    }

    @Test func aSteadyLaneKeepsToOneWarmThreadAndSpareThreadsEnd() async throws {
        // Idle threads end after two seconds: longer than a starved machine stalls the loop below.
        let executor = BlockingExecutor(name: "test-blocking", keptIdle: 1, idleTimeout: 2)
        // Four lanes blocked at once: four threads.
        let gate = DispatchSemaphore(value: 0)
        let lanes = (0..<4).map { _ in executor.lane() }
        for lane in lanes { lane.submit { gate.wait() } }
        #expect(executor.threadCount == 4)
        for _ in lanes { gate.signal() }
        for lane in lanes { _ = try await lane.run { 0 } }
        // One lane used in turn is handed to the thread idle for the shortest time, so the same
        // thread every time, not each of the four in rotation.
        var threads = Set<UInt64>()
        for _ in 0..<50 {
            threads.insert(try await lanes[0].run { UInt64(pthread_self()) })
        }
        #expect(threads.count == 1)
        // Idle beyond the timeout, all but the one kept end.
        let deadline = ContinuousClock.now + .seconds(60)
        while executor.threadCount > 1 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(executor.threadCount == 1)
        #expect(try await lanes[3].run { 7 } == 7)
    }
}
