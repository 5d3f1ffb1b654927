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

extension PolicyInput {
    /// The input as the engine reads it: the same JSON object `JSONEncoder` writes (no `model`
    /// when there is none), built directly, since every engine evaluation sends one.
    public var json: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(192 + tenant.utf8.count + user.utf8.count + target.utf8.count)
        func field(_ name: StaticString, _ first: Bool = false) {
            out.append(UInt8(ascii: first ? "{" : ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: #"":"#.utf8)
        }
        field("tenant", true)
        JSONText.appendQuoted(tenant, to: &out)
        field("user")
        JSONText.appendQuoted(user, to: &out)
        field("org")
        JSONText.appendQuoted(org, to: &out)
        field("team")
        JSONText.appendQuoted(team, to: &out)
        field("roles")
        out.append(UInt8(ascii: "["))
        for (index, role) in roles.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(role, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        field("action")
        JSONText.appendQuoted(action.rawValue, to: &out)
        field("classification")
        JSONText.appendQuoted(classification.rawValue, to: &out)
        field("target")
        JSONText.appendQuoted(target, to: &out)
        field("channel")
        JSONText.appendQuoted(channel, to: &out)
        if let model {
            field("model")
            out.append(contentsOf: #"{"name":"#.utf8)
            JSONText.appendQuoted(model.name, to: &out)
            out.append(contentsOf: (model.external ? #","external":true}"# : #","external":false}"#).utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
