import Contracts
import Foundation
import Testing

@testable import Classifier

/// The labelled corpus the classifier is evaluated on (`Tests/Corpus`): well formed, labelled
/// in the product's vocabulary, and consistent with the connector defaults and the checksums
/// its labels claim.
@Suite struct CorpusConsistencyTests {
    let corpus: Corpus

    init() throws { corpus = try Corpus(folder: CorpusEvaluationTests.folder) }

    @Test func itemsAreLabelledInTheProductsVocabulary() {
        #expect(corpus.entries.count >= 400)
        #expect(Set(corpus.entries.map(\.id)).count == corpus.entries.count)
        let detectors = Set(Finding.Detector.allCases.map(\.rawValue))
        for entry in corpus.entries {
            #expect(Set(entry.raisedBy).isSubset(of: detectors), "\(entry.id): \(entry.raisedBy)")
            #expect(!entry.item.body.isEmpty && !entry.item.title.isEmpty, "\(entry.id)")
            let base = entry.item.defaultLevel
            if entry.raisedBy.isEmpty {
                #expect(entry.level == base, "\(entry.id): nothing raised it above \(base)")
            } else {
                #expect(entry.level > base, "\(entry.id): raised by \(entry.raisedBy) yet \(entry.level)")
            }
        }
        // Every class and level is represented enough to measure it.
        for messageClass in MessageClass.allCases {
            #expect(corpus.entries.filter { $0.messageClass == messageClass }.count >= 40, "\(messageClass)")
        }
        for level in Classification.allCases { #expect(corpus.entries.filter { $0.level == level }.count >= 20, "\(level)") }
    }

    /// A card or IBAN label is backed by a number that passes its checksum.
    @Test func cardAndIBANLabelsPassTheirChecksums() {
        for entry in corpus.entries {
            let text = Array((entry.item.title + "\n" + entry.item.body).utf8)
            if entry.raisedBy.contains("payment_card") {
                #expect(Self.digitRuns(text).contains { Checksums.luhn($0) }, "\(entry.id)")
            }
            if entry.raisedBy.contains("iban") { #expect(Detectors.ibans(text).contains { $0.valid }, "\(entry.id)") }
        }
    }

    /// Candidate card numbers: 13 to 19 digits made of consecutive digit groups, which may be
    /// separated by one space or dash (looser than the detector: no issuer prefix, no word
    /// boundaries).
    static func digitRuns(_ text: [UInt8]) -> [[Int]] {
        var candidates: [[Int]] = []
        var groups: [[Int]] = []
        var current: [Int] = []
        func closeRun() {
            if !current.isEmpty { groups.append(current) }
            for start in groups.indices {
                var joined: [Int] = []
                for group in groups[start...] {
                    joined += group
                    if joined.count > 19 { break }
                    if joined.count >= 13 { candidates.append(joined) }
                }
            }
            groups = []
            current = []
        }
        for byte in text + [0] {
            if Bytes.isDigit(byte) {
                current.append(Int(byte) - 48)
            } else if (byte == 32 || byte == 45) && !current.isEmpty {
                groups.append(current)
                current = []
            } else {
                closeRun()
            }
        }
        return candidates
    }
}
