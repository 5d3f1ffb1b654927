import Foundation

/// One source of a task as correlation sees it: what it is called, what it names itself, what
/// it mentions, who is in it and when.
public struct CorrelationItem: Sendable, Equatable {
    /// `gmail`, `gcal`, `jira`, `github`, `gdrive`.
    public var system: String
    public var title: String
    /// Free text besides the title that may mention other items (a PR's branch and body, a
    /// message's snippet).
    public var text: String
    /// What the item itself is: a Jira key (`PAY-123`), a PR or issue (`acme/payments#42`), its URL.
    public var identities: Set<String>
    /// People by address or login, lowercased.
    public var participants: Set<String>
    public var occurredAt: Date?

    public init(
        system: String, title: String, text: String = "", identities: Set<String> = [], participants: Set<String> = [],
        occurredAt: Date? = nil
    ) {
        self.system = system
        self.title = title
        self.text = text
        self.identities = Set(identities.map { $0.lowercased() })
        self.participants = Set(participants.map { $0.lowercased() })
        self.occurredAt = occurredAt
    }

    /// The references found in its title and text (Jira keys, PR and issue references, links),
    /// lowercased.
    public var mentions: Set<String> { References.find(in: title + "\n" + text) }
}

/// How two items relate: merged into one task, shown as possibly related, or separate.
public enum Relation: String, Sendable, Codable {
    case same
    case possiblyRelated = "possibly_related"
    case separate
}

/// The SPEC's correlation: title similarity, shared references (ticket keys, PR numbers,
/// links), time proximity and participant overlap make a confidence; 0.8 or more is one task,
/// 0.5 up to 0.8 possibly related, below 0.5 separate.
public enum Correlation {
    /// Weights of the parts. A reference from one item to the other's own key, number or link
    /// is nearly proof on its own; a reference both make to a third thing is a strong hint.
    public static let directReference = 0.8
    /// Within one system a reference is usually a link between two pieces of work (a ticket
    /// following up another, a pull request building on one): it needs more to merge.
    public static let sameSystemReference = 0.6
    public static let sharedReference = 0.4
    public static let titleWeight = 0.35
    public static let timeWeight = 0.1
    public static let participantWeight = 0.1

    /// An item naming this many others or more (a digest, release notes, standup notes) names
    /// none of them in particular: its references count as shared ones.
    public static let digestReferences = 3

    public static func confidence(_ a: CorrelationItem, _ b: CorrelationItem) -> Double {
        let mentionsA = a.mentions.subtracting(a.identities)
        let mentionsB = b.mentions.subtracting(b.identities)
        let namesB = !mentionsA.isDisjoint(with: b.identities)
        let namesA = !mentionsB.isDisjoint(with: a.identities)
        var score = 0.0
        if (namesB && mentionsA.count < digestReferences) || (namesA && mentionsB.count < digestReferences)
            || (!a.identities.isEmpty && !a.identities.isDisjoint(with: b.identities))
        {
            score += a.system == b.system ? sameSystemReference : directReference
        } else if namesA || namesB || !mentionsA.isDisjoint(with: mentionsB) {
            score += sharedReference
        }
        score += titleWeight * titleSimilarity(a.title, b.title)
        if let first = a.occurredAt, let second = b.occurredAt {
            score += timeWeight * proximity(abs(first.timeIntervalSince(second)))
        }
        if !a.participants.isEmpty, !b.participants.isEmpty {
            let shared = a.participants.intersection(b.participants).count
            score += participantWeight * Double(shared) / Double(a.participants.union(b.participants).count)
        }
        return min(1, score)
    }

    public static func relation(_ a: CorrelationItem, _ b: CorrelationItem) -> Relation {
        relation(confidence: confidence(a, b))
    }

    public static func relation(confidence: Double) -> Relation {
        confidence >= 0.8 ? .same : confidence >= 0.5 ? .possiblyRelated : .separate
    }

    /// 1 within a day, falling linearly to 0 at 14 days apart.
    static func proximity(_ seconds: TimeInterval) -> Double {
        let day = 86_400.0
        if seconds <= day { return 1 }
        return max(0, 1 - (seconds - day) / (13 * day))
    }

    /// Overlap of the titles' words (Jaccard over lowercased words of two letters or more,
    /// common words, reply prefixes and references left out).
    public static func titleSimilarity(_ a: String, _ b: String) -> Double {
        let first = words(a)
        let second = words(b)
        guard !first.isEmpty, !second.isEmpty else { return 0 }
        return Double(first.intersection(second).count) / Double(first.union(second).count)
    }

    static let stopWords: Set<String> = [
        "re", "fw", "fwd", "aw", "wg", "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "at", "by", "is", "are",
        "be", "it", "this", "that", "from", "as", "please", "pr", "issue", "ticket", "der", "die", "das", "und", "le", "la", "les", "de",
        "et",
    ]

