import Classifier
import Contracts
import Foundation
import Testing

@Suite struct CorpusEvaluationTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
        "Corpus")

    @Test func scoresOnTheLabelledCorpus() throws {
        let evaluation = Evaluation(corpus: try Corpus(folder: Self.folder))
        for score in evaluation.levels + [evaluation.sensitive] + evaluation.classes {
            print("\(score.label): precision \(score.precision) recall \(score.recall) (\(score.actual))")
        }
        print("macro-F1 \(evaluation.macroF1)")
        for miss in evaluation.misses { print("MISS \(miss.id) expected \(miss.expected) got \(miss.got)") }
        #expect(evaluation.sensitive.recall >= 0.98)
        #expect(evaluation.sensitive.precision >= 0.90)
        #expect(evaluation.macroF1 >= 0.85)
    }
}
