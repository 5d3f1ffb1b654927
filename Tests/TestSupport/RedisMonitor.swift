import Foundation
import RedisClient

#if canImport(Glibc)
import Glibc
#endif

/// `redis-cli monitor` on a test's Redis: the commands the server ran while it watched, in the
/// order it ran them. It watches from when `start` returns until every command sent before
/// `stop` is in its output, however slowly the machine runs it.
public struct RedisMonitor {
    let process: ChildProcess

    /// Starts watching; returns once the server has confirmed the monitor.
    public static func start(port: Int) async throws -> RedisMonitor {
        let process = try ChildProcess(executable: "redis-cli", arguments: ["-p", String(port), "monitor"])
        guard await eventually({ process.output.hasPrefix("OK") }) else {
            process.signal(SIGKILL)
            throw NSError(
                domain: "RedisMonitor", code: 1, userInfo: [NSLocalizedDescriptionKey: "the monitor did not start: \(process.output)"])
        }
        return RedisMonitor(process: process)
    }

    /// Stops watching once a marker sent through `redis` after everything before it is in the
    /// output; returns the lines of the commands the server ran, marker excluded.
    public func stop(after redis: RedisClient) async throws -> [Substring] {
        let marker = "monitor-end-\(UUID().uuidString)"
        _ = try await redis.send("ECHO", marker)
        let seen = await eventually { process.output.contains(marker) }
        process.signal(SIGKILL)
        guard seen else {
            throw NSError(domain: "RedisMonitor", code: 2, userInfo: [NSLocalizedDescriptionKey: "the monitor fell silent"])
        }
        return process.output.split(separator: "\n").filter { $0.contains("] \"") && !$0.contains(marker) }
    }
}
