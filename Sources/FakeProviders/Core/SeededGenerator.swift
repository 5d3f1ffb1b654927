/// A deterministic generator (SplitMix64): the same seed makes the same mailboxes, calendars,
/// drives, issues and pull requests on every run.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator for one purpose (`"gmail"`, a user's address, ...) derived from a seed, so that
    /// adding data of one kind does not shift the data of another.
    init(seed: UInt64, purpose: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in purpose.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        state = seed ^ hash
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly chosen element.
    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &self)] }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }

    /// `count` characters from `alphabet` (ASCII).
    mutating func string(_ count: Int, alphabet: String) -> String {
        let bytes = Array(alphabet.utf8)
        var out = [UInt8](repeating: 0, count: count)
        for index in 0..<count { out[index] = bytes[Int(next() % UInt64(bytes.count))] }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Opaque tokens (page tokens, sync tokens, OAuth codes and tokens) from the system's random source:
/// a client cannot derive one from another.
enum OpaqueToken {
    static let alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    static let urlSafe = alphanumerics + "-_"

    static func make(_ count: Int, alphabet: String = urlSafe) -> String {
        var random = SystemRandomNumberGenerator()
        let bytes = Array(alphabet.utf8)
        var out = [UInt8](repeating: 0, count: count)
        for index in 0..<count { out[index] = bytes[Int(random.next() % UInt64(bytes.count))] }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ count: Int) -> String { make(count, alphabet: "0123456789abcdef") }
}
