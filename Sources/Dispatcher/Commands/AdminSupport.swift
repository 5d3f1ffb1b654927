import Admission
import ArgumentParser
import Contracts
import Foundation
import JobQueue
import Logging
import PostgresClient
import RedisClient

/// Builds the queue for an admin command, turning configuration mistakes into one-line errors.
func adminQueue(_ options: RedisOptions) throws -> JobQueue {
    let configuration: RedisConfiguration
    do {
        configuration = try RedisConfiguration(url: options.redisURL)
    } catch {
        throw ValidationError("--redis-url: \(error.message)")
    }
    var logger = Logger(label: "openclaw.admin")
    logger.logLevel = .error
    return JobQueue(redis: RedisClient(configuration: configuration, logger: logger), logger: logger)
}

func parseTenant(_ value: String) throws -> TenantID {
    do { return try TenantID(value) } catch { throw ValidationError("--tenant: \(error.message)") }
}

func parseKind(_ value: String) throws -> JobKind {
    do { return try JobKind(value) } catch { throw ValidationError("--kind: \(error.message)") }
}

/// Runs `body`, printing a Redis or fleet error as one line with what to do.
func reportingErrors<T>(_ options: RedisOptions, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as RedisError where error.isTransient {
        throw CLIError(
            "cannot reach Redis at \(options.redisURL) (\(error.message)); start it with scripts/services start or set --redis-url")
    } catch let error as RedisError {
        throw CLIError(error.description)
    } catch let error as FleetError {
        throw CLIError(error.message)
    }
}

/// A one-line error for the command line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func printJSON(_ object: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]) {
        print(String(decoding: data, as: UTF8.self))
    }
}

extension JobStatus {
    var json: [String: Any] {
        var out: [String: Any] = [
            "id": id, "tenant": tenant.rawValue, "kind": kind.rawValue, "state": state.rawValue, "attempts": attempts,
            "enqueued_at": iso(enqueuedAt), "updated_at": iso(updatedAt),
        ]
        if let lastError { out["last_error"] = lastError }
        if let runAt { out["run_at"] = iso(runAt) }
        if let startedAt { out["started_at"] = iso(startedAt) }
        if let finishedAt { out["finished_at"] = iso(finishedAt) }
        return out
    }
}

func iso(_ milliseconds: Int64) -> String { ISOTime.format(milliseconds: milliseconds) }
