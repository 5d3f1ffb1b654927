import Foundation

/// The labelled correlation corpus (`Tests/Corpus/tasks/correlation.jsonl`): items of a tenant's systems,
/// each in the cluster of the piece of work it belongs to. Two items of one cluster are the same
/// task; of two clusters, not. Its evaluation counts the merges correlation makes across
/// clusters (false merges) and the pairs of one cluster it does not merge (missed duplicates).
public struct CorrelationCorpus: Sendable {
    public struct Entry: Sendable, Decodable {
        public let cluster: String
        public let system: String
        public let id: String
        public let title: String
        public let text: String
        public let identities: [String]
        public let participants: [String]
        public let occurred: String

        public var item: CorrelationItem {
            CorrelationItem(
                system: system, title: title, text: text, identities: Set(identities), participants: Set(participants),
                occurredAt: ISO8601DateFormatter().date(from: occurred))
        }
    }

    public struct Evaluation: Sendable {
        public var pairs = 0
        public var samePairs = 0
        public var merged = 0
        public var falseMerges: [(String, String, Double)] = []
        public var missed: [(String, String, Double)] = []
        public var related = 0

        /// False merges among all merges made.
        public var falseMergeRate: Double { merged == 0 ? 0 : Double(falseMerges.count) / Double(merged) }
        /// Pairs of one piece of work that were merged.
        public var recall: Double { samePairs == 0 ? 1 : Double(samePairs - missed.count) / Double(samePairs) }
    }

    public let entries: [Entry]

    public init(jsonLines: String) throws {
        entries = try jsonLines.split(separator: "\n").filter { !$0.isEmpty }.map {
            try JSONDecoder().decode(Entry.self, from: Data($0.utf8))
        }
    }

    public func evaluate() -> Evaluation {
        var result = Evaluation()
        let items = entries.map(\.item)
        for first in entries.indices {
            for second in entries.indices where second > first {
                result.pairs += 1
                let same = entries[first].cluster == entries[second].cluster
                let confidence = Correlation.confidence(items[first], items[second])
                let relation = Correlation.relation(confidence: confidence)
                if same { result.samePairs += 1 }
                switch relation {
                case .same:
                    result.merged += 1
                    if !same { result.falseMerges.append((entries[first].id, entries[second].id, confidence)) }
                case .possiblyRelated:
                    result.related += 1
                    if same { result.missed.append((entries[first].id, entries[second].id, confidence)) }
                case .separate:
                    if same { result.missed.append((entries[first].id, entries[second].id, confidence)) }
                }
            }
        }
        return result
    }
}
