import AuditLog
import Connectors
import Contracts
import Foundation
import OutboundHTTP
import PostgresClient
import Settings
import TestSupport
import Testing
import WorkerRuntime

@testable import FakeProviders
@testable import Workers

/// The connector-sync handler against the fake providers over libcurl and a real tenant in
/// PostgreSQL; the policy gate, audit sink and budget are the in-memory fakes, so a test can
/// steer and read them.
struct ConnectorSyncFixture {
    let tenant: TenantID
    let urls: FakeProviderURLs
    let handle: FakeProvidersHandle
    let settings: ProviderSettings
    let key: [UInt8]
    let secrets: SecretBox
    let directory: TenantDirectory
    /// The application role's connections behind `directory` (closed by `stop`).
    let database: PostgresClient
    let fakes = HandlerFakes()
    let http = CurlTransport(userAgent: "openclaw-tests")

    static func start(
        tenant: TenantID = TestEnvironment.tenant("cs"), _ configure: (inout FakeProvidersConfiguration) -> Void = { _ in }
    ) async throws -> ConnectorSyncFixture {
        try await TestDatabase.migrated()
        let admin = try TestDatabase.admin(size: 1)
        defer { admin.close() }
        try await TenantDirectory(database: admin).create(tenant)
        var configuration = FakeProvidersConfiguration()
        configuration.gmailMessages = 120
        configuration.gmailMessagesOtherUsers = 10
        configuration.jiraIndexDelayMillis = 0
        configuration.logLevel = "warning"
        configure(&configuration)
        let (urls, handle) = try await FakeProvidersServer.start(configuration, logger: TestEnvironment.logger)
        let settings = try ProviderSettings(try ConfigurationValues.load(environment: urls.fleetEnvironment))
        let key = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let database = try TestDatabase.app()
        return ConnectorSyncFixture(
            tenant: tenant, urls: urls, handle: handle, settings: settings, key: key, secrets: try SecretBox(current: key),
            directory: TenantDirectory(database: database), database: database)
    }

    func stop() async {
        await handle.stop()
        database.close()
    }

    /// What a `Workers` process needs to reach these fakes and open these accounts.
    var environment: [String: String] {
        urls.fleetEnvironment.merging(["OC_SECRETS_KEY": Data(key).base64EncodedString()]) { $1 }
    }

    /// The services a handler sees: the real tenant database and libcurl, the fakes for the rest.
    var services: HandlerServices {
        HandlerServices(
            policy: fakes.policy, audit: fakes.audit, database: directory, followUps: fakes.followUps, http: http,
            counters: fakes.counters, budget: fakes.budget)
    }

    func job(_ connector: Connector, user: String = "alice", full: Bool? = nil) -> JobEnvelope {
        let payload = ConnectorSyncKind.Payload(connector: connector, full: full)
        return JobEnvelope(
            tenant: tenant, kind: .connectorSync, action: connector.readAction, payload: Array(try! JSONEncoder().encode(payload)),
            requester: Requester(user: user))
    }

    func context(_ job: JobEnvelope, attempt: Int = 1) -> HandlerContext {
        HandlerContext(
            job: job, attempt: attempt,
            logger: JobLogger(base: TestEnvironment.logger, jobID: job.id, kind: job.kind, tenant: job.tenant, attempt: attempt),
            services: services)
    }

    /// Runs `job` once; returns the result it recorded.
    @discardableResult
    func run(_ job: JobEnvelope, pagesPerRun: Int = 2_000, attempt: Int = 1) async throws -> [String: JSONValue] {
        let handler = RegisteredHandler(ConnectorSyncHandler(settings: settings, secrets: secrets, pagesPerRun: pagesPerRun))
        let context = context(job, attempt: attempt)
        try await handler.run(job, context: context)
        guard let text = context.result, case .object(let result) = JSONValue.parse(Array(text.utf8)) else { return [:] }
        return result
    }

    /// Runs a sync of `connector` for `user`; returns its result.
    @discardableResult
    func sync(_ connector: Connector, user: String = "alice", full: Bool? = nil) async throws -> [String: JSONValue] {
        try await run(job(connector, user: user, full: full))
    }

