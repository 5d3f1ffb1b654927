/// Byte-level helpers for scanning UTF-8 text: the detectors run on every synced item, so they
/// scan bytes rather than build regular expressions.
enum Bytes {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
    static func isUpper(_ byte: UInt8) -> Bool { byte >= 65 && byte <= 90 }
    static func isLower(_ byte: UInt8) -> Bool { byte >= 97 && byte <= 122 }
    static func isLetter(_ byte: UInt8) -> Bool { isUpper(byte) || isLower(byte) }
    static func isAlnum(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }
    /// A byte of a word (ASCII letters and digits, `_`, and any non-ASCII byte).
    static func isWord(_ byte: UInt8) -> Bool { isAlnum(byte) || byte == 95 || byte >= 128 }

    /// ASCII letters lowered; other bytes kept (offsets stay the same).
    static func lowered(_ text: [UInt8]) -> [UInt8] {
        text.map { isUpper($0) ? $0 + 32 : $0 }
    }

    /// The first offset at or after `start` where `needle` starts in `haystack`.
    static func firstOccurrence(of needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard let first = needle.first, needle.count <= haystack.count else { return nil }
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin -> Int? in
                var index = start
                while index <= hay.count - pin.count {
                    if hay[index] == first {
                        var offset = 1
                        while offset < pin.count && hay[index + offset] == pin[offset] { offset += 1 }
                        if offset == pin.count { return index }
                    }
                    index += 1
                }
                return nil
            }
        }
    }

    /// Every offset where `needle` starts in `haystack`.
    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        var found: [Int] = []
        var from = 0
        while let at = firstOccurrence(of: needle, in: haystack, from: from) {
            found.append(at)
            from = at + 1
        }
        return found
    }

    /// Whether `needle` occurs anywhere in `haystack`.
    static func contains(_ needle: [UInt8], in haystack: [UInt8]) -> Bool { firstOccurrence(of: needle, in: haystack) != nil }

    /// Whether `needle` starts at `offset` of `haystack`.
    static func has(_ needle: [UInt8], at offset: Int, in haystack: [UInt8]) -> Bool {
        guard offset >= 0, offset + needle.count <= haystack.count else { return false }
        for index in 0..<needle.count where haystack[offset + index] != needle[index] { return false }
        return true
    }

    /// Whether the match at `start..<end` stands as a word: no word byte right before or after.
    static func isWholeWord(_ text: [UInt8], _ start: Int, _ end: Int) -> Bool {
        (start == 0 || !isWord(text[start - 1])) && (end >= text.count || !isWord(text[end]))
    }

    /// The line containing `offset`: its start and end (exclusive, before the newline).
    static func line(around offset: Int, in text: [UInt8]) -> Range<Int> {
        var start = offset
        while start > 0 && text[start - 1] != 10 { start -= 1 }
        var end = offset
        while end < text.count && text[end] != 10 { end += 1 }
        return start..<end
    }
}

/// Many needles found in one pass: each position is compared only with the needles that start
/// with its two bytes (needles are at least two bytes long).
struct Needles: Sendable {
    let needles: [[UInt8]]
    /// For each pair of leading bytes, the range of `order` holding the needles that start so.
    private let starts: [Int32]
    private let order: [Int32]

    init(_ needles: [[UInt8]]) {
        precondition(needles.allSatisfy { $0.count >= 2 }, "needles are at least two bytes long")
        self.needles = needles
        var buckets = [[Int32]](repeating: [], count: 65536)
        for (index, needle) in needles.enumerated() { buckets[Int(needle[0]) << 8 | Int(needle[1])].append(Int32(index)) }
        var starts = [Int32](repeating: 0, count: 65537)
        var order: [Int32] = []
        for key in 0..<65536 {
            starts[key] = Int32(order.count)
            order += buckets[key]
        }
        starts[65536] = Int32(order.count)
        self.starts = starts
        self.order = order
    }

    init(_ words: [String]) { self.init(words.map { Array($0.utf8) }) }

    /// Every (needle index, offset) where a needle occurs, in order of offset.
    func matches(in haystack: [UInt8]) -> [(needle: Int, offset: Int)] {
        var found: [(needle: Int, offset: Int)] = []
        scan(haystack) { needle, offset in
            found.append((needle, offset))
            return true
        }
        return found
    }

    /// Whether any needle occurs.
    func occurs(in haystack: [UInt8]) -> Bool {
        var any = false
        scan(haystack) { _, _ in
            any = true
            return false
        }
        return any
    }

    /// Calls `found` for each match until it returns false.
    private func scan(_ haystack: [UInt8], _ found: (Int, Int) -> Bool) {
        guard haystack.count >= 2 else { return }
        haystack.withUnsafeBufferPointer { hay in
            starts.withUnsafeBufferPointer { starts in
                order.withUnsafeBufferPointer { order in
                    for index in 0..<(hay.count - 1) {
                        let key = Int(hay[index]) << 8 | Int(hay[index + 1])
                        let first = Int(starts[key])
                        let last = Int(starts[key + 1])
                        if first == last { continue }
                        for slot in first..<last {
                            let candidate = Int(order[slot])
                            let matched = needles[candidate].withUnsafeBufferPointer { needle -> Bool in
                                if index + needle.count > hay.count { return false }
                                var offset = 2
                                while offset < needle.count && hay[index + offset] == needle[offset] { offset += 1 }
                                return offset == needle.count
                            }
                            if matched && !found(candidate, index) { return }
                        }
                    }
                }
            }
        }
    }
}
