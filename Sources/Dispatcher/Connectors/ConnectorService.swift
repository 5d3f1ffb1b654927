import Admission
import AuditLog
import Connectors
import Contracts
import Foundation
import OutboundHTTP
import Settings

/// Connecting accounts: the authorization-code flow (a single-use `state` bound to the tenant
/// and the user, PKCE S256 where the provider takes it), tokens sealed at rest, revocation at
/// the provider, and a sync on request.
struct ConnectorService: Sendable {
    let tenants: TenantDirectory
    let admission: AdmissionService
    let jobs: JobService
    let settings: ProviderSettings
    /// Nil when no secrets key is configured: nothing can be connected then.
    let secrets: SecretBox?
    let http: any HTTPTransport
    /// How long a consent may take.
    static let stateLifetime: Duration = .seconds(600)

    var flow: OAuthFlow { OAuthFlow(settings: settings, http: http) }

    func connector(_ name: String) throws(FleetError) -> Connector {
        guard let connector = Connector(rawValue: name) else {
            throw FleetError.notFound(
                "no connector '\(name.prefix(40))'; connectors: \(Connector.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return connector
    }

    private func accounts(_ tenant: TenantID) throws(FleetError) -> ConnectorAccounts {
        guard let secrets else {
            throw FleetError(
                .notConfigured, "connectors need a key to seal their tokens: the operator sets OC_SECRETS_KEY (or OC_SECRETS_KEY_FILE)")
        }
        return ConnectorAccounts(tenant: tenant, secrets: secrets)
    }

    func list(_ identity: Identity) async throws -> [ConnectorSummary] {
        let accounts = try accounts(identity.tenant)
        return try await tenants.session(identity.tenant) { try await accounts.summaries($0, user: identity.user) }
    }

    struct Authorization: Encodable {
        var authorizeURL: String
        var state: String
        var expiresAt: String

        enum CodingKeys: String, CodingKey {
            case state
            case authorizeURL = "authorize_url"
            case expiresAt = "expires_at"
        }
    }

    /// Starts connecting `connector` for `identity`: the URL the user opens to consent.
    func authorize(_ identity: Identity, _ connector: Connector, hint: String?) async throws -> Authorization {
        guard flow.isConfigured(connector) else {
            throw FleetError(
                .notConfigured,
                "\(connector.rawValue) is not set up in this deployment: the operator sets OC_\(connector.provider.rawValue.uppercased())_CLIENT_ID and _CLIENT_SECRET"
            )
        }
        let accounts = try accounts(identity.tenant)
        let pkce = OAuthFlow.supportsPKCE(connector.provider) ? OAuthFlow.pkce() : nil
        let state = try await tenants.session(identity.tenant) {
            try await accounts.createState(
                $0, user: identity.user, connector: connector, verifier: pkce?.verifier, lifetime: Self.stateLifetime)
        }
        return Authorization(
            authorizeURL: flow.authorizeURL(connector, state: state, challenge: pkce?.challenge, hint: hint), state: state,
            expiresAt: ISOTime.format(milliseconds: Clock.milliseconds() + Self.stateLifetime.milliseconds))
    }

    struct Connected: Encodable {
        var connector: String
        var connected = true
        var account: String
    }

    /// Completes a consent: the state (single-use, unexpired, this connector's) names the tenant
    /// and the user; the code is exchanged and the tokens stored sealed. A caller who presents
    /// a token must be that user.
    func complete(_ connector: Connector, code: String, state: String, caller: Identity?, requestID: String) async throws -> Connected {
        guard let tenant = state.split(separator: ".", maxSplits: 1).first.flatMap({ try? TenantID(String($0)) }) else {
            throw FleetError.invalidRequest("'state' is not one this gateway issued")
        }
        let accounts = try accounts(tenant)
        let started: (user: String, verifier: String?)?
        do {
            started = try await tenants.session(tenant) { try await accounts.consumeState($0, state: state, connector: connector) }
        } catch let error as FleetError where error.code == .tenantNotProvisioned {
            throw FleetError.invalidRequest("'state' is not one this gateway issued")
        }
        guard let started else {
            throw FleetError.invalidRequest(
                "'state' is unknown, used already or expired: start again with POST /v1/connectors/\(connector.rawValue)/authorize")
        }
        if let caller, caller.tenant != tenant || caller.user != started.user {
            throw FleetError.forbidden("this consent was started by another user")
        }
        let tokens: OAuthTokens
        let identity: (account: String, details: [String: JSONValue])
        do throws(ConnectorFailure) {
            tokens = try await flow.exchange(connector, code: code, verifier: started.verifier)
            identity = try await AccountIdentity.identify(
                connector, session: AccountIdentity.session(connector, http: http, accessToken: tokens.accessToken), settings: settings)
        } catch {
            switch error {
            case .retry, .reschedule:
                throw FleetError(.connectorUnavailable, "\(connector.rawValue) cannot be reached right now: \(error)", retryAfter: 5)
            default: throw FleetError.invalidRequest("\(connector.rawValue) did not grant access: \(error)")
            }
        }
        try await tenants.session(tenant) { sql in
            try await accounts.connect(
                sql, user: started.user, connector: connector, tokens: tokens, account: identity.account, details: identity.details)
            try await admission.record(
                AuditEvent(
                    tenant: tenant, eventKey: "connector:\(connector.rawValue):\(started.user):connected:\(JobID.make())",
                    userID: started.user,
                    actionType: "connector.connected",
                    actionDetail: JSONText.object(["connector": connector.rawValue, "account": identity.account, "scopes": tokens.scope]),
                    dataClassification: connector.defaultClassification, outcome: .success, requestID: requestID))
        }
        return Connected(connector: connector.rawValue, account: identity.account)
    }

    /// Revokes the grant at the provider (where it can be) and forgets the account, its cursor
    /// and its synced items.
    func disconnect(_ identity: Identity, _ connector: Connector, requestID: String) async throws {
        let accounts = try accounts(identity.tenant)
        guard
            let account = try await tenants.session(
                identity.tenant, { try await accounts.load($0, user: identity.user, connector: connector) })
        else { throw FleetError.notFound("\(connector.rawValue) is not connected") }
        await flow.revoke(connector, tokens: account.tokens)
        _ = try await tenants.session(identity.tenant) { sql in
            let removed = try await accounts.disconnect(sql, user: identity.user, connector: connector)
            try await admission.record(
                AuditEvent(
                    tenant: identity.tenant, eventKey: "connector:\(connector.rawValue):\(identity.user):disconnected:\(JobID.make())",
                    userID: identity.user, actionType: "connector.disconnected",
                    actionDetail: JSONText.object(["connector": connector.rawValue]),
                    outcome: .success, requestID: requestID))
            return removed
        }
    }

    /// Submits a sync of `connector` for `identity`, as any job (policy-checked, audited).
    func sync(
        _ identity: Identity, _ connector: Connector, full: Bool, requestID: String, idempotencyKey: String?, trace: TraceContext?
    ) async throws -> JobService.Submission {
        let summaries = try await list(identity)
        guard let summary = summaries.first(where: { $0.connector == connector.rawValue }), summary.connected else {
            throw FleetError.notFound(
                "\(connector.rawValue) is not connected for you: connect it first with POST /v1/connectors/\(connector.rawValue)/authorize")
        }
        if summary.reauthRequired {
            throw FleetError.conflict(
                "\(connector.rawValue) must be connected again before it can sync: POST /v1/connectors/\(connector.rawValue)/authorize")
        }
        var payload: [String: JSONValue] = ["connector": .string(connector.rawValue)]
        if full { payload["full"] = .bool(true) }
        let job = try JobDescription(
            object: [
                "kind": .string(JobKind.connectorSync.rawValue), "action": .string(connector.readAction.rawValue),
                "payload": .object(payload),
            ],
            path: "")
        return try await jobs.submit(job, identity: identity, requestID: requestID, idempotencyKey: idempotencyKey, trace: trace)
    }
}
