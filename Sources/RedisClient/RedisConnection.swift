import CHiredis
import FleetConcurrency
import Foundation
import Logging

/// One connection to Redis, served by a lane of the process's blocking executor.
///
/// hiredis calls block, so they never run on Swift's cooperative pool: callers queue commands
/// and await the replies while the lane runs them. Everything queued while the lane is busy is
/// written as one pipeline, so concurrent callers share round trips without asking for it.
/// A broken connection fails the commands in flight and is re-established, with exponential
/// backoff, on the next command.
public final class RedisConnection: @unchecked Sendable {
    // @unchecked Sendable: `context`, `failures` and `retryAt` are used only by work on the
    // lane (one item at a time); `pending`, `draining` and `isClosed` only while holding `lock`.
    private let configuration: RedisConfiguration
    private let timeout: Duration
    private let logger: Logger
    private let lane: BlockingLane
    private let lock = NSLock()
    private var pending: [Request] = []
    private var draining = false
    private var isClosed = false
    private var context: UnsafeMutablePointer<redisContext>?
    private var failures = 0
    /// Scripts this connection's server is known to hold (reset with the connection: a
    /// restarted server has lost them). Touched only on the lane.
    private var loadedScripts: Set<String> = []
    private var retryAt: ContinuousClock.Instant?

    private struct Request {
        let commands: [RedisCommand]
        let continuation: CheckedContinuation<[RedisValue], any Error>
        /// Called once the commands are written to the socket, before their replies are read.
        var written: (@Sendable () -> Void)? = nil
    }

    /// Opens a connection lazily: the first command connects.
    /// - Parameter timeout: the reply timeout; blocking commands need it longer than their block.
    public init(
        configuration: RedisConfiguration, timeout: Duration? = nil, executor: BlockingExecutor = .shared, logger: Logger
    ) {
        self.configuration = configuration
        self.timeout = timeout ?? configuration.commandTimeout
        self.logger = logger
        self.lane = executor.lane()
    }

    /// Sends `commands` as one pipeline and returns their replies in order. Error replies are
    /// returned as `.error` values; connection trouble throws `RedisError`.
    public func send(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        try await send(commands, whenWritten: nil)
    }

