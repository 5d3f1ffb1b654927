import ArgumentParser
import Foundation
import TaskIntelligence

/// `Bench correlation`: task correlation scored on the labelled corpus: every pair of its items,
/// merges across pieces of work (false merges) and pairs of one piece not merged (missed).
struct CorrelationBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "correlation", abstract: "Score task correlation on the labelled corpus (Tests/Corpus/tasks/correlation.jsonl).")

    @Option(help: "The labelled corpus folder.") var corpus: String = "Tests/Corpus"

    func run() throws {
        let path = URL(fileURLWithPath: corpus).appendingPathComponent("tasks/correlation.jsonl").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
        let result = try CorrelationCorpus(jsonLines: text).evaluate()
        func pairs(_ list: [(String, String, Double)]) -> [String] { list.map { "\($0.0) ~ \($0.1): \(rounded($0.2, 2))" } }
        printJSONLine([
            "bench": "correlation", "items": try CorrelationCorpus(jsonLines: text).entries.count, "pairs": result.pairs,
            "same_work_pairs": result.samePairs, "merged": result.merged, "possibly_related": result.related,
            "false_merges": result.falseMerges.count, "false_merge_rate": rounded(result.falseMergeRate, 3),
            "recall": rounded(result.recall, 3), "false_merge_pairs": pairs(result.falseMerges), "missed_duplicates": pairs(result.missed),
        ])
    }
}
