/// The outcome of a policy evaluation for one action.
public struct PolicyDecision: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        case allow
        case deny
        case requireApproval = "require_approval"
    }

    /// Conditions attached to an allow.
    public struct Constraints: Sendable, Codable, Equatable {
        public var disclosureRequired: Bool
        public var maxClassification: Classification?
        public var allowedTransitions: [String]
        /// Whether the requester may approve their own request.
        public var selfApproval: Bool

        public init(
            disclosureRequired: Bool = false, maxClassification: Classification? = nil, allowedTransitions: [String] = [],
            selfApproval: Bool = false
        ) {
            self.disclosureRequired = disclosureRequired
            self.maxClassification = maxClassification
            self.allowedTransitions = allowedTransitions
            self.selfApproval = selfApproval
        }

        enum CodingKeys: String, CodingKey {
            case disclosureRequired = "disclosure_required"
            case maxClassification = "max_classification"
            case allowedTransitions = "allowed_transitions"
            case selfApproval = "self_approval"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            disclosureRequired = try container.decodeIfPresent(Bool.self, forKey: .disclosureRequired) ?? false
            maxClassification = try container.decodeIfPresent(Classification.self, forKey: .maxClassification)
            allowedTransitions = try container.decodeIfPresent([String].self, forKey: .allowedTransitions) ?? []
            selfApproval = try container.decodeIfPresent(Bool.self, forKey: .selfApproval) ?? false
        }
    }

    public var decision: Outcome
    public var policyApplied: String
    public var reason: String
    public var constraints: Constraints

    public init(decision: Outcome, policyApplied: String, reason: String, constraints: Constraints = .init()) {
        self.decision = decision
        self.policyApplied = policyApplied
        self.reason = reason
        self.constraints = constraints
    }

    enum CodingKeys: String, CodingKey {
        case decision
        case policyApplied = "policy_applied"
        case reason
        case constraints
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        decision = try container.decode(Outcome.self, forKey: .decision)
        policyApplied = try container.decodeIfPresent(String.self, forKey: .policyApplied) ?? ""
        reason = try container.decodeIfPresent(String.self, forKey: .reason) ?? ""
        constraints = try container.decodeIfPresent(Constraints.self, forKey: .constraints) ?? .init()
    }
}

extension PolicyDecision {
    /// A decision that is not one: the engine's answer had a field of the wrong type or a
    /// decision that is not allow, deny or require_approval.
    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The decision the engine's document holds, read as `init(from:)` reads it (`decision`
    /// required; the other fields default when missing or null, and refuse any other type),
    /// without a decoder: every engine evaluation reads one.
    public init(json: JSONValue) throws(Malformed) {
        guard case .object(let fields) = json else { throw Malformed(description: "the decision is not an object") }
        func string(_ value: JSONValue?, _ name: String) throws(Malformed) -> String? {
            switch value {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw Malformed(description: "\(name) is not a string")
            }
        }
        func bool(_ value: JSONValue?, _ name: String) throws(Malformed) -> Bool? {
            switch value {
            case nil, .null?: return nil
            case .bool(let flag)?: return flag
            default: throw Malformed(description: "\(name) is not a boolean")
            }
        }
        guard let outcome = try string(fields["decision"], "decision").flatMap(Outcome.init(rawValue:)) else {
            throw Malformed(description: "the decision is missing or not allow, deny or require_approval")
        }
        var constraints = Constraints()
        switch fields["constraints"] {
        case nil, .null?: break
        case .object(let given)?:
            constraints.disclosureRequired = try bool(given["disclosure_required"], "disclosure_required") ?? false
            constraints.maxClassification = try string(given["max_classification"], "max_classification").map(Classification.init(parsing:))
            switch given["allowed_transitions"] {
            case nil, .null?: break
            case .array(let items)?:
                constraints.allowedTransitions = try items.map { (item) throws(Malformed) -> String in
                    guard case .string(let text) = item else { throw Malformed(description: "allowed_transitions holds a non-string") }
                    return text
                }
            default: throw Malformed(description: "allowed_transitions is not an array")
            }
            constraints.selfApproval = try bool(given["self_approval"], "self_approval") ?? false
        default: throw Malformed(description: "constraints is not an object")
        }
        self.init(
            decision: outcome, policyApplied: try string(fields["policy_applied"], "policy_applied") ?? "",
            reason: try string(fields["reason"], "reason") ?? "", constraints: constraints)
    }
}

/// What asking the policy engine gives: a decision, or the fact that there is none to be had
/// (the engine is unreachable, slow, erroring, has no answer, or does not hold the tenant's
/// policies yet). Callers fail closed on `.unavailable`: the action is not taken.
public enum PolicyAnswer: Sendable, Equatable {
    case decided(PolicyDecision)
    case unavailable(reason: String)

    /// The decision, when there is one.
    public var decision: PolicyDecision? {
        if case .decided(let decision) = self { return decision }
        return nil
    }

    /// How the answer is written to the audit log: an unavailable engine is a denial by
    /// `engine-unavailable` with its reason.
    public var audited: PolicyDecision {
        switch self {
        case .decided(let decision): decision
        case .unavailable(let reason):
            PolicyDecision(decision: .deny, policyApplied: "engine-unavailable", reason: "policy engine unavailable: \(reason)")
        }
    }
}
