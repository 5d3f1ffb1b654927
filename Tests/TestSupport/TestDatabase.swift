import AuditLog
import Foundation
import Logging
import PostgresClient

/// The test PostgreSQL: migrated once per test process, reached as the administrator or as the
/// application role.
public enum TestDatabase {
    /// The administrator URL (`OC_TEST_DATABASE_URL`, a superuser).
    public static var adminURL: String { TestEnvironment.databaseURL }

    /// The same database as the application role.
    public static var appURL: String {
        var components = URLComponents(string: adminURL)!
        components.user = "openclaw_app"
        components.password = nil
        return components.string!
    }

    private static let migration = Task<Void, any Error> {
        let admin = try PostgresClient(url: adminURL, size: 1, logger: TestEnvironment.logger)
        defer { admin.close() }
        try await Migrator(database: admin).migrate()
    }

    /// Waits for the one migration of this process.
    public static func migrated() async throws { try await migration.value }

    public static func admin(size: Int = 2) throws -> PostgresClient {
        try PostgresClient(url: adminURL, size: size, logger: TestEnvironment.logger)
    }

    public static func app(size: Int = 2) throws -> PostgresClient {
        try PostgresClient(url: appURL, size: size, logger: TestEnvironment.logger)
    }
}
