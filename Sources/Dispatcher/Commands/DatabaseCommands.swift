import ArgumentParser
import AuditLog
import Contracts
import Foundation
import Logging
import PostgresClient

/// The administrator connection (migrations, tenants, archives).
struct AdminDatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL of an administrator that can create roles (env OC_DATABASE_ADMIN_URL).")
    var adminURL: String = setting("database_admin_url") ?? "postgres://postgres@127.0.0.1:5432/openclaw"

    func client() throws -> PostgresClient {
        try openDatabase(adminURL, option: "--admin-url")
    }
}

/// The application connection (reads and writes through the application role).
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL as the application role (env OC_DATABASE_URL).")
    var databaseURL: String = setting("database_url") ?? "postgres://openclaw_app@127.0.0.1:5432/openclaw"

    func client() throws -> PostgresClient {
        try openDatabase(databaseURL, option: "--database-url")
    }
}

func openDatabase(_ url: String, option: String) throws -> PostgresClient {
    var logger = Logger(label: "openclaw.postgres")
    logger.logLevel = .error
    do {
        return try PostgresClient(url: url, size: 2, logger: logger)
    } catch {
        throw ValidationError("\(option): \(error.message)")
    }
}

/// Runs `body`, turning database errors into one line with what to do.
func reportingDatabaseErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PostgresError where error.code == .connection {
        throw CLIError("\(error.message); start PostgreSQL (scripts/services start) or fix the URL")
    } catch let error as PostgresError where error.sqlState == "42P01" || error.sqlState == "3F000" {
        throw CLIError("\(error.message); run `Dispatcher migrate` first")
    } catch let error as PostgresError {
        throw CLIError(error.description)
    } catch let error as FleetError {
        throw CLIError(error.message)
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply database migrations (idempotent) and create next months' audit partitions.")
    @OptionGroup var admin: AdminDatabaseOptions
    @Option(help: "Set the application role's password (env OC_DATABASE_APP_PASSWORD).")
    var appPassword: String?

    func run() async throws {
        let database = try admin.client()
        defer { database.close() }
        let applied = try await reportingDatabaseErrors {
            try await Migrator(database: database).migrate(appPassword: appPassword ?? setting("database_app_password"))
        }
        let version = try await reportingDatabaseErrors { try await Migrator(database: database).currentVersion() }
        print(
            applied.isEmpty
                ? "database is up to date (version \(version))"
                : "applied \(applied.map { "\($0.version) \($0.name)" }.joined(separator: ", ")); now at version \(version)")
        // Every tenant's schema to the latest tenant migration.
        let tenants = TenantDirectory(database: database)
        var moved = 0
        for tenant in try await reportingDatabaseErrors({ try await tenants.all() }) {
            if try await !reportingDatabaseErrors({ try await tenants.migrate(tenant) }).isEmpty { moved += 1 }
        }
        print("tenant schemas at version \(TenantMigrations.latest) (\(moved) migrated now)")
    }
}

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Manage tenants.", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create tenants' schemas, roles and state tables (idempotent).")
        @OptionGroup var admin: AdminDatabaseOptions
        @Argument(help: "Tenant ids: 1-63 of a-z, 0-9 and '-' each.") var tenants: [String]

        func validate() throws {
            guard !tenants.isEmpty else { throw ValidationError("name at least one tenant") }
        }

        func run() async throws {
            let tenants = try tenants.map(parseTenant)
            let database = try admin.client()
            defer { database.close() }
            for tenant in tenants {
                let schema = try await reportingDatabaseErrors { try await TenantDirectory(database: database).create(tenant) }
                print("tenant \(tenant) ready (schema \(schema))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let client = try database.client()
            defer { client.close() }
            for tenant in try await reportingDatabaseErrors({ try await TenantDirectory(database: client).all() }) { print(tenant) }
        }
    }
}
