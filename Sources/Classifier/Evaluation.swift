import Contracts
import Foundation

/// The labelled corpus (`Tests/Corpus`) and how the classifier scores on it.
public struct Corpus: Sendable {
    public struct Entry: Sendable {
        public let id: String
        public let item: ClassifiableItem
        public let level: Classification
        /// Nil for documents.
        public let messageClass: MessageClass?
        /// The detectors the labeller says raise it (`Finding.Detector` names).
        public let raisedBy: [String]
    }

    public let entries: [Entry]
    public let directory: Directory

    /// Reads `directory.json` and every `*.jsonl` file of `folder`.
    public init(folder: URL) throws {
        let directoryData = try Data(contentsOf: folder.appendingPathComponent("directory.json"))
        guard let tenant = try JSONSerialization.jsonObject(with: directoryData) as? [String: Any],
            let user = tenant["user"] as? [String: Any]
        else { throw CorpusError("directory.json lacks its user") }
        directory = Directory(
            userEmail: user["email"] as? String ?? "", userName: user["name"] as? String ?? "",
            internalDomains: tenant["internal_domains"] as? [String] ?? [],
            vips: (tenant["vips"] as? [[String: Any]] ?? []).compactMap { $0["email"] as? String })
        var entries: [Entry] = []
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n").enumerated() where !line.isEmpty {
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw CorpusError("\(file):\(number + 1) is not a JSON object")
                }
                entries.append(try Self.entry(object, at: "\(file):\(number + 1)"))
            }
        }
        self.entries = entries
    }

    static func entry(_ object: [String: Any], at place: String) throws -> Entry {
        guard let id = object["id"] as? String, let expected = object["expected"] as? [String: Any],
            let level = (expected["level"] as? String).flatMap(Classification.init(rawValue:))
        else { throw CorpusError("\(place) lacks its id or expected level") }
        let source: ClassifiableItem.Source
        switch object["connector"] as? String {
        case "gdrive":
            let drive = object["gdrive"] as? [String: Any] ?? [:]
            source = .drive(sharedPublicly: drive["shared_publicly"] as? Bool ?? false, labels: drive["labels"] as? [String] ?? [])
        case "jira": source = .jira(securityLevel: (object["jira"] as? [String: Any])?["security_level"] as? String)
        case "github": source = .github(repoPrivate: (object["github"] as? [String: Any])?["repo_private"] as? Bool ?? true)
        case "gcal": source = .calendar
        default: source = .gmail
        }
        let item = ClassifiableItem(
            source: source, title: object["subject"] as? String ?? object["title"] as? String ?? "", body: object["body"] as? String ?? "",
            from: object["from"] as? String ?? "", to: object["to"] as? [String] ?? [], cc: object["cc"] as? [String] ?? [],
            headers: object["headers"] as? [String: String] ?? [:], userRepliedInThread: object["thread_user_replied"] as? Bool ?? false)
        let messageClass = (expected["class"] as? String).flatMap(MessageClass.init(rawValue:))
        if object["type"] as? String == "message" && messageClass == nil { throw CorpusError("\(place): a message without a valid class") }
        return Entry(id: id, item: item, level: level, messageClass: messageClass, raisedBy: expected["raised_by"] as? [String] ?? [])
    }
}

public struct CorpusError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Precision and recall of one label.
public struct LabelScore: Sendable {
    public let label: String
    public let truePositives: Int
    public let predicted: Int
    public let actual: Int
    public var precision: Double { predicted == 0 ? 1 : Double(truePositives) / Double(predicted) }
    public var recall: Double { actual == 0 ? 1 : Double(truePositives) / Double(actual) }
    public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
}

/// How the classifier scores on a corpus.
public struct Evaluation: Sendable {
    /// Per level: exact level.
    public let levels: [LabelScore]
    /// Recall and precision of "confidential or above": under-classifying a secret is the
    /// expensive error.
    public let sensitive: LabelScore
    public let classes: [LabelScore]
    public var macroF1: Double { classes.isEmpty ? 0 : classes.map(\.f1).reduce(0, +) / Double(classes.count) }
    /// Ids of the items the classifier got wrong: (id, expected, got).
    public let misses: [(id: String, expected: String, got: String)]

    public init(corpus: Corpus, classifier: Classifier = Classifier()) {
        var levelPairs: [(Classification, Classification)] = []
        var classPairs: [(MessageClass, MessageClass)] = []
        var misses: [(id: String, expected: String, got: String)] = []
        for entry in corpus.entries {
            let level = classifier.level(of: entry.item).level
            levelPairs.append((entry.level, level))
            if level != entry.level { misses.append((entry.id, entry.level.rawValue, level.rawValue)) }
            if let expected = entry.messageClass {
                let got = classifier.messageClass(of: entry.item, directory: corpus.directory).messageClass
                classPairs.append((expected, got))
                if got != expected { misses.append((entry.id, expected.rawValue, got.rawValue)) }
            }
        }
        levels = Classification.allCases.map { label in Self.score(label.rawValue, levelPairs.map { ($0.0 == label, $0.1 == label) }) }
        sensitive = Self.score("confidential or restricted", levelPairs.map { ($0.0 >= .confidential, $0.1 >= .confidential) })
        classes = MessageClass.allCases.map { label in Self.score(label.rawValue, classPairs.map { ($0.0 == label, $0.1 == label) }) }
        self.misses = misses
    }

    static func score(_ label: String, _ pairs: [(actual: Bool, predicted: Bool)]) -> LabelScore {
        LabelScore(
            label: label, truePositives: pairs.filter { $0.actual && $0.predicted }.count, predicted: pairs.filter(\.predicted).count,
            actual: pairs.filter(\.actual).count)
    }
}
