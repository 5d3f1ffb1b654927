/// `ocip-relay`: sends or answers an agent-to-agent (OCIP) message under the exchange rules.
public enum OCIPRelayKind: KindContract {
    public static let kind = JobKind.ocipRelay
    public static let summary = "Relays an agent-to-agent (OCIP) message, withholding what the receiver may not see."
    public static let actions: Set<Action>? = [.ocipSend, .ocipReply]

    public struct Payload: KindPayload {
        /// The OCIP envelope (SPEC "OCIP"), checked by the relay.
        public var envelope: JSONValue

        public init(envelope: JSONValue) { self.envelope = envelope }

        public static let schema = PayloadSchema([.init("envelope", .object, required: true, "the OCIP envelope and message")])
    }
}
