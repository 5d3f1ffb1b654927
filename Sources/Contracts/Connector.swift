/// The external systems the fleet connects to (SPEC "Connectors").
public enum Connector: String, Sendable, Codable, CaseIterable, Comparable {
    case gmail
    case gcal
    case jira
    case github
    case gdrive

    /// The action that reads this connector.
    public var readAction: Action {
        switch self {
        case .gmail: .gmailRead
        case .gcal: .gcalRead
        case .jira: .jiraRead
        case .github: .githubRead
        case .gdrive: .gdriveRead
        }
    }

    /// The connector an action belongs to, if any.
    public init?(action: Action) {
        self.init(rawValue: String(action.system))
    }

    /// The level of this connector's data when nothing says otherwise (SPEC "Per-connector
    /// defaults"): `internal` for all five; a GitHub public repository or a publicly shared
    /// document is `public` only when the item says so.
    public var defaultClassification: Classification { .internal }

    public static func < (lhs: Connector, rhs: Connector) -> Bool { lhs.rawValue < rhs.rawValue }
}
