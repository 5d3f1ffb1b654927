/// Who is calling: tenant, user, org, team and roles, taken from a verified token only (or, for
/// work the fleet does on a user's behalf, from the job that user submitted).
public struct Identity: Sendable, Equatable {
    public var tenant: TenantID
    public var user: String
    public var org: String
    public var team: String
    public var roles: Set<Role>

    public init(tenant: TenantID, user: String, org: String = "", team: String = "", roles: Set<Role> = []) {
        self.tenant = tenant
        self.user = user
        self.org = org
        self.team = team
        self.roles = roles
    }

    /// The identity a job runs as: its requester's.
    public init(job: JobEnvelope) {
        self.init(
            tenant: job.tenant, user: job.requester.user, org: job.requester.org, team: job.requester.team,
            roles: Set(job.requester.roles))
    }

    public var requester: Requester { Requester(user: user, org: org, team: team, roles: roles.sorted { $0.rawValue < $1.rawValue }) }

    public func has(_ role: Role) -> Bool { roles.contains(role) }
}
