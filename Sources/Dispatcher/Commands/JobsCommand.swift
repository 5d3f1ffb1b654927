import ArgumentParser
import AuditLog
import Contracts
import Foundation
import JobQueue

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Enqueue, inspect and cancel jobs directly on the queue (operators only: no policy check).",
        subcommands: [Enqueue.self, Status.self, Cancel.self])

    struct Enqueue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enqueue jobs; prints their ids.")
        @OptionGroup var redis: RedisOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Job kind.") var kind: String = "noop"
        @Option(help: "Action name (system.verb).") var action: String = "noop.run"
        @Option(help: "Payload JSON.") var payload: String = "{}"
        @Option(help: "User the job runs for.") var user: String = "operator"
        @Option(help: "Delay in milliseconds.") var delayMs: Int = 0
        @Option(help: "Idempotency key.") var idempotencyKey: String?
        @Option(help: "How many identical jobs.") var count: Int = 1

        func run() async throws {
            let tenant = try parseTenant(tenant)
            let kind = try parseKind(kind)
            guard (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) is [String: Any] else {
                throw ValidationError("--payload must be a JSON object")
            }
            let action: Action
            do { action = try Action(self.action) } catch { throw ValidationError("--action: \(error.message)") }
            let queue = try adminQueue(redis)
            let runAt = delayMs > 0 ? Clock.milliseconds() + Int64(delayMs) : nil
            let jobs = (0..<max(1, count)).map { _ in
                JobEnvelope(
                    tenant: tenant, kind: kind, action: action, payload: Array(payload.utf8), requester: Requester(user: user),
                    idempotencyKey: idempotencyKey, runAt: runAt)
            }
            let results = try await reportingErrors(redis) { try await queue.enqueue(jobs) }
            for result in results { print(result.id) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a job's status record as JSON.")
        @OptionGroup var redis: RedisOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Job id.") var id: String

        func run() async throws {
            let tenant = try parseTenant(tenant)
            let queue = try adminQueue(redis)
            guard let status = try await reportingErrors(redis, { try await queue.status(tenant: tenant, id: id) }) else {
                throw CLIError("no job \(id) for tenant \(tenant) (unknown, or past its retention)")
            }
            printJSON(status.json)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job that has not started.")
        @OptionGroup var redis: RedisOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Job id.") var id: String

        func run() async throws {
            let tenant = try parseTenant(tenant)
            let queue = try adminQueue(redis)
            switch try await reportingErrors(redis, { try await queue.cancel(tenant: tenant, id: id) }) {
            case .cancelled: print("cancelled \(id)")
            case .notFound: throw CLIError("no job \(id) for tenant \(tenant)")
            case .notCancellable(let state): throw CLIError("job \(id) is \(state.rawValue): only queued or delayed jobs can be cancelled")
            }
        }
    }
}

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "List and replay dead-lettered jobs.", subcommands: [List.self, Replay.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters as JSON lines.")
        @OptionGroup var redis: RedisOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Job kind.") var kind: String
        @Option(help: "At most this many.") var count: Int = 100

        func run() async throws {
            let tenant = try parseTenant(tenant)
            let kind = try parseKind(kind)
            let queue = try adminQueue(redis)
            for letter in try await reportingErrors(redis, { try await queue.deadLetters(tenant: tenant, kind: kind, count: count) }) {
                let object: [String: Any] = [
                    "entry": letter.entryID, "job": letter.envelope?.id ?? "", "action": letter.envelope?.action.rawValue ?? "",
                    "error": letter.error, "failed_at": iso(letter.failedAt),
                ]
                if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                    print(String(decoding: data, as: UTF8.self))
                }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead letters back on their stream with fresh attempts (each replay audited as job.replayed).",
            discussion: "Without --entry, replays the dead letters there are when it starts (not those dead-lettered again meanwhile).")
        @OptionGroup var redis: RedisOptions
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Job kind.") var kind: String
        @Option(help: "One dead-letter entry id (from list); default: all.") var entry: String?
        @Option(help: "Who replays, for the audit log (env OC_OPERATOR, else $USER).") var operatorName: String?

        func run() async throws {
            let tenant = try parseTenant(tenant)
            let kind = try parseKind(kind)
            let queue = try adminQueue(redis)
            let client = try database.client()
            defer { client.close() }
            let audit = AuditWriter(database: client)
            let who = operatorName ?? setting("operator") ?? ProcessInfo.processInfo.environment["USER"] ?? "operator"
            var letters: [JobQueue.DeadLetter]
            if let entry {
                guard
                    let letter = try await reportingErrors(
                        redis, { try await queue.deadLetter(tenant: tenant, kind: kind, entryID: entry) })
                else { throw CLIError("no dead letter \(entry) for \(tenant)/\(kind)") }
                letters = [letter]
            } else {
                letters = try await reportingErrors(redis) { try await queue.deadLetterSnapshot(tenant: tenant, kind: kind) }
            }
            var replayed: [String] = []
            for letter in letters {
                // Audited before it is back on the stream, as every action is.
                if let job = letter.replayed {
                    var event = AuditEvent(lifecycle: JobLifecycleEvent(name: .replayed, job: job, attempt: 1))
                    event.userID = who
                    try await reportingDatabaseErrors { try await audit.append(event) }
                }
                if let id = try await reportingErrors(redis, { try await queue.replay(tenant: tenant, kind: kind, letter) }) {
                    replayed.append(id)
                }
            }
            if entry != nil {
                guard let id = replayed.first else { throw CLIError("dead letter \(entry ?? "") was replayed meanwhile") }
                print("replayed \(id)")
            } else {
                print("replayed \(replayed.count)")
            }
        }
    }
}

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Queue figures.", subcommands: [Stats.self])

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Depth, lag, pending, delayed and dead letters per kind, as JSON.")
        @OptionGroup var redis: RedisOptions
        @Option(help: "Only this tenant.") var tenant: String?

        func run() async throws {
            let tenants = try tenant.map { [try parseTenant($0)] }
            let queue = try adminQueue(redis)
            var out: [String: Any] = [:]
            for kind in JobKind.all {
                let stats = try await reportingErrors(redis) { try await queue.stats(kind: kind, tenants: tenants) }
                out[kind.rawValue] = [
                    "depth": stats.depth, "lag": stats.lag, "pending": stats.pending, "delayed": stats.delayed,
                    "dead_letters": stats.deadLetters, "tenants": stats.tenants,
                ]
            }
            printJSON(out)
        }
    }
}
