import AuditLog
import Contracts
import Crypto
import Foundation
import PostgresClient
import RedisClient

/// Policy documents: versioned in the tenant's `policies` table (author, time, mandatory change
/// reason), published through a per-tenant revision counter in Redis that every Dispatcher
/// watches (`PolicySync`) to load the tenant's documents into its policy engine.
public struct PolicyStore: Sendable {
    let tenants: TenantDirectory
    let redis: RedisClient

    public init(tenants: TenantDirectory, redis: RedisClient) {
        self.tenants = tenants
        self.redis = redis
    }

    public struct Stored: Sendable {
        public var scope: PolicyScope
        public var scopeID: String
        public var domain: PolicyDomain
        public var version: Int
        public var content: JSONValue
        public var author: String
        public var changeReason: String
        public var createdAt: String
    }

    /// A team is named within its org: its scope id is `<org>:<team>`.
    public static func teamScopeID(_ identity: Identity) -> String { "\(identity.org):\(identity.team)" }

    /// Who may govern `scope`/`scopeID`: admins within their scope, users over their own.
    public static func mayGovern(_ identity: Identity, scope: PolicyScope, scopeID: String) -> Bool {
        if identity.has(.enterpriseAdmin) { return true }
        switch scope {
        case .enterprise: return false
        case .org: return identity.has(.orgAdmin) && identity.org == scopeID
        case .team:
            return (identity.has(.teamLead) && scopeID == teamScopeID(identity))
                || (identity.has(.orgAdmin) && !identity.org.isEmpty && scopeID.hasPrefix(identity.org + ":"))
        case .user: return identity.user == scopeID
        }
    }

    /// Whether `identity` may read the stored document: enterprise admins all, everyone the
    /// enterprise's, their org's, their team's (org admins their org's teams) and their own.
    public static func mayRead(_ identity: Identity, _ document: Stored) -> Bool {
        identity.has(.enterpriseAdmin) || document.scope == .enterprise
            || (document.scope == .org && document.scopeID == identity.org)
            || (document.scope == .team
                && (document.scopeID == teamScopeID(identity)
                    || (identity.has(.orgAdmin) && document.scopeID.hasPrefix(identity.org + ":"))))
            || (document.scope == .user && document.scopeID == identity.user)
    }

    /// The latest version of every document of the tenant.
    public func current(_ tenant: TenantID) async throws -> [Stored] {
        try await tenants.session(tenant) { connection in
            try await connection.query(
                """
                SELECT DISTINCT ON (scope, scope_id, domain) scope, scope_id, domain, version, content::text AS content, author,
                    change_reason, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at
                FROM policies WHERE name = 'default' ORDER BY scope, scope_id, domain, version DESC
                """)
        }.compactMap { row in
            guard let scope = row.string("scope").flatMap(PolicyScope.init(rawValue:)),
                let domain = row.string("domain").flatMap(PolicyDomain.init(rawValue:)),
                let content = row.string("content").flatMap({ JSONValue.parse(Data($0.utf8)) })
            else { return nil }
            return Stored(
                scope: scope, scopeID: row.string("scope_id") ?? "", domain: domain, version: row.int("version") ?? 0, content: content,
                author: row.string("author") ?? "", changeReason: row.string("change_reason") ?? "",
                createdAt: row.string("created_at") ?? "")
        }
    }

