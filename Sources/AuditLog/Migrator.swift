import Logging
import PostgresClient

/// Applies `Migrations.all` and sets up the roles:
/// - `openclaw_owner` (no login) owns every schema and object; migrations run as it;
/// - `openclaw_app` (login, NOINHERIT) is what the services connect as: on the audit log it may
///   only INSERT and SELECT; a tenant's tables only after switching to that tenant's role.
///
/// Connect with an administrator (a superuser, or a role that can create roles). Concurrent
/// runs are serialized by an advisory lock; re-running is a no-op.
public struct Migrator: Sendable {
    let database: PostgresClient
    let logger: Logger

    public init(database: PostgresClient, logger: Logger = Logger(label: "migrate")) {
        self.database = database
        self.logger = logger
    }

    /// Applies what is missing; returns the migrations it applied.
    /// - Parameter appPassword: sets the application role's password (nil leaves it as is).
    @discardableResult
    public func migrate(appPassword: String? = nil, partitionsAhead: Int = 3) async throws -> [Migration] {
        try await database.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(7243001)")
            do {
                let applied = try await migrate(on: connection, appPassword: appPassword, partitionsAhead: partitionsAhead)
                try await connection.query("SELECT pg_advisory_unlock(7243001)")
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(7243001)")
                throw error
            }
        }
    }

    private func migrate(on connection: PostgresConnection, appPassword: String?, partitionsAhead: Int) async throws -> [Migration] {
        try await connection.executeScript(
            """
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'openclaw_owner') THEN
                    CREATE ROLE openclaw_owner NOLOGIN CREATEROLE;
                END IF;
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'openclaw_app') THEN
                    CREATE ROLE openclaw_app LOGIN;
                END IF;
                -- Tenant roles are granted to the application role, which must switch to one
                -- (SET ROLE) to use its tables: it inherits nothing.
                ALTER ROLE openclaw_app NOINHERIT;
                IF NOT pg_has_role(current_user, 'openclaw_owner', 'MEMBER') THEN
                    EXECUTE format('GRANT openclaw_owner TO %I', current_user);
                END IF;
                EXECUTE format('GRANT CREATE, CONNECT ON DATABASE %I TO openclaw_owner', current_database());
                EXECUTE format('GRANT CONNECT ON DATABASE %I TO openclaw_app', current_database());
            END $$;
            SET ROLE openclaw_owner;
            CREATE SCHEMA IF NOT EXISTS openclaw_meta;
            CREATE TABLE IF NOT EXISTS openclaw_meta.migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            RESET ROLE;
            """)
        if let appPassword {
            try await connection.query("SELECT set_config('openclaw.app_password', $1, false)", [appPassword])
            try await connection.executeScript(
                """
                DO $$ BEGIN
                    EXECUTE format('ALTER ROLE openclaw_app PASSWORD %L', current_setting('openclaw.app_password'));
                END $$;
                SELECT set_config('openclaw.app_password', '', false);
                """)
        }
        let rows = try await connection.query("SELECT coalesce(max(version), 0) AS version FROM openclaw_meta.migrations")
        let current = rows.first?.int("version") ?? 0
        var applied: [Migration] = []
        for migration in Migrations.all where migration.version > current {
            try await connection.transaction { connection in
                try await connection.query("SET LOCAL ROLE openclaw_owner")
                try await connection.executeScript(migration.sql)
                try await connection.query(
                    "INSERT INTO openclaw_meta.migrations (version, name) VALUES ($1, $2)", [migration.version, migration.name])
            }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            applied.append(migration)
        }
        try await connection.query("SELECT audit.ensure_partitions($1)", [partitionsAhead])
        return applied
    }

    /// The highest applied version (0 when none).
    public func currentVersion() async throws -> Int {
        let present = try await database.query("SELECT to_regclass('openclaw_meta.migrations') IS NOT NULL AS present")
        guard present.first?.bool("present") == true else { return 0 }
        let rows = try await database.query("SELECT coalesce(max(version), 0) AS version FROM openclaw_meta.migrations")
        return rows.first?.int("version") ?? 0
    }
}
