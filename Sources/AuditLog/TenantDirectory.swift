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

    /// Creates the tenant's schema, role and tables (idempotent). Needs the administrator
    /// connection used for migrations.
    @discardableResult
    public func create(_ tenant: TenantID) async throws -> String {
        try await database.transaction { connection in
            try await connection.query("SET LOCAL ROLE openclaw_owner")
            let rows = try await connection.query(
                "SELECT openclaw_meta.create_tenant($1, $2) AS schema_name", [tenant.rawValue, tenant.schemaName])
            return rows.first?.string("schema_name") ?? tenant.schemaName
        }
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
    public func session<T: Sendable>(_ tenant: TenantID, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await database.transaction { connection in
            try await connection.query(
                "SELECT set_config('role', $1, true), set_config('search_path', $1, true)", [tenant.schemaName])
            return try await body(connection)
        }
    }
}
