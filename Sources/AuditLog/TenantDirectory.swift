import Contracts
import PostgresClient

/// Tenants in PostgreSQL: each has a schema with its state tables and a role of the same name
/// that alone may use them. The application reaches a tenant's tables only inside
/// `session(_:_:)`, which switches to that tenant's role: a statement that names another
/// tenant's schema is refused by PostgreSQL itself.
public struct TenantDirectory: Sendable {
    let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// Creates the tenant's schema, role and tables and brings them to the latest tenant
    /// migration (idempotent). Needs the administrator connection used for migrations.
    @discardableResult
    public func create(_ tenant: TenantID) async throws -> String {
        let schema = try await database.transaction { connection in
            try await connection.query("SET LOCAL ROLE openclaw_owner")
            let rows = try await connection.query(
                "SELECT openclaw_meta.create_tenant($1, $2) AS schema_name", [tenant.rawValue, tenant.schemaName])
            return rows.first?.string("schema_name") ?? tenant.schemaName
        }
        try await migrate(tenant)
        return schema
    }

    /// Applies the tenant migrations `tenant` lacks, each in its own transaction; returns the
    /// versions applied. Needs the administrator connection used for migrations.
    @discardableResult
    public func migrate(_ tenant: TenantID) async throws -> [Int] {
        var applied: [Int] = []
        for migration in TenantMigrations.all {
            let changed = try await database.transaction { connection in
                try await connection.query("SET LOCAL ROLE openclaw_owner")
                return try await connection.query(
                    "SELECT openclaw_meta.apply_tenant_migration($1, $2, $3) AS applied",
                    [tenant.rawValue, migration.version, migration.sql.description]
                ).first?.bool("applied") == true
            }
            if changed { applied.append(migration.version) }
        }
        return applied
    }

    /// The tenant schema version of every tenant.
    public func schemaVersions() async throws -> [TenantID: Int] {
        var out: [TenantID: Int] = [:]
        for row in try await database.query("SELECT tenant_id, schema_version FROM openclaw_meta.tenants") {
            if let tenant = row.string("tenant_id").flatMap({ try? TenantID($0) }) { out[tenant] = row.int("schema_version") ?? 0 }
        }
        return out
    }

    /// Whether the tenant has been created.
    public func exists(_ tenant: TenantID) async throws -> Bool {
        try await !database.query("SELECT 1 FROM openclaw_meta.tenants WHERE tenant_id = $1", [tenant.rawValue]).isEmpty
    }

    /// Every tenant, sorted.
    public func all() async throws -> [TenantID] {
        try await database.query("SELECT tenant_id FROM openclaw_meta.tenants ORDER BY tenant_id").compactMap {
            $0.string("tenant_id").flatMap { try? TenantID($0) }
        }
    }

    /// Runs `body` in a transaction as `tenant`'s role with its schema first on the search path.
    /// A tenant without a schema yet is refused with `tenant-not-provisioned`, saying what the
    /// operator runs.
    public func session<T: Sendable>(_ tenant: TenantID, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await provisioned(tenant) { try await database.transaction(settings: Self.settings(tenant), body) }
    }

    /// Runs one statement as a transaction of its own in `tenant`'s schema, as its role, in one
    /// round trip with its `BEGIN` and `COMMIT`.
    @discardableResult
    public func query(_ tenant: TenantID, _ sql: String, _ parameters: [any PostgresBindable]) async throws -> PostgresRows {
        try await provisioned(tenant) { try await database.query(sql, parameters, settings: Self.settings(tenant)) }
    }

    /// Runs statements of several tenants as one transaction in one round trip, each as its
    /// tenant's role; each statement's rows. One statement failing fails all.
    ///
    /// The statements name their tenant's tables by schema (`TenantDirectory.table(_:of:)`), so
    /// each tenant's statement is a text of its own. PostgreSQL analyzes a prepared statement
    /// again whenever it runs under another search path than the one it was analyzed under (a
    /// tenant's role, through `$user`, puts the tenant's schema first on it): one text shared by
    /// tenants, run for one tenant after another, would be parsed and planned afresh every time,
    /// where each tenant's own text is prepared once per connection and always runs under that
    /// tenant's role. Only the role is set; it keeps each statement to its tenant's tables.
    /// (The per-tenant texts count against `PostgresConnection`'s limit of statements prepared
    /// automatically on a connection: past it, statements first seen later on that connection,
    /// these or others, run unprepared, parsed and planned each time. With a few hundred
    /// tenants parking approvals on one Dispatcher that is reached; a tenant's other statements,
    /// run under its search path, were planned again at every change of tenant anyway.)
    @discardableResult
    public func queryInOneTransaction(
        _ statements: [(tenant: TenantID, sql: String, parameters: [any PostgresBindable])]
    ) async throws -> [PostgresRows] {
        try await provisioned(Set(statements.map(\.tenant)).count == 1 ? statements.first?.tenant : nil) {
            try await database.transactionInOneTrip(
                statements.map { PostgresStep($0.sql, $0.parameters, settings: [("role", $0.tenant.schemaName)]) })
        }
    }

    /// `table` of `tenant`'s schema, quoted, for statements that name it by schema.
    public static func table(_ table: String, of tenant: TenantID) -> String {
        "\"\(tenant.schemaName)\".\(table)"
    }

    static func settings(_ tenant: TenantID) -> [(name: String, value: String)] {
        [("role", tenant.schemaName), ("search_path", tenant.schemaName)]
    }

    /// Runs `body`, telling a tenant without a schema (or role) what to do about it (nil: one of
    /// several tenants, not known which).
    private func provisioned<T>(_ tenant: TenantID?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError
            where error.sqlState == "42P01" || error.sqlState == "3F000" || error.sqlState == "22023"
            || (error.sqlState == "42704" && error.message.contains("role"))
        {
            guard let tenant else { throw error }
            throw FleetError(
                .tenantNotProvisioned,
                "tenant \(tenant) has no database schema yet; an operator runs `Dispatcher tenant create \(tenant)`")
        }
    }
}
