import Foundation
import Synchronization

/// The fakes' clock: real time moved by `advance(seconds:)`, so tests can expire tokens, age
/// history and date new items without waiting.
final class FakeClock: Sendable {
    private let offsetMillis = Atomic<Int64>(0)

    init(startingAt start: Date? = nil) {
        if let start { offsetMillis.store(Int64(start.timeIntervalSince1970 * 1000) - Self.realMillis(), ordering: .relaxed) }
    }

    private static func realMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Now, in epoch milliseconds.
    var nowMillis: Int64 { Self.realMillis() + offsetMillis.load(ordering: .relaxed) }

    var nowSeconds: Int64 { nowMillis / 1000 }

    /// Moves the clock forward (or back, with a negative value).
    func advance(seconds: Double) { offsetMillis.add(Int64(seconds * 1000), ordering: .relaxed) }
}
