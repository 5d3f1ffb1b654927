/// An action name, `system.verb` (`gmail.read`): what the policy decides on.
///
/// The actions the fleet knows are listed in `Action.catalog` with what they do; the policy's
/// list of write actions (connectors are read-only by default) is checked against it by a test.
/// `noop` jobs may name any well-formed action, so an `Action` is not limited to the catalog.
public struct Action: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// What an action does to the world outside the fleet.
    public enum Effect: String, Sendable, CaseIterable {
        /// Reads from a connected system.
        case read
        /// Changes a connected system or sends something out: needs an explicit policy.
        case write
        /// Sends data to a language model.
        case model
        /// Acts on nothing outside the fleet.
        case none
    }

    /// Parses `system.verb`: two parts of `a-z`, `0-9`, `_`, 64 bytes at most.
    public init(_ rawValue: String) throws(FleetError) {
        guard Self.isWellFormed(rawValue) else {
            throw FleetError(.invalidRequest, "action must be system.verb (e.g. gmail.read), not '\(rawValue.prefix(60))'")
        }
        self.rawValue = rawValue
    }

    private init(known rawValue: String) { self.rawValue = rawValue }

    public static func isWellFormed(_ value: String) -> Bool {
        let parts = value.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 2, value.utf8.count <= 64 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        }
    }

    /// The system part (`gmail` of `gmail.read`).
    public var system: Substring { rawValue.prefix { $0 != "." } }

    /// What the action does; `.none` for an action the catalog does not list.
    public var effect: Effect { Self.catalog[self] ?? .none }

    public var isWrite: Bool { effect == .write }

    public var description: String { rawValue }

    public static func < (lhs: Action, rhs: Action) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static let gmailRead = Action(known: "gmail.read")
    public static let gmailSend = Action(known: "gmail.send")
    /// Leaves a draft in the user's mailbox (sends nothing).
    public static let gmailDraft = Action(known: "gmail.draft")
    public static let gcalRead = Action(known: "gcal.read")
    public static let gcalCreateEvent = Action(known: "gcal.create_event")
    public static let jiraRead = Action(known: "jira.read")
    public static let jiraComment = Action(known: "jira.comment")
    public static let jiraTransition = Action(known: "jira.transition")
    public static let githubRead = Action(known: "github.read")
    public static let githubComment = Action(known: "github.comment")
    public static let gdriveRead = Action(known: "gdrive.read")
    public static let modelCall = Action(known: "model.call")
    public static let ocipSend = Action(known: "ocip.send")
    public static let ocipReply = Action(known: "ocip.reply")
    public static let autorespondSend = Action(known: "autorespond.send")
    /// What `noop` jobs of the benchmarks and tests are submitted under.
    public static let noopRun = Action(known: "noop.run")

    /// Every action the fleet performs, with its effect (SPEC "Action names").
    public static let catalog: [Action: Effect] = [
        gmailRead: .read, gmailSend: .write, gmailDraft: .write, gcalRead: .read, gcalCreateEvent: .write, jiraRead: .read,
        jiraComment: .write,
        jiraTransition: .write, githubRead: .read, githubComment: .write, gdriveRead: .read, modelCall: .model, ocipSend: .write,
        ocipReply: .write, autorespondSend: .write, noopRun: .none,
    ]

    /// The actions that change something outside the fleet: a connector is read-only unless the
    /// policy's `integrations.write` names them.
    public static var writes: Set<Action> { Set(catalog.filter { $0.value == .write }.keys) }
}
