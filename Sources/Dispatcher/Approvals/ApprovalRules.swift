import Admission
import Contracts

/// Who sees and decides which approvals: an enterprise admin any request of the tenant, an org
/// admin their org's, a team lead their team's within their org (`core` of `eng` is not `core`
/// of `sales`), a requester their own, deciding it only where the policy allows self-approval.
enum ApprovalRules {
    static func scope(_ identity: Identity) -> ApprovalScope {
        ApprovalScope(
            all: identity.has(.enterpriseAdmin), org: identity.has(.orgAdmin) && !identity.org.isEmpty ? identity.org : nil,
            team: identity.has(.teamLead) && !identity.team.isEmpty ? identity.team : nil, user: identity.user, userOrg: identity.org)
    }

    static func mayView(_ identity: Identity, _ approval: ApprovalRecord) -> Bool {
        mayDecideAsAdmin(identity, approval) || approval.requesterUser == identity.user
    }

    static func mayDecideAsAdmin(_ identity: Identity, _ approval: ApprovalRecord) -> Bool {
        let scope = scope(identity)
        return scope.all || (scope.org != nil && approval.requesterOrg == scope.org)
            || (scope.team != nil && approval.requesterTeam == scope.team && approval.requesterOrg == identity.org)
    }

    /// Whether `identity` may decide `approval` (a requester's own only if it was parked with
    /// self-approval; the policy is asked again before an approval counts).
    static func mayDecide(_ identity: Identity, _ approval: ApprovalRecord) -> Bool {
        if approval.requesterUser == identity.user { return approval.selfApproval }
        return mayDecideAsAdmin(identity, approval)
    }
}
