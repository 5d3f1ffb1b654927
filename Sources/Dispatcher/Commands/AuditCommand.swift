import ArgumentParser
import AuditLog
import Contracts
import Crypto
import Foundation
import PostgresClient
import Settings

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Query, export, verify and archive the audit log.",
        subcommands: [Query.self, Export.self, Verify.self, Checkpoint.self, Partitions.self, Archive.self, Detach.self])

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries of a tenant, newest first, as JSON lines.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Only this user.") var user: String?
        @Option(help: "Only this action type.") var actionType: String?
        @Option(help: "Only this outcome: success, denied, error, pending_approval.") var outcome: String?
        @Option(help: "Only this classification.") var classification: String?
        @Option(help: "Only this request id.") var requestId: String?
        @Option(help: "From (ISO 8601, inclusive).") var from: String?
        @Option(help: "To (ISO 8601, exclusive).") var to: String?
        @Option(help: "Entries per page.") var limit: Int = 100
        @Option(help: "Cursor from the previous page.") var cursor: String?

        func run() async throws {
            let tenant = try parseTenant(tenant)
            var filter = AuditStore.Filter(userID: user, actionType: actionType, requestID: requestId)
            if let outcome {
                guard let parsed = AuditEvent.Outcome(rawValue: outcome) else {
                    throw ValidationError("--outcome: one of success, denied, error, pending_approval")
                }
                filter.outcome = parsed
            }
            if let classification {
                guard let parsed = Classification(rawValue: classification) else {
                    throw ValidationError("--classification: one of public, internal, confidential, restricted")
                }
                filter.classification = parsed
            }
            filter.from = try from.map { try parseTime($0, option: "--from") }
            filter.to = try to.map { try parseTime($0, option: "--to") }
            let client = try database.client()
            defer { client.close() }
            let page = try await reportingDatabaseErrors {
                try await AuditStore(database: client).query(tenant: tenant, filter: filter, limit: limit, cursor: cursor)
            }
            for record in page.records { print(AuditExport.jsonLine(record)) }
            if let next = page.nextCursor { FileHandle.standardError.write(Data("next page: --cursor \(next)\n".utf8)) }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stream a tenant's entries of a time range, chain fields included.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "From (ISO 8601, inclusive).") var from: String?
        @Option(help: "To (ISO 8601, exclusive).") var to: String?
        @Option(help: "jsonl or csv.") var format: String = "jsonl"
        @Option(help: "Write to this file instead of standard output.") var output: String?

        func run() async throws {
            let tenant = try parseTenant(tenant)
            guard let format = AuditExport.Format(rawValue: format) else { throw ValidationError("--format: jsonl or csv") }
            let fromTime = try from.map { try parseTime($0, option: "--from") }
            let toTime = try to.map { try parseTime($0, option: "--to") }
            let client = try database.client()
            defer { client.close() }
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil) else { throw CLIError("cannot write \(output)") }
                guard let file = FileHandle(forWritingAtPath: output) else { throw CLIError("cannot write \(output)") }
                handle = file
            } else {
                handle = FileHandle.standardOutput
            }
            let count = try await reportingDatabaseErrors {
                try await AuditExport.export(
                    store: AuditStore(database: client), tenant: tenant, from: fromTime, to: toTime, format: format
                ) {
                    handle.write(Data($0.utf8))
                }
            }
            if output != nil { try handle.close() }
            FileHandle.standardError.write(Data("exported \(count) entries\n".utf8))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute hash chains and name the first broken entry; exits 1 when anything is broken.",
            discussion:
                "With --tenant: that tenant's chain in the database (all tenants without it). With --file: a JSON-lines export. With --checkpoint: also check each chain against signed checkpoints (needs OC_AUDIT_CHECKPOINT_KEY)."
        )
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Tenant id (default: every tenant).") var tenant: String?
        @Option(help: "Verify a JSON-lines export file instead of the database.") var file: String?
        @Option(help: "Checkpoint file written by `audit checkpoint`.") var checkpoint: String?

        func run() async throws {
            var broken = false
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
                let reports = try await reportingDatabaseErrors { try AuditExport.verify(jsonLines: String(decoding: data, as: UTF8.self)) }
                for report in reports {
                    print(report)
                    broken = broken || !report.isIntact
                }
                if broken { throw ExitCode(1) }
                return
            }
            var checkpoints: [TenantID: AuditCheckpoint] = [:]
            if let checkpoint {
                guard let data = FileManager.default.contents(atPath: checkpoint) else { throw CLIError("cannot read \(checkpoint)") }
                let key: SymmetricKey
                do { key = try AuditCheckpoint.key() } catch { throw CLIError(error.message) }
                for entry in try AuditCheckpoint.read(data) {
                    guard entry.isAuthentic(key: key) else {
                        print("tenant \(entry.tenant): checkpoint signature INVALID (forged, or another key)")
                        throw ExitCode(1)
                    }
                    checkpoints[entry.tenant] = entry
                }
            }
            let client = try database.client()
            defer { client.close() }
            let store = AuditStore(database: client)
            var tenants: [TenantID] = []
            if let tenant {
                tenants = [try parseTenant(tenant)]
            } else {
                tenants = try await reportingDatabaseErrors { try await store.tenants() }
                tenants = Array(Set(tenants).union(checkpoints.keys)).sorted()
            }
            for tenant in tenants {
                let report = try await reportingDatabaseErrors { try await store.verify(tenant: tenant, checkpoint: checkpoints[tenant]) }
                print(report)
                broken = broken || !report.isIntact
            }
            if broken { throw ExitCode(1) }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write signed checkpoints of chain heads to a file outside the database (key: OC_AUDIT_CHECKPOINT_KEY).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Tenant id (default: every tenant).") var tenant: String?
        @Option(help: "File to write (JSON lines).") var output: String

        func run() async throws {
            let key: SymmetricKey
            do { key = try AuditCheckpoint.key() } catch { throw CLIError(error.message) }
            let tenants = try tenant.map { [try parseTenant($0)] }
            let client = try database.client()
            defer { client.close() }
            let checkpoints = try await reportingDatabaseErrors {
                try await AuditCheckpoint.capture(store: AuditStore(database: client), tenants: tenants, key: key)
            }
            let text = checkpoints.map(\.jsonLine).joined(separator: "\n") + "\n"
            do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                throw CLIError("cannot write \(output): \(error)")
            }
            print("wrote \(checkpoints.count) checkpoints to \(output)")
        }

    }

    struct Partitions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List month partitions with their entries and archive state.")
        @OptionGroup var admin: AdminDatabaseOptions
        @OptionGroup var retention: RetentionOptions

        func run() async throws {
            let client = try admin.client()
            defer { client.close() }
            for partition in try await reportingDatabaseErrors({ try await retention.on(client).partitions() }) {
                let archived =
                    partition.archivedFile.map { "archived (\(partition.archivedEntries ?? 0) entries) to \($0)" } ?? "not archived"
                print("\(partition.month)  \(partition.entries) entries  \(archived)")
            }
        }
    }

    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export a month of every tenant to a file, verify it and record it.")
        @OptionGroup var admin: AdminDatabaseOptions
        @Option(help: "Month, YYYY-MM.") var month: String
        @Option(help: "Directory for the archive file.") var out: String

        func run() async throws {
            let client = try admin.client()
            defer { client.close() }
            let retention = try RetentionOptions.minimum.on(client)
            let (file, count) = try await reportingDatabaseErrors {
                try await retention.archive(month: month, directory: URL(fileURLWithPath: out))
            }
            print("archived \(count) entries of \(month) to \(file.path) (verified)")
        }
    }

    struct Detach: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop a month's partition; refused unless past retention and archived and verified first.")
        @OptionGroup var admin: AdminDatabaseOptions
        @Option(help: "Month, YYYY-MM.") var month: String
        @OptionGroup var retention: RetentionOptions

        func run() async throws {
            let client = try admin.client()
            defer { client.close() }
            let retention = try retention.on(client)
            try await reportingDatabaseErrors { try await retention.detach(month: month) }
            print("dropped the partition of \(month)")
        }
    }
}

