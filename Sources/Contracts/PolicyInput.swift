/// What the policy engine decides on: who asks for which action on what data.
/// Identity fields come from the verified token only.
public struct PolicyInput: Sendable, Codable, Equatable, Hashable {
    public struct Model: Sendable, Codable, Equatable, Hashable {
        public var name: String
        /// Whether the model runs outside the enterprise (data leaves it).
        public var external: Bool

        public init(name: String, external: Bool) {
            self.name = name
            self.external = external
        }
    }

    public var tenant: String
    public var user: String
    public var org: String
    public var team: String
    public var roles: [String]
    public var action: Action
    public var classification: Classification
    /// What the action touches (a channel, a ticket, a recipient), when known.
    public var target: String
    /// Where the request came from: `api`, `schedule`, `worker`, `approval`.
    public var channel: String
    public var model: Model?

    public init(
        tenant: TenantID, requester: Requester, action: Action, classification: Classification, target: String = "",
        channel: String = "api", model: Model? = nil
    ) {
        self.tenant = tenant.rawValue
        self.user = requester.user
        self.org = requester.org
        self.team = requester.team
        self.roles = requester.roles.map(\.rawValue)
        self.action = action
        self.classification = classification
        self.target = target
        self.channel = channel
        self.model = model
    }
}
