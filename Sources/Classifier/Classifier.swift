import Contracts

/// The tenant's view of people: whose mail it is, which domains are internal, who counts as a
/// VIP.
public struct Directory: Sendable, Codable {
    public var userEmail: String
    public var userName: String
    public var internalDomains: [String]
    public var vips: [String]

    public init(userEmail: String, userName: String, internalDomains: [String], vips: [String]) {
        self.userEmail = userEmail.lowercased()
        self.userName = userName
        self.internalDomains = internalDomains.map { $0.lowercased() }
        self.vips = vips.map { $0.lowercased() }
    }
}

/// A message's class, how sure the rules are, and why.
public struct ClassDecision: Sendable, Equatable {
    public let messageClass: MessageClass
    public let confidence: Double
    public let reasons: [String]

    public init(messageClass: MessageClass, confidence: Double, reasons: [String]) {
        self.messageClass = messageClass
        self.confidence = confidence
        self.reasons = reasons
    }
}

/// The rules-based classifier: the level of any synced item, the class of a message.
public struct Classifier: Sendable {
    public init() {}

    /// The item's level: its connector's default, raised by its metadata and by what the
    /// detectors find in its title and body. Never lowered.
    public func level(of item: ClassifiableItem) -> LevelDecision {
        var findings: [Finding] = []
        switch item.source {
        case .drive(_, let labels):
            for label in labels {
                let lower = label.lowercased()
                if lower.contains("restricted") || lower.contains("secret") {
                    findings.append(Finding(detector: .driveLabel, field: .metadata, offset: 0, raises: .restricted))
                } else if lower.contains("confidential") || lower.contains("vertraulich") || lower.contains("confidenti") {
                    findings.append(Finding(detector: .driveLabel, field: .metadata, offset: 0, raises: .confidential))
                }
            }
        case .jira(let securityLevel?) where !securityLevel.isEmpty:
            let restricted = securityLevel.lowercased().contains("restricted")
            findings.append(Finding(detector: .jiraSecurity, field: .metadata, offset: 0, raises: restricted ? .restricted : .confidential))
        default: break
        }
        for (field, text) in [(Finding.Field.title, item.title), (.body, item.body)] {
            for hit in Detectors.scan(Array(text.utf8), isTitle: field == .title) {
                findings.append(Finding(detector: hit.detector, field: field, offset: hit.offset, raises: hit.raises))
            }
        }
        let base = item.defaultLevel
        let raised = findings.filter { $0.raises > base }
        return LevelDecision(level: raised.map(\.raises).max() ?? base, defaultLevel: base, findings: raised)
    }

    /// The message's class from what it shows: who sent it and how, to whom, and what it asks.
    public func messageClass(of item: ClassifiableItem, directory: Directory) -> ClassDecision {
        MessageRules(item: item, directory: directory).decide()
    }
}