/// How many months of audit entries are kept.
struct RetentionOptions: ParsableArguments {
    @Option(help: "Months kept (at least 12; env OC_AUDIT_RETENTION_MONTHS).")
    var retentionMonths: Int = setting("audit_retention_months").flatMap(Int.init) ?? 13

    /// A setting that is not a whole number is said, not replaced by the default.
    func validate() throws {
        _ = try ConfigurationValues.process.int("audit_retention_months", in: 1...1_200)
    }

    /// The shortest retention allowed (for commands that never drop anything).
    static var minimum: RetentionOptions {
        var options = RetentionOptions()
        options.retentionMonths = 12
        return options
    }

    /// Retention rules on `database`; a retention below the minimum is a usage error.
    func on(_ database: PostgresClient) throws -> AuditRetention {
        do { return try AuditRetention(database: database, retentionMonths: retentionMonths) } catch {
            throw ValidationError(error.message)
        }
    }
}

/// Parses an ISO 8601 time (or a date) into microseconds since the epoch.
func parseTime(_ text: String, option: String) throws -> Int64 {
    let full = ISO8601DateFormatter()
    full.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    let plain = ISO8601DateFormatter()
    let day = ISO8601DateFormatter()
    day.formatOptions = [.withFullDate]
    guard let date = full.date(from: text) ?? plain.date(from: text) ?? day.date(from: text) else {
        throw ValidationError("\(option): '\(text)' is not an ISO 8601 time such as 2026-11-25T08:00:00Z or 2026-11-25")
    }
    return Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
}