    static func words(_ text: String) -> Set<String> {
        var out: Set<String> = []
        var current = ""
        func flush() {
            if current.count >= 2, !stopWords.contains(current), !current.allSatisfy(\.isNumber) { out.insert(current) }
            current = ""
        }
        for character in text.lowercased() {
            if character.isLetter || character.isNumber { current.append(character) } else { flush() }
        }
        flush()
        // A Jira key's parts ("pay", "123") say nothing about the words.
        for reference in References.find(in: text) {
            for part in reference.split(whereSeparator: { !$0.isLetter && !$0.isNumber }) { out.remove(String(part)) }
        }
        return out
    }
}

/// References an item's text makes to others, lowercased: Jira keys (`PAY-123`), GitHub
/// references (`acme/payments#42`, and a PR or issue URL as `acme/payments#42`), and http(s) links.
public enum References {
    public static func find(in text: String) -> Set<String> {
        var found: Set<String> = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if let (link, end) = link(at: index, scalars) {
                found.insert(link)
                index = end
                continue
            }
            if let (key, end) = jiraKey(at: index, scalars) {
                found.insert(key)
                index = end
                continue
            }
            if let (reference, end) = repoReference(at: index, scalars) {
                found.insert(reference)
                index = end
                continue
            }
            index += 1
        }
        return found
    }

    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        CharacterSet.alphanumerics.contains(scalar) || scalar == "_"
    }

    /// `[A-Z][A-Z0-9]+-\d+`, not inside a longer word.
    static func jiraKey(at start: Int, _ s: [Unicode.Scalar]) -> (String, Int)? {
        guard start == 0 || !isWordScalar(s[start - 1]), ("A"..."Z").contains(s[start]) else { return nil }
        var index = start + 1
        while index < s.count, ("A"..."Z").contains(s[index]) || ("0"..."9").contains(s[index]) { index += 1 }
        guard index - start >= 2, index < s.count, s[index] == "-" else { return nil }
        let digits = index + 1
        index = digits
        while index < s.count, ("0"..."9").contains(s[index]) { index += 1 }
        guard index > digits, index == s.count || !isWordScalar(s[index]) else { return nil }
        return (String(String.UnicodeScalarView(s[start..<index])).lowercased(), index)
    }

    /// `owner/repo#123`.
    static func repoReference(at start: Int, _ s: [Unicode.Scalar]) -> (String, Int)? {
        guard start == 0 || !(isWordScalar(s[start - 1]) || s[start - 1] == "/" || s[start - 1] == "-" || s[start - 1] == ".") else {
            return nil
        }
        func name(_ from: Int) -> Int {
            var index = from
            while index < s.count, isWordScalar(s[index]) || s[index] == "-" || s[index] == "." { index += 1 }
            return index
        }
        let ownerEnd = name(start)
        guard ownerEnd > start, ownerEnd < s.count, s[ownerEnd] == "/" else { return nil }
        let repoEnd = name(ownerEnd + 1)
        guard repoEnd > ownerEnd + 1, repoEnd < s.count, s[repoEnd] == "#" else { return nil }
        var index = repoEnd + 1
        while index < s.count, ("0"..."9").contains(s[index]) { index += 1 }
        guard index > repoEnd + 1 else { return nil }
        return (String(String.UnicodeScalarView(s[start..<index])).lowercased(), index)
    }

    /// An http(s) link; a GitHub pull or issue URL becomes `owner/repo#number`, a Jira browse
    /// URL its key.
    static func link(at start: Int, _ s: [Unicode.Scalar]) -> (String, Int)? {
        let rest = String(String.UnicodeScalarView(s[start..<min(s.count, start + 8)])).lowercased()
        guard rest.hasPrefix("http://") || rest.hasPrefix("https://") else { return nil }
        var index = start
        while index < s.count, !CharacterSet.whitespacesAndNewlines.contains(s[index]), !"<>\"')]".unicodeScalars.contains(s[index]) {
            index += 1
        }
        var url = String(String.UnicodeScalarView(s[start..<index])).lowercased()
        while let last = url.last, ".,;:".contains(last) { url.removeLast() }
        let parts = url.split(separator: "/").map(String.init)
        // https: / host / owner / repo / pull|issues / number
        if parts.count >= 6, parts[1].contains("github"), ["pull", "issues"].contains(parts[4]), Int(parts[5]) != nil {
            return ("\(parts[2])/\(parts[3])#\(parts[5])", index)
        }
        if parts.count >= 4, parts[2] == "browse", let (key, _) = jiraKey(at: 0, Array(parts[3].uppercased().unicodeScalars)) {
            return (key, index)
        }
        return (url, index)
    }
}
