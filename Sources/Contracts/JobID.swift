import Foundation
import Synchronization

/// Job identifiers are ULIDs: 26 Crockford base32 characters, sortable by creation time.
public enum JobID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A new ULID for the current time. Its 80 random bits come from a per-process generator
    /// seeded from the system once (the system generator costs a syscall per call).
    public static func make(now: Date = Date()) -> String {
        var rng = FastRandom()
        return make(milliseconds: UInt64(max(0, now.timeIntervalSince1970 * 1000)), using: &rng)
    }

    /// SplitMix64 over a process-wide counter that starts at a random point: every value is
    /// distinct within the process (SplitMix64 is a bijection), and processes start far apart.
    struct FastRandom: RandomNumberGenerator {
        private static let counter = Atomic<UInt64>(UInt64.random(in: 0...UInt64.max))

        mutating func next() -> UInt64 {
            var z = Self.counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A ULID for `milliseconds` since the epoch, randomness from `rng`.
    public static func make(milliseconds: UInt64, using rng: inout some RandomNumberGenerator) -> String {
        let high = rng.next() as UInt64
        let low = rng.next() as UInt16
        return String(unsafeUninitializedCapacity: 26) { buffer in
            var time = milliseconds & 0xFFFF_FFFF_FFFF
            for index in stride(from: 9, through: 0, by: -1) {
                buffer[index] = alphabet[Int(time & 31)]
                time >>= 5
            }
            // 80 random bits: 64 from `high`, 16 from `low`.
            var random = high
            var extra = UInt64(low)
            for index in stride(from: 25, through: 10, by: -1) {
                buffer[index] = alphabet[Int(random & 31)]
                random = (random >> 5) | ((extra & 31) << 59)
                extra >>= 5
            }
            return 26
        }
    }

    /// Whether `value` looks like a job id (26 Crockford base32 characters).
    public static func isValid(_ value: String) -> Bool {
        value.utf8.count == 26 && value.utf8.allSatisfy { alphabet.contains($0) }
    }
}