    /// Sends `commands` as one pipeline; `whenWritten` is called once they are written to the
    /// socket (from then on Redis receives them even if this process dies), before their
    /// replies are read. Not called when the connection fails before the write.
    public func send(_ commands: [RedisCommand], whenWritten: (@Sendable () -> Void)?) async throws -> [RedisValue] {
        if commands.isEmpty {
            whenWritten?()
            return []
        }
        return try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            if isClosed {
                lock.unlock()
                continuation.resume(throwing: RedisError(.closed, operation: commands[0].name, message: "the Redis client was shut down"))
                return
            }
            pending.append(Request(commands: commands, continuation: continuation, written: whenWritten))
            let start = !draining
            draining = true
            lock.unlock()
            if start { lane.submit { [self] in drain() } }
        }
    }

    /// Closes the connection after the queued commands ran; later commands fail with `.closed`.
    public func close() {
        lock.lock()
        isClosed = true
        lock.unlock()
        lane.submit { [self] in
            if let context { redisFree(context) }
            context = nil
        }
    }

    // MARK: - On the lane

    private func drain() {
        while true {
            lock.lock()
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            if batch.isEmpty { draining = false }
            lock.unlock()
            if batch.isEmpty { return }
            execute(batch)
        }
    }

    private func execute(_ batch: [Request]) {
        let operation = batch[0].commands[0].name
        guard let context = connectIfNeeded(operation: operation, fail: batch) else { return }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(batch.reduce(0) { $0 + $1.commands.reduce(0) { $0 + $1.body.count + 12 } })
        // Scripts this server may not hold are loaded ahead of the batch, so a pipeline runs
        // in the order it was written even right after a restart (re-running only the scripts
        // that failed would run them after the commands that followed them).
        var loads: [RedisScript] = []
        for request in batch {
            for command in request.commands {
                if let script = command.script, !loadedScripts.contains(script.sha1), !loads.contains(where: { $0.sha1 == script.sha1 }) {
                    loads.append(script)
                }
            }
        }
        for script in loads { RedisCommand("SCRIPT", ["LOAD", script.source]).encode(into: &buffer) }
        for request in batch { for command in request.commands { command.encode(into: &buffer) } }
        let appended = buffer.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
        guard appended == REDIS_OK else {
            disconnect(failing: batch, operation: operation)
            return
        }
        if batch.contains(where: { $0.written != nil }) {
            // Written out before any reply is read (`redisGetReply` would write it first anyway),
            // so the callers waiting for the write learn of it before the replies come.
            var done: Int32 = 0
            repeat {
                guard redisBufferWrite(context, &done) == REDIS_OK else {
                    disconnect(failing: batch, operation: operation)
                    return
                }
            } while done == 0
            for request in batch { request.written?() }
        }
        for script in loads {
            var reply: UnsafeMutableRawPointer?
            guard redisGetReply(context, &reply) == REDIS_OK, let reply else {
                disconnect(failing: batch, operation: "SCRIPT LOAD")
                return
            }
            // A failed load leaves the script's commands to fail with NOSCRIPT (the client
            // loads and re-runs those).
            if reply.assumingMemoryBound(to: redisReply.self).pointee.type != REDIS_REPLY_ERROR { loadedScripts.insert(script.sha1) }
            freeReplyObject(reply)
        }
        for (index, request) in batch.enumerated() {
            var values: [RedisValue] = []
            values.reserveCapacity(request.commands.count)
            for _ in request.commands {
                var reply: UnsafeMutableRawPointer?
                guard redisGetReply(context, &reply) == REDIS_OK, let reply else {
                    disconnect(failing: Array(batch[index...]), operation: request.commands[0].name)
                    return
                }
                values.append(Self.convert(reply.assumingMemoryBound(to: redisReply.self)))
                freeReplyObject(reply)
            }
            request.continuation.resume(returning: values)
        }
    }

    private func connectIfNeeded(operation: String, fail batch: [Request]) -> UnsafeMutablePointer<redisContext>? {
        if let context { return context }
        if let retryAt {
            let wait = retryAt - .now
            if wait > .zero { Thread.sleep(forTimeInterval: wait.seconds) }
        }
        do {
            let context = try Self.connect(configuration, timeout: timeout)
            if failures > 0 { logger.info("reconnected to Redis", metadata: ["redis.host": "\(configuration.host):\(configuration.port)"]) }
            self.context = context
            failures = 0
            retryAt = nil
            return context
        } catch {
            noteFailure()
            for request in batch { request.continuation.resume(throwing: error) }
            return nil
        }
    }

    private func disconnect(failing requests: [Request], operation: String) {
        guard let context else { return }
        let message = Self.errorText(context)
        let isTimeout =
            context.pointee.err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK || message.contains("temporarily unavailable"))
        redisFree(context)
        self.context = nil
        loadedScripts.removeAll()
        noteFailure()
        logger.warning("Redis connection lost", metadata: ["redis.error": "\(message)", "redis.operation": "\(operation)"])
        let error = RedisError(
            isTimeout ? .timeout : .connection, operation: operation,
            message: isTimeout ? "no reply within \(timeout)" : "connection to \(configuration.host):\(configuration.port) lost: \(message)"
        )
        for request in requests { request.continuation.resume(throwing: error) }
    }

    private func noteFailure() {
        failures += 1
        let base = 0.025 * pow(2, Double(min(failures - 1, 10)))
        let capped = min(base, configuration.maxReconnectBackoff.seconds)
        retryAt = .now + .milliseconds(Int64(capped * Double.random(in: 0.5...1.0) * 1000))
    }

    // MARK: - hiredis

    private static func connect(_ configuration: RedisConfiguration, timeout: Duration) throws -> UnsafeMutablePointer<redisContext> {
        let connectTimeout = timeval(seconds: configuration.commandTimeout.seconds)
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), connectTimeout) else {
            throw RedisError(.connection, operation: "connect", message: "out of memory creating a Redis context")
        }
        if context.pointee.err != 0 {
            let message = errorText(context)
            redisFree(context)
            throw RedisError(
                .connection, operation: "connect",
                message: "cannot connect to Redis at \(configuration.host):\(configuration.port): \(message)")
        }
        redisSetTimeout(context, timeval(seconds: timeout.seconds))
        redisEnableKeepAlive(context)
        var setup: [[String]] = []
        if let password = configuration.password {
            setup.append(configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        if configuration.database != 0 { setup.append(["SELECT", String(configuration.database)]) }
        for command in setup {
            let reply = run(command, on: context)
            if case .error(let message) = reply ?? .error(errorText(context)) {
                redisFree(context)
                throw RedisError(.connection, operation: command[0], message: "Redis refused \(command[0]): \(message)")
            }
        }
        return context
    }

    private static func run(_ arguments: [String], on context: UnsafeMutablePointer<redisContext>) -> RedisValue? {
        let command = RedisCommand(arguments[0], Array(arguments.dropFirst()))
        var buffer: [UInt8] = []
        command.encode(into: &buffer)
        let ok = buffer.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
        var reply: UnsafeMutableRawPointer?
        guard ok == REDIS_OK, redisGetReply(context, &reply) == REDIS_OK, let reply else { return nil }
        defer { freeReplyObject(reply) }
        return convert(reply.assumingMemoryBound(to: redisReply.self))
    }

    static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(value.len == 0 ? [] : Array(UnsafeRawBufferPointer(start: value.str, count: value.len)))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(convert(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: UnsafeRawBufferPointer(start: value.str, count: value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: UnsafeRawBufferPointer(start: value.str, count: value.len), as: UTF8.self))
        default:
            return .null
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafePointer(to: &context.pointee.errstr) { pointer in
            pointer.withMemoryRebound(to: CChar.self, capacity: 128) { String(cString: $0) }
        }
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

extension timeval {
    init(seconds: Double) {
        let whole = Int(seconds)
        self.init(tv_sec: whole, tv_usec: Int((seconds - Double(whole)) * 1_000_000))
    }
}
