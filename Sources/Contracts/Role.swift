/// Fleet roles (SPEC "Roles"), mapped from an OIDC claim. Admins act only within their scope.
public enum Role: String, Sendable, Codable, CaseIterable, Hashable {
    case enterpriseAdmin = "enterprise_admin"
    case orgAdmin = "org_admin"
    case teamLead = "team_lead"
    case user
}
