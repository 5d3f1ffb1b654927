import Contracts
import Foundation

/// Policy scopes, most general first. A lower scope may only restrict what a higher one allows.
public enum PolicyScope: String, Sendable, Codable, CaseIterable, Comparable {
    case enterprise
    case org
    case team
    case user

    var rank: Int { PolicyScope.allCases.firstIndex(of: self)! }

    public static func < (lhs: PolicyScope, rhs: PolicyScope) -> Bool { lhs.rank < rhs.rank }
}

/// Policy domains (SPEC "Policy").
public enum PolicyDomain: String, Sendable, Codable, CaseIterable {
    case models
    case actions
    case integrations
    case agentToAgent = "agent-to-agent"
    case features
    case data
    case audit
}

/// Autonomy levels, least permissive first.
public enum Autonomy: String, Sendable, Codable, CaseIterable, Comparable {
    case block
    case approve
    case notify
    case autonomous

    var rank: Int { Autonomy.allCases.firstIndex(of: self)! }

    public static func < (lhs: Autonomy, rhs: Autonomy) -> Bool { lhs.rank < rhs.rank }
}

/// The content of the domains the decision policy reads. Other domains are stored and pushed
/// as they are.
public struct ActionRule: Sendable, Codable, Equatable {
    public var autonomy: Autonomy?
    public var maxClassification: Classification?
    public var allowedTransitions: [String]?
    public var selfApproval: Bool?

    public init(
        autonomy: Autonomy? = nil, maxClassification: Classification? = nil, allowedTransitions: [String]? = nil, selfApproval: Bool? = nil
    ) {
        self.autonomy = autonomy
        self.maxClassification = maxClassification
        self.allowedTransitions = allowedTransitions
        self.selfApproval = selfApproval
    }

    enum CodingKeys: String, CodingKey {
        case autonomy
        case maxClassification = "max_classification"
        case allowedTransitions = "allowed_transitions"
        case selfApproval = "self_approval"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        autonomy = try container.decodeIfPresent(Autonomy.self, forKey: .autonomy)
        if let level = try container.decodeIfPresent(String.self, forKey: .maxClassification) {
            guard let parsed = Classification(rawValue: level) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .maxClassification, in: container, debugDescription: "unknown classification '\(level)'")
            }
            maxClassification = parsed
        }
        allowedTransitions = try container.decodeIfPresent([String].self, forKey: .allowedTransitions)
        selfApproval = try container.decodeIfPresent(Bool.self, forKey: .selfApproval)
    }
}

/// Checks that a lower-scope policy only restricts its parents, and explains every widening.
public enum PolicyValidator {
    /// Problems with `content` for `domain` at a scope below `parents` (each parent's content for
    /// the same domain, with a label). Empty when the document only restricts.
    public static func wideningProblems(
        domain: PolicyDomain, content: Data, parents: [(label: String, content: Data)]
    ) throws
        -> [String]
    {
        switch domain {
        case .actions:
            let child = try decode([String: ActionRule].self, content, domain)
            return try parents.flatMap { parent in
                actionProblems(child, try decode([String: ActionRule].self, parent.content, domain), parent.label)
            }
        case .integrations:
            struct Integrations: Decodable { var write: [String]? }
            let child = try decode(Integrations.self, content, domain)
            return try parents.flatMap { parent -> [String] in
                let allowed = Set(try decode(Integrations.self, parent.content, domain).write ?? [])
                return (child.write ?? []).filter { !allowed.contains($0) }.map {
                    "integrations.write adds \($0), which \(parent.label) does not allow"
                }
            }
        case .models:
            struct Models: Decodable {
                var external_max_classification: Classification?
            }
            let child = try decode(Models.self, content, domain)
            return try parents.compactMap { parent in
                let limit = try decode(Models.self, parent.content, domain).external_max_classification ?? .internal
                guard let level = child.external_max_classification, level > limit else { return nil }
                return "models.external_max_classification \(level.rawValue) exceeds \(limit.rawValue) set by \(parent.label)"
            }
        case .data:
            struct DataRules: Decodable { var max_classification: Classification? }
            let child = try decode(DataRules.self, content, domain)
            return try parents.compactMap { parent in
                guard let level = child.max_classification,
                    let limit = try decode(DataRules.self, parent.content, domain).max_classification,
                    level > limit
                else { return nil }
                return "data.max_classification \(level.rawValue) exceeds \(limit.rawValue) set by \(parent.label)"
            }
        case .agentToAgent, .features, .audit:
            _ = try decode([String: JSONAny].self, content, domain)
            return []
        }
    }

    static func actionProblems(_ child: [String: ActionRule], _ parent: [String: ActionRule], _ label: String) -> [String] {
        var problems: [String] = []
        for (action, rule) in child.sorted(by: { $0.key < $1.key }) {
            let inherited = parent[action] ?? parent["default"]
            if let level = rule.autonomy {
                let limit = inherited?.autonomy ?? .block
                if level > limit {
                    problems.append("\(action): autonomy \(level.rawValue) is more permissive than \(limit.rawValue) set by \(label)")
                }
            }
            if let level = rule.maxClassification, let limit = inherited?.maxClassification, level > limit {
                problems.append("\(action): max_classification \(level.rawValue) exceeds \(limit.rawValue) set by \(label)")
            }
            if let transitions = rule.allowedTransitions {
                let allowed = Set(inherited?.allowedTransitions ?? [])
                for transition in transitions where !allowed.contains(transition) {
                    problems.append("\(action): transition '\(transition)' is not allowed by \(label)")
                }
            }
            if rule.selfApproval == true && inherited?.selfApproval != true {
                problems.append("\(action): self_approval is not allowed by \(label)")
            }
        }
        return problems
    }

    static func decode<T: Decodable>(_ type: T.Type, _ content: Data, _ domain: PolicyDomain) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: content)
        } catch {
            throw FleetError(.invalidPayload, "the \(domain.rawValue) policy does not have the expected shape: \(error)")
        }
    }
}

/// Any JSON value (to check that a document is a JSON object).
struct JSONAny: Decodable {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { return }
        if (try? container.decode(Bool.self)) != nil { return }
        if (try? container.decode(Double.self)) != nil { return }
        if (try? container.decode(String.self)) != nil { return }
        if (try? container.decode([JSONAny].self)) != nil { return }
        _ = try container.decode([String: JSONAny].self)
    }
}
