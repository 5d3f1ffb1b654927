import ArgumentParser
import Classifier
import Contracts
import Foundation

/// `Bench classify`: the rules classifier's speed (one process, one thread, level and class of
/// each message) and its scores on the labelled corpus.
struct ClassifyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify", abstract: "Benchmark the classifier and score it on the labelled corpus.")

    @Option(help: "The labelled corpus folder.") var corpus: String = "Tests/Corpus"
    @Option(help: "Seconds of the speed run.") var seconds: Double = 5

    func run() async throws {
        let corpus = try Corpus(folder: URL(fileURLWithPath: corpus))
        let classifier = Classifier()
        let evaluation = Evaluation(corpus: corpus, classifier: classifier)
        let messages = corpus.entries.filter { $0.messageClass != nil }.map(\.item)
        guard !messages.isEmpty else { throw ValidationError("the corpus has no messages") }

        var classified = 0
        var checksum = 0
        let start = ContinuousClock.now
        while (ContinuousClock.now - start).seconds < seconds {
            for message in messages {
                checksum &+= classifier.level(of: message).findings.count
                checksum &+= classifier.messageClass(of: message, directory: corpus.directory).reasons.count
            }
            classified += messages.count
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let bytes = messages.reduce(0) { $0 + $1.title.utf8.count + $1.body.utf8.count } / messages.count

        var scores: [String: Any] = [:]
        for score in evaluation.levels + [evaluation.sensitive] + evaluation.classes {
            scores[score.label] = ["precision": rounded(score.precision, 3), "recall": rounded(score.recall, 3), "items": score.actual]
        }
        printJSONLine([
            "bench": "classify", "classify_per_s": Int(Double(classified) / elapsed), "messages": messages.count,
            "mean_message_bytes": bytes, "corpus_items": corpus.entries.count, "checksum": checksum,
            "sensitive_recall": rounded(evaluation.sensitive.recall, 3), "sensitive_precision": rounded(evaluation.sensitive.precision, 3),
            "message_class_macro_f1": rounded(evaluation.macroF1, 3), "scores": scores,
        ])
    }
}