    /// Saves a new version after checking that it does not widen its parents; returns the
    /// version and the tenant's new revision. `audit` runs (with the version) inside the
    /// transaction that stores it, so a stored version is always audited. The revision moves
    /// after the commit, never before: an engine loading the new revision must read the new
    /// documents. (If that fails the error says so; the next change moves it.)
    public func save(
        by identity: Identity, scope: PolicyScope, scopeID: String, domain: PolicyDomain, content: JSONValue, changeReason: String,
        audit: @Sendable (_ version: Int) async throws -> Void = { _ in }
    ) async throws -> (version: Int, revision: Int64) {
        guard Self.mayGovern(identity, scope: scope, scopeID: scopeID) else {
            throw FleetError(.forbidden, "\(identity.user) may not change \(scope.rawValue) policies of '\(scopeID)'")
        }
        guard content.objectValue != nil else { throw FleetError(.invalidRequest, "'content' must be a JSON object") }
        if scope == .team {
            let parts = scopeID.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw FleetError(
                    .invalidRequest, "a team's scope id is '<org>:<team>' (a team is named within its org), not '\(scopeID.prefix(60))'")
            }
        }
        let reason = changeReason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw FleetError(.invalidRequest, "'change_reason' is required: say why the policy changes") }
        let existing = try await current(identity.tenant)
        var parents: [(label: String, content: Data)] = []
        if scope > .enterprise {
            // A team's org is in its scope id; a user's org and team are known from the token
            // when the scope is the caller's own. An admin's save for someone else's user scope
            // is checked against the enterprise policy (the decision still takes the strictest
            // of all scopes).
            let ownUser = scope == .user && scopeID == identity.user
            for parentScope in PolicyScope.allCases where parentScope < scope {
                let parentID: String
                switch parentScope {
                case .enterprise: parentID = "*"
                case .org: parentID = scope == .team ? String(scopeID.prefix { $0 != ":" }) : ownUser ? identity.org : ""
                case .team: parentID = ownUser && !identity.team.isEmpty ? Self.teamScopeID(identity) : ""
                case .user: parentID = ""
                }
                if parentScope != .enterprise && parentID.isEmpty { continue }
                let document = existing.first { $0.scope == parentScope && $0.scopeID == parentID && $0.domain == domain }
                // No enterprise document means everything is blocked: a lower one can only restrict.
                if parentScope == .enterprise || document != nil {
                    let label = parentScope == .enterprise ? "the enterprise policy" : "the \(parentScope.rawValue) policy of '\(parentID)'"
                    parents.append((label, document?.content.canonicalData ?? Data("{}".utf8)))
                }
            }
        }
        let problems: [String]
        do {
            problems = try PolicyValidator.wideningProblems(domain: domain, content: content.canonicalData, parents: parents)
        } catch {
            throw FleetError(.invalidPolicy, (error as? FleetError)?.message ?? "\(error)")
        }
        guard problems.isEmpty else { throw FleetError(.policyWidensParent, problems.joined(separator: "; ")) }
        let version = try await tenants.session(identity.tenant) { connection in
            let rows = try await connection.query(
                """
                INSERT INTO policies (scope, scope_id, domain, name, version, content, author, change_reason)
                SELECT $1, $2, $3, 'default', coalesce(max(version), 0) + 1, $4::jsonb, $5, $6
                FROM policies WHERE scope = $1 AND scope_id = $2 AND domain = $3 AND name = 'default'
                RETURNING version
                """,
                [scope.rawValue, scopeID, domain.rawValue, String(decoding: content.canonicalData, as: UTF8.self), identity.user, reason])
            let version = rows.first?.int("version") ?? 0
            try await audit(version)
            return version
        }
        let revision: Int64
        do {
            revision = try await redis.send(RedisCommand("HINCRBY", [RedisKeys.policyRevisions, identity.tenant.rawValue, "1"])).int ?? 0
        } catch {
            throw FleetError(
                .queueUnavailable,
                "version \(version) is saved and audited, but Redis could not announce it to the Dispatchers; it takes effect with the next change",
                retryAfter: 5)
        }
        return (version, revision)
    }

    /// The tenant's documents as the decision policy reads them (`data.openclaw.tenants[t]`).
    public func engineDocument(_ tenant: TenantID, revision: Int64) async throws -> EngineDocument {
        var document: [String: JSONValue] = ["orgs": .object([:]), "teams": .object([:]), "users": .object([:])]
        var enterprise: [String: JSONValue] = [:]
        var scoped: [String: [String: [String: JSONValue]]] = ["orgs": [:], "teams": [:], "users": [:]]
        for stored in try await current(tenant) {
            switch stored.scope {
            case .enterprise: enterprise[stored.domain.rawValue] = stored.content
            case .org: scoped["orgs"]![stored.scopeID, default: [:]][stored.domain.rawValue] = stored.content
            case .team: scoped["teams"]![stored.scopeID, default: [:]][stored.domain.rawValue] = stored.content
            case .user: scoped["users"]![stored.scopeID, default: [:]][stored.domain.rawValue] = stored.content
            }
        }
        if !enterprise.isEmpty { document["enterprise"] = .object(enterprise) }
        for (group, entries) in scoped { document[group] = .object(entries.mapValues { .object($0) }) }
        // The revision is not part of what the documents say (the policy does not read it).
        let content = PolicyContent(digesting: JSONValue.object(document).canonicalData)
        document["revision"] = .integer(revision)
        return EngineDocument(
            data: JSONValue.object(document).canonicalData, content: content, users: scoped["users"]!.mapValues(ScopeBearing.init),
            orgs: scoped["orgs"]!.mapValues(ScopeBearing.init), teams: scoped["teams"]!.mapValues(ScopeBearing.init))
    }

    /// Every tenant's revision.
    public func revisions() async throws -> [TenantID: Int64] {
        let reply = try await redis.send(RedisCommand("HGETALL", [RedisKeys.policyRevisions]))
        let values = reply.array ?? []
        var out: [TenantID: Int64] = [:]
        for index in stride(from: 0, to: values.count - 1, by: 2) {
            if let tenant = values[index].string.flatMap({ try? TenantID($0) }), let revision = values[index + 1].int {
                out[tenant] = revision
            }
        }
        return out
    }
}

