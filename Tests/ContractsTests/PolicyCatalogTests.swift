import Contracts
import Foundation
import Testing

/// The Rego policies and the kind catalog say the same: the policy's write actions are the
/// catalog's, and every kind has a Rego test of its actions.
@Suite struct PolicyCatalogTests {
    static func rego(_ name: String) throws -> String {
        try String(contentsOfFile: "policies/openclaw/\(name)", encoding: .utf8)
    }

    @Test func theRegoWriteActionsAreTheCatalogs() throws {
        let source = try Self.rego("decision.rego")
        let start = try #require(source.range(of: "write_actions := {"))
        let end = try #require(source[start.upperBound...].firstIndex(of: "}"))
        let listed = source[start.upperBound..<end].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }.filter { !$0.isEmpty }
        #expect(Set(listed) == Set(Action.writes.map(\.rawValue)), "decision.rego write_actions: \(listed.sorted())")
    }

    @Test func everyKindHasARegoTestOfItsActions() throws {
        let source = try Self.rego("kinds_test.rego")
        // The text of each top-level test rule, by name.
        var rules: [(name: String, body: String)] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("test_") {
                rules.append((String(line.prefix { $0 != " " }), ""))
            } else if !line.hasPrefix("\t") && !line.hasPrefix("}") && !line.isEmpty {
                continue
            }
            if !rules.isEmpty { rules[rules.count - 1].body += line + "\n" }
        }
        for contract in KindCatalog.contracts {
            let prefix = "test_kind_" + contract.kind.rawValue.replacingOccurrences(of: "-", with: "_") + "_"
            let own = rules.filter { $0.name.hasPrefix(prefix) }.map(\.body).joined()
            #expect(!own.isEmpty, "policies/openclaw/kinds_test.rego has no \(prefix)... test")
            for action in contract.actions ?? [] {
                #expect(own.contains("\"\(action.rawValue)\""), "no \(prefix)... test decides \(action), an action of \(contract.kind)")
            }
        }
    }
}

/// Every Redis key the fleet uses comes from `RedisKeys`: no other source file spells one.
@Suite struct RedisKeyTests {
    @Test func noKeyIsSpelledOutsideRedisKeys() throws {
        let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        var offenders: [String] = []
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift", file.lastPathComponent != "RedisKeys.swift" else { continue }
            // Code, not the comments that name keys for the reader.
            let code = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").filter {
                !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//")
            }
            if code.contains(where: { $0.contains("\"oc:") || $0.contains(":{t:") }) { offenders.append(file.lastPathComponent) }
        }
        #expect(offenders.isEmpty, "Redis keys spelled outside RedisKeys: \(offenders)")
    }
}
