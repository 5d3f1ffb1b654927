import Foundation

/// One audit entry as submitted (SPEC "Audit entry"); the store adds the per-tenant sequence,
/// `prev_hash` and `hash`. Never updated or deleted once written.
public struct AuditEvent: Sendable, Equatable, Codable {
    /// Where a piece of data came from and why it was used.
    public struct DataAccess: Sendable, Equatable, Codable {
        public var source: String
        public var classification: Classification
        public var purpose: String

        public init(source: String, classification: Classification, purpose: String) {
            self.source = source
            self.classification = classification
            self.purpose = purpose
        }
    }

    /// Stable action types (plus the `job.*` lifecycle names).
    public enum ActionType {
        public static let toolInvocation = "tool_invocation"
        public static let dataAccess = "data_access"
        public static let modelCall = "model_call"
        public static let policyDecision = "policy_decision"
        public static let agentExchange = "agent_exchange"
        public static let policyChange = "policy_change"
    }

    /// Stable outcomes.
    public enum Outcome: String, Sendable, Codable, CaseIterable {
        case success
        case denied
        case error
        case pendingApproval = "pending_approval"
    }

    /// ULID of the entry.
    public var id: String
    public var tenant: TenantID
    /// Deduplication key: an event written twice (a redelivered job) is stored once.
    public var eventKey: String
    public var userID: String
    /// Microseconds since the epoch, UTC.
    public var timestamp: Int64
    public var actionType: String
    /// Structured detail: a JSON object, stored byte for byte as given.
    public var actionDetail: String
    public var dataAccessed: [DataAccess] {
        get { (try? JSONDecoder().decode([DataAccess].self, from: Data(dataAccessedJSON.utf8))) ?? [] }
        set { dataAccessedJSON = Self.encode(newValue) }
    }
    /// `dataAccessed` as stored in the log and hashed (keys sorted, no spaces); for an entry
    /// read back, exactly the stored text.
    public var dataAccessedJSON: String
    public var modelUsed: String?
    public var modelTokens: Int?
    public var dataClassification: Classification
    public var policyApplied: String?
    public var policyResult: String?
    public var policyReason: String?
    public var outcome: Outcome
    /// Links every entry of one request or job.
    public var requestID: String

    public init(
        id: String = JobID.make(), tenant: TenantID, eventKey: String? = nil, userID: String,
        timestamp: Int64 = AuditEvent.now(), actionType: String, actionDetail: String = "{}",
        dataAccessed: [DataAccess] = [], modelUsed: String? = nil, modelTokens: Int? = nil,
        dataClassification: Classification = .internal, policyApplied: String? = nil, policyResult: String? = nil,
        policyReason: String? = nil, outcome: Outcome, requestID: String
    ) {
        // Text PostgreSQL cannot store (a NUL) never reaches a batch shared with other entries.
        let storable = Self.storable
        self.id = id
        self.tenant = tenant
        self.eventKey = storable(eventKey ?? id)
        self.userID = storable(userID)
        self.timestamp = timestamp
        self.actionType = storable(actionType)
        self.actionDetail = storable(actionDetail)
        self.dataAccessedJSON = Self.encode(dataAccessed)
        self.modelUsed = modelUsed.map(storable)
        self.modelTokens = modelTokens
        self.dataClassification = dataClassification
        self.policyApplied = policyApplied.map(storable)
        self.policyResult = policyResult.map(storable)
        self.policyReason = policyReason.map(storable)
        self.outcome = outcome
        self.requestID = storable(requestID)
    }

    /// `text` as PostgreSQL can store it: a NUL character becomes U+FFFD.
    static func storable(_ text: String) -> String {
        text.containsNUL ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }

    /// Now, in microseconds since the epoch.
    public static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }

    /// `[{"classification":...,"purpose":...,"source":...}, ...]`: keys sorted, no spaces. Written
    /// by hand: it runs for every audit event.
    static func encode(_ accessed: [DataAccess]) -> String {
        if accessed.isEmpty { return "[]" }
        var out = "["
        for (index, item) in accessed.enumerated() {
            if index > 0 { out += "," }
            out +=
                #"{"classification":"# + JSONText.quoted(item.classification.rawValue) + #","purpose":"#
                + JSONText.quoted(item.purpose) + #","source":"# + JSONText.quoted(item.source) + "}"
        }
        return out + "]"
    }
}

extension AuditEvent {
    /// The audit entry for a job lifecycle step.
    public init(lifecycle event: JobLifecycleEvent) {
        let job = event.job
        var detail: [String: JSONValue] = [
            "job_id": .string(job.id), "kind": .string(job.kind.rawValue), "action": .string(job.action.rawValue),
            "attempt": .integer(Int64(event.attempt)), "generation": .integer(Int64(job.attempt)),
        ]
        if let error = event.error { detail["error"] = .string(String(error.prefix(2000))) }
        if job.replay > 0 { detail["replay"] = .integer(Int64(job.replay)) }
        let outcome: Outcome
        switch event.name {
        case .started, .succeeded, .retried, .cancelled, .replayed: outcome = .success
        case .failed, .deadLettered, .notQueued: outcome = .error
        }
        let data = JSONValue.object(detail).canonicalBytes
        self.init(
            tenant: job.tenant, eventKey: "job:" + event.eventKey, userID: job.requester.user,
            timestamp: event.at * 1000, actionType: event.name.rawValue, actionDetail: String(decoding: data, as: UTF8.self),
            dataClassification: job.classification, policyApplied: job.admission?.policyApplied,
            policyResult: job.admission?.decision.rawValue, policyReason: job.admission?.reason, outcome: outcome,
            requestID: job.requestID)
    }
}
