import Contracts
import Foundation
import Yams

/// Settings read the same way by every executable and command: the environment (`OC_<NAME>`)
/// over an optional YAML file (`OC_CONFIG_FILE`, keys in snake_case, nested maps joined with
/// `_`: `oidc: {issuer: x}` is `oidc_issuer`). A value that does not parse is an error naming
/// the key, where it came from and what is expected.
public struct ConfigurationValues: Sendable {
    private struct Value: Sendable {
        let text: String
        let source: String
    }

    private let values: [String: Value]

    /// Values as given (keys in snake_case, without `OC_`), for tests and embedding.
    public init(_ values: [String: String], source: String = "the configuration") {
        self.values = values.mapValues { Value(text: $0, source: source) }
    }

    private init(values: [String: Value]) { self.values = values }

    /// Reads `OC_CONFIG_FILE` (if set), then the environment over it.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(FleetError)
        -> ConfigurationValues
    {
        var merged: [String: Value] = [:]
        if let path = environment["OC_CONFIG_FILE"], !path.isEmpty {
            for (key, text) in try yaml(at: path) { merged[key] = Value(text: text, source: path) }
        }
        for (key, text) in environment where key.hasPrefix("OC_") && key != "OC_CONFIG_FILE" && !text.isEmpty {
            merged[key.dropFirst(3).lowercased()] = Value(text: text, source: "the environment (\(key))")
        }
        return ConfigurationValues(values: merged)
    }

    private static func yaml(at path: String) throws(FleetError) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FleetError(.invalidConfiguration, "cannot read OC_CONFIG_FILE \(path): check the path and its permissions")
        }
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: text)
        } catch {
            throw FleetError(.invalidConfiguration, "\(path) is not valid YAML: \(error)")
        }
        guard let map = loaded as? [String: Any] else {
            if loaded == nil { return [:] }
            throw FleetError(.invalidConfiguration, "\(path) must be a YAML map of settings (e.g. `port: 8080`)")
        }
        return flatten(map)
    }

    /// Nested YAML maps as `outer_inner` keys; lists as comma-separated text.
    private static func flatten(_ values: [String: Any], prefix: String = "") -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in values {
            let name = prefix.isEmpty ? key : "\(prefix)_\(key)"
            if let nested = value as? [String: Any] {
                out.merge(flatten(nested, prefix: name)) { $1 }
            } else if let list = value as? [Any] {
                out[name] = list.map { "\($0)" }.joined(separator: ",")
            } else {
                out[name] = "\(value)"
            }
        }
        return out
    }

    /// Where `key` came from, for messages.
    public func source(of key: String) -> String? { values[key]?.source }

    public func string(_ key: String) -> String? { values[key]?.text }

    /// A whole number, within `range` when given.
    public func int(_ key: String, in range: ClosedRange<Int>? = nil) throws(FleetError) -> Int? {
        guard let value = values[key] else { return nil }
        guard let number = Int(value.text.trimmingCharacters(in: .whitespaces)) else {
            throw invalid(key, value, "a whole number")
        }
        if let range, !range.contains(number) {
            throw invalid(key, value, "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    public func double(_ key: String, in range: ClosedRange<Double>? = nil) throws(FleetError) -> Double? {
        guard let value = values[key] else { return nil }
        guard let number = Double(value.text.trimmingCharacters(in: .whitespaces)), number.isFinite else {
            throw invalid(key, value, "a number")
        }
        if let range, !range.contains(number) { throw invalid(key, value, "a number from \(range.lowerBound) to \(range.upperBound)") }
        return number
    }

    public func bool(_ key: String) throws(FleetError) -> Bool? {
        guard let value = values[key] else { return nil }
        switch value.text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw invalid(key, value, "true or false")
        }
    }

    /// `key` in milliseconds (`..._ms`) as a duration.
    public func milliseconds(_ key: String, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws(FleetError) -> Duration? {
        try int(key, in: range).map { .milliseconds($0) }
    }

    /// `key` in seconds (`..._seconds`) as a duration.
    public func seconds(_ key: String, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws(FleetError) -> Duration? {
        try int(key, in: range).map { .seconds($0) }
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    public func list(_ key: String) -> [String]? {
        values[key].map { $0.text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    /// The error for a value of `key` that is not what it must be.
    public func invalid(_ key: String, expected: String) -> FleetError {
        guard let value = values[key] else { return FleetError(.invalidConfiguration, "\(key) must be \(expected)") }
        return invalid(key, value, expected)
    }

    private func invalid(_ key: String, _ value: Value, _ expected: String) -> FleetError {
        FleetError(
            .invalidConfiguration, "\(key) in \(value.source) must be \(expected), not '\(value.text.prefix(80))'")
    }
}

extension ConfigurationValues {
    /// This process's configuration, for command-line defaults: read once; a file that cannot be
    /// read or parsed ends the process with one line saying what to fix.
    public static let process: ConfigurationValues = {
        do {
            return try ConfigurationValues.load()
        } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            exit(64)
        }
    }()
}
