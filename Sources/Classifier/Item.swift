import Contracts

/// Something synced that the classifier looks at: a mail message, a calendar event, a Drive
/// file, a Jira issue or a GitHub issue or pull request, with the metadata that sets its
/// default level.
public struct ClassifiableItem: Sendable {
    /// Where the item comes from, with what decides its default level.
    public enum Source: Sendable, Equatable {
        case gmail
        case calendar
        /// A Drive file: public when shared publicly; its labels (e.g. `Confidential`).
        case drive(sharedPublicly: Bool, labels: [String])
        /// A Jira issue and its security level, if any.
        case jira(securityLevel: String?)
        /// A GitHub issue or pull request, in a private or public repository.
        case github(repoPrivate: Bool)
    }

    public var source: Source
    /// The subject of a message, the title of anything else.
    public var title: String
    public var body: String
    /// Mail only: `Name <address>` or an address.
    public var from: String
    public var to: [String]
    public var cc: [String]
    /// Mail only: headers that matter for classing (`List-Unsubscribe`, `Auto-Submitted`, ...).
    public var headers: [String: String]
    /// Mail only: the user already replied earlier in the thread.
    public var userRepliedInThread: Bool

    public init(
        source: Source, title: String, body: String, from: String = "", to: [String] = [], cc: [String] = [],
        headers: [String: String] = [:], userRepliedInThread: Bool = false
    ) {
        self.source = source
        self.title = title
        self.body = body
        self.from = from
        self.to = to
        self.cc = cc
        self.headers = headers
        self.userRepliedInThread = userRepliedInThread
    }

    /// The connector's default level (SPEC), before any detector raises it.
    public var defaultLevel: Classification {
        switch source {
        case .gmail, .calendar, .jira: .internal
        case .drive(let sharedPublicly, _): sharedPublicly ? .public : .internal
        case .github(let repoPrivate): repoPrivate ? .internal : .public
        }
    }
}

/// What raised an item's level: which detector, where, and to what. Never the matched text.
public struct Finding: Sendable, Equatable, Codable {
    public enum Detector: String, Sendable, Codable, CaseIterable {
        case awsAccessKey = "aws_access_key"
        case privateKey = "private_key"
        case apiToken = "api_token"
        case password
        case paymentCard = "payment_card"
        case iban
        case nationalID = "national_id"
        case marking
        case driveLabel = "drive_label"
        case jiraSecurity = "jira_security"
        /// The model backend's reading of the item (it may only raise a level).
        case model
        /// Mail to or from outside the tenant's domains, where the tenant raises such mail.
        case externalRecipient = "external_recipient"
    }

    /// The part of the item the detector matched in.
    public enum Field: String, Sendable, Codable {
        case title, body, metadata
    }

    public let detector: Detector
    public let field: Field
    /// Byte offset of the match in its field (UTF-8).
    public let offset: Int
    public let raises: Classification

    public init(detector: Detector, field: Field, offset: Int, raises: Classification) {
        self.detector = detector
        self.field = field
        self.offset = offset
        self.raises = raises
    }
}

/// An item's level: its default, raised by what the detectors found.
public struct LevelDecision: Sendable, Equatable {
    public let level: Classification
    public let defaultLevel: Classification
    public let findings: [Finding]

    public init(level: Classification, defaultLevel: Classification, findings: [Finding]) {
        self.level = level
        self.defaultLevel = defaultLevel
        self.findings = findings
    }
}