    /// Connects `user`'s `connector` to the fake account `address` the way the gateway does
    /// after a consent: tokens from the provider, the account's identity, the row sealed.
    func connect(_ connector: Connector, user: String = "alice", address: String = "alice@acme.test") async throws {
        let issued = try await control(
            "POST", "/control/tokens/issue", ["provider": .string(connector.provider.rawValue), "user": .string(address)])
        let access = issued["access_token"]?.stringValue ?? ""
        let tokens = OAuthTokens(
            accessToken: access, refreshToken: issued["refresh_token"]?.stringValue,
            expiresAt: issued["expires_in"]?.intValue.map { Date().addingTimeInterval(Double($0)) },
            scope: connector.scopes.joined(separator: " "))
        let identity = try await AccountIdentity.identify(
            connector, session: AccountIdentity.session(connector, http: http, accessToken: access), settings: settings)
        let accounts = ConnectorAccounts(tenant: tenant, secrets: secrets)
        try await directory.session(tenant) { sql in
            try await accounts.connect(
                sql, user: user, connector: connector, tokens: tokens, account: identity.account, details: identity.details)
        }
    }

    /// A control call of the fakes that must succeed; returns its JSON object.
    @discardableResult
    func control(_ method: String, _ path: String, _ body: [String: JSON] = [:]) async throws -> [String: JSON] {
        let payload: [UInt8]? = method == "GET" || method == "DELETE" ? nil : JSONWriter.bytes(.object(body.map { ($0.key, $0.value) }))
        let response = try await http.send(
            OutboundRequest(
                method: method, url: urls.control + path, headers: [("Content-Type", "application/json")], body: payload,
                timeout: .seconds(20)))
        #expect(response.status == 200, "control \(method) \(path): \(String(decoding: response.body, as: UTF8.self))")
        guard case .object(let pairs) = try JSONParser.parse(response.body) else { return [:] }
        return Dictionary(pairs, uniquingKeysWith: { $1 })
    }

    /// Requests the fakes' `service` received after `since` (a sequence number).
    func requests(_ service: String, since: Int = 0) async throws -> [[String: JSON]] {
        let answer = try await control("GET", "/control/requests?service=\(service)&since=\(since)")
        guard case .array(let list) = answer["requests"] ?? .null else { return [] }
        return list.compactMap { if case .object(let pairs) = $0 { Dictionary(pairs, uniquingKeysWith: { $1 }) } else { nil } }
    }

    /// The source ids of `user`'s synced items of `connector`, with how often each is stored.
    func items(_ connector: Connector, user: String = "alice") async throws -> [String] {
        try await directory.session(tenant) { sql in
            try await sql.query(
                "SELECT source_id FROM items WHERE user_id = $1 AND connector = $2 ORDER BY source_id", [user, connector.rawValue]
            ).map { $0.string("source_id") ?? "" }
        }
    }

    func summary(_ connector: Connector, user: String = "alice") async throws -> ConnectorSummary? {
        let accounts = ConnectorAccounts(tenant: tenant, secrets: secrets)
        return try await directory.session(tenant) { try await accounts.summaries($0, user: user) }.first {
            $0.connector == connector.rawValue
        }
    }

    func account(_ connector: Connector, user: String = "alice") async throws -> ConnectorAccount? {
        let accounts = ConnectorAccounts(tenant: tenant, secrets: secrets)
        return try await directory.session(tenant) { try await accounts.load($0, user: user, connector: connector) }
    }
}

/// Runs `body` with a started fixture, stopping the fakes whatever happens.
func withConnectorFixture(
    tenant: TenantID = TestEnvironment.tenant("cs"), _ configure: (inout FakeProvidersConfiguration) -> Void = { _ in },
    _ body: (ConnectorSyncFixture) async throws -> Void
) async throws {
    let fixture = try await ConnectorSyncFixture.start(tenant: tenant, configure)
    do {
        try await body(fixture)
    } catch {
        await fixture.stop()
        throw error
    }
    await fixture.stop()
}
