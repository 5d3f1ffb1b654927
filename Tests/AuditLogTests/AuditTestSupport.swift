import AuditLog
import Contracts
import PostgresClient
import TestSupport

/// A migrated database, an application-role writer and store, and a fresh tenant.
struct AuditFixture {
    let app: PostgresClient
    let admin: PostgresClient
    let writer: AuditWriter
    let store: AuditStore
    let tenant = TestEnvironment.tenant("a")

    static func make() async throws -> AuditFixture {
        try await TestDatabase.migrated()
        return try AuditFixture()
    }

    private init() throws {
        app = try TestDatabase.app()
        admin = try TestDatabase.admin()
        writer = AuditWriter(database: app, logger: TestEnvironment.logger)
        store = AuditStore(database: app)
    }

    func event(
        _ index: Int, tenant: TenantID? = nil, user: String = "u1", action: String = AuditEvent.ActionType.toolInvocation,
        at timestamp: Int64 = AuditEvent.now(), request: String = "req-1", key: String? = nil
    ) -> AuditEvent {
        AuditEvent(
            tenant: tenant ?? self.tenant, eventKey: key, userID: user, timestamp: timestamp, actionType: action,
            actionDetail: #"{"n": \#(index), "tool": "gmail.read"}"#,
            dataAccessed: [.init(source: "gmail", classification: .internal, purpose: "triage")], modelUsed: index % 2 == 0 ? "gpt" : nil,
            modelTokens: index % 2 == 0 ? index : nil, dataClassification: .internal, policyApplied: "enterprise/actions",
            policyResult: "allow", policyReason: "allowed", outcome: .success, requestID: request)
    }

    /// Runs `sql` as the superuser with triggers disabled: tampering behind the application.
    func tamper(_ sql: String, _ parameters: [any PostgresBindable] = []) async throws {
        try await admin.transaction { connection in
            try await connection.query("SET LOCAL session_replication_role = replica")
            try await connection.query(sql, parameters)
        }
    }

    /// A writer of another process on the same database (with its own connections); close
    /// its database when done.
    func otherProcess() throws -> (writer: AuditWriter, database: PostgresClient) {
        let database = try TestDatabase.app()
        return (AuditWriter(database: database, logger: TestEnvironment.logger), database)
    }

    func close() {
        app.close()
        admin.close()
    }
}
