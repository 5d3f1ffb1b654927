/// What a message asks of its recipient (SPEC: auto-response), from most to least pressing.
public enum MessageClass: String, Sendable, Codable, CaseIterable {
    /// Needs the user's action urgently (an incident they must join, a VIP's request for today).
    case critical
    /// A person asks the user something and expects their answer.
    case needsResponse = "needs_response"
    /// Relevant, no answer expected (updates, notifications about the user's work, Cc).
    case informational
    /// Marketing, newsletters, cold outreach.
    case noise
}