/// A tenant's policies as the engine holds them (`data.openclaw.tenants.<tenant>`), with the
/// users, orgs and teams (`<org>:<team>`) that have documents of their own and the actions
/// those documents bear on.
public struct EngineDocument: Sendable {
    public let data: Data
    /// What the documents say, without their revision.
    public let content: PolicyContent
    let users: [String: ScopeBearing]
    let orgs: [String: ScopeBearing]
    let teams: [String: ScopeBearing]

    init(
        data: Data, content: PolicyContent, users: [String: ScopeBearing], orgs: [String: ScopeBearing], teams: [String: ScopeBearing]
    ) {
        self.data = data
        self.content = content
        self.users = users
        self.orgs = orgs
        self.teams = teams
    }

    /// Which of `requester`'s scopes have documents here that bear on `action`.
    public func scopes(of requester: Requester, action: Action) -> RequesterScopes {
        RequesterScopes(
            user: users[requester.user]?.bears(on: action) ?? false, org: orgs[requester.org]?.bears(on: action) ?? false,
            team: !requester.team.isEmpty && teams["\(requester.org):\(requester.team)"]?.bears(on: action) ?? false)
    }
}

/// The actions a scope's documents (by domain) bear on. The decision policy reads a scope's
/// documents through the action's entry in `actions` or its `default`, and through `data`,
/// `integrations` and `models`, which apply to any action: documents with only an `actions`
/// document and no `default` in it bear on the actions it names and no other, so for those the
/// requester's scope is left out of the cache key, and they share the decision with their
/// peers. Anything else bears on every action. (`scopeKeysHoldWhatDecisionsDependOn` holds this
/// to the engine's decisions.)
enum ScopeBearing: Sendable, Equatable {
    case every
    case named(Set<String>)

    init(_ documents: [String: JSONValue]) {
        let actionsOnly = documents.keys.allSatisfy { $0 == PolicyDomain.actions.rawValue }
        switch documents[PolicyDomain.actions.rawValue] {
        case nil where actionsOnly: self = .named([])
        case .object(let actions)? where actionsOnly && actions["default"] == nil: self = .named(Set(actions.keys))
        default: self = .every
        }
    }

    func bears(on action: Action) -> Bool {
        switch self {
        case .every: true
        case .named(let actions): actions.contains(action.rawValue)
        }
    }
}

/// What a tenant's policies say, as far as decisions go: the SHA-256 of its documents as the
/// decision policy reads them, without their revision. Any change to a tenant's documents is new
/// content, asked again; documents changed and changed back, or a revision counter that went
/// backwards (Redis lost its hash), meet the decisions cached for what they say.
public struct PolicyContent: Hashable, Sendable {
    private let digest: SHA256Digest

    /// The content of `document` (canonical JSON: equal documents, equal bytes).
    public init(digesting document: some DataProtocol) {
        digest = SHA256.hash(data: document)
    }

    /// A tenant this process pushed nothing for. (Documents are JSON objects, so no document's
    /// bytes are these.)
    public static let none = PolicyContent(digesting: Array("no documents".utf8))
}
