/// Data classification levels, ordered `public < internal < confidential < restricted`.
///
/// Unknown or missing levels are treated as `restricted`: the safe direction.
public enum Classification: String, Sendable, Codable, CaseIterable, Comparable {
    case `public`
    case `internal`
    case confidential
    case restricted

    /// Parses a level; anything unknown (or nil) becomes `.restricted`.
    public init(parsing value: String?) {
        self = value.flatMap(Classification.init(rawValue:)) ?? .restricted
    }

    var rank: Int {
        switch self {
        case .public: 0
        case .internal: 1
        case .confidential: 2
        case .restricted: 3
        }
    }

    public static func < (lhs: Classification, rhs: Classification) -> Bool { lhs.rank < rhs.rank }

    /// The level of something derived from `inputs`: the highest of them (`.public` for none).
    public static func derived(from inputs: some Sequence<Classification>) -> Classification {
        inputs.max() ?? .public
    }

    public init(from decoder: any Decoder) throws {
        self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }
}
