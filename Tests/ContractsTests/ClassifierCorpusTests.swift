import Contracts
import Foundation
import Testing

/// The labelled corpus the classifier is evaluated on (`Tests/Corpus`): well formed, labelled
/// in the product's vocabulary, and consistent with the connector defaults and the checksums
/// its labels claim.
@Suite struct ClassifierCorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Corpus")
    static let detectors: Set<String> = [
        "aws_access_key", "private_key", "api_token", "password", "payment_card", "iban", "national_id", "marking", "drive_label",
        "jira_security",
    ]
    static let messageClasses: Set<String> = ["critical", "needs_response", "informational", "noise"]

    static func items() throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        for file in ["mail-en.jsonl", "mail-intl.jsonl", "documents.jsonl"] {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where !line.isEmpty {
                items.append(try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]))
            }
        }
        return items
    }

    /// The connector's default level (SPEC), before any detector raises it.
    static func defaultLevel(_ item: [String: Any]) -> Classification {
        switch item["connector"] as? String {
        case "gdrive": ((item["gdrive"] as? [String: Any])?["shared_publicly"] as? Bool) == true ? .public : .internal
        case "github": ((item["github"] as? [String: Any])?["repo_private"] as? Bool) == false ? .public : .internal
        default: .internal
        }
    }

    @Test func itemsAreWellFormedAndLabelledInTheProductsVocabulary() throws {
        let items = try Self.items()
        #expect(items.count >= 400)
        let ids = items.compactMap { $0["id"] as? String }
        #expect(ids.count == items.count && Set(ids).count == ids.count)
        for item in items {
            let id = item["id"] as? String ?? "?"
            let expected = try #require(item["expected"] as? [String: Any], "\(id)")
            let level = try #require((expected["level"] as? String).flatMap(Classification.init(rawValue:)), "\(id)")
            let raisedBy = expected["raised_by"] as? [String] ?? []
            #expect(Set(raisedBy).isSubset(of: Self.detectors), "\(id): \(raisedBy)")
            #expect((item["body"] as? String)?.isEmpty == false, "\(id)")
            let base = Self.defaultLevel(item)
            if raisedBy.isEmpty {
                #expect(level == base, "\(id): nothing raised it above \(base)")
            } else {
                #expect(level > base, "\(id): raised by \(raisedBy) yet \(level)")
            }
            if item["type"] as? String == "message" {
                #expect(Self.messageClasses.contains(expected["class"] as? String ?? ""), "\(id)")
                #expect(item["subject"] is String && item["from"] is String && item["to"] is [String], "\(id)")
            } else {
                #expect(expected["class"] is NSNull, "\(id): documents have no message class")
                #expect(item["title"] is String, "\(id)")
            }
        }
        // Every class and level is represented enough to measure it.
        let classes = items.compactMap { ($0["expected"] as? [String: Any])?["class"] as? String }
        for name in Self.messageClasses { #expect(classes.filter { $0 == name }.count >= 40, "\(name)") }
        let levels = items.compactMap { ($0["expected"] as? [String: Any])?["level"] as? String }
        for level in Classification.allCases { #expect(levels.filter { $0 == level.rawValue }.count >= 20, "\(level)") }
    }

    /// A card or IBAN label is backed by a number that passes its checksum.
    @Test func cardAndIBANLabelsPassTheirChecksums() throws {
        for item in try Self.items() {
            let raisedBy = (item["expected"] as? [String: Any])?["raised_by"] as? [String] ?? []
            let text = [item["subject"], item["title"], item["body"]].compactMap { $0 as? String }.joined(separator: "\n")
            if raisedBy.contains("payment_card") { #expect(Self.digitRuns(text).contains(where: Self.luhn), "\(item["id"]!)") }
            if raisedBy.contains("iban") { #expect(Self.ibans(text).contains(where: Self.validIBAN), "\(item["id"]!)") }
        }
    }

    /// Candidate card numbers: 13 to 19 digits made of consecutive digit groups, which may be
    /// separated by one space or dash.
    static func digitRuns(_ text: String) -> [String] {
        var candidates: [String] = []
        var groups: [String] = []
        var current = ""
        func closeRun() {
            if !current.isEmpty { groups.append(current) }
            for start in groups.indices {
                var joined = ""
                for group in groups[start...] {
                    joined += group
                    if joined.count > 19 { break }
                    if joined.count >= 13 { candidates.append(joined) }
                }
            }
            groups = []
            current = ""
        }
        for character in text + "x" {
            if character.isASCII && character.isNumber {
                current.append(character)
            } else if (character == " " || character == "-") && !current.isEmpty {
                groups.append(current)
                current = ""
            } else {
                closeRun()
            }
        }
        return candidates
    }

    static func luhn(_ digits: String) -> Bool {
        var sum = 0
        for (offset, character) in digits.reversed().enumerated() {
            var value = Int(String(character))!
            if offset % 2 == 1 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return sum % 10 == 0
    }

    /// Candidate IBANs: two letters, two digits, then groups of letters and digits.
    static func ibans(_ text: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: "\\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{1,4}){3,8}\\b")
        let range = NSRange(text.startIndex..., in: text)
        return pattern.matches(in: text, range: range).map {
            String(text[Range($0.range, in: text)!]).replacingOccurrences(of: " ", with: "")
        }
    }

    static func validIBAN(_ iban: String) -> Bool {
        guard (15...34).contains(iban.count) else { return false }
        let rearranged = iban.dropFirst(4) + iban.prefix(4)
        var remainder = 0
        for character in rearranged {
            let value: Int
            if let digit = character.wholeNumberValue {
                value = digit
            } else if let ascii = character.asciiValue, character.isUppercase {
                value = Int(ascii) - 55
            } else {
                return false
            }
            for digit in String(value) { remainder = (remainder * 10 + digit.wholeNumberValue!) % 97 }
        }
        return remainder == 1
    }
}
