import Contracts
import Logging
import RedisClient

/// The producer and admin side of the queue: enqueue, status, cancel, dead letters.
///
/// Jobs live on one stream per tenant and kind. After a tenant's script has run, the pipeline
/// marks the tenant in its kind's ready index and writes a wake-up entry; because those follow
/// the script, a consumer that drops a tenant from the index and then re-reads its stream (see
/// `ReadyIndex`) can never strand a job.
public final class JobQueue: Sendable {
    public let redis: RedisClient
    public let configuration: QueueConfiguration
    let logger: Logger

    public init(redis: RedisClient, configuration: QueueConfiguration = .init(), logger: Logger = Logger(label: "queue")) {
        self.redis = redis
        self.configuration = configuration
        self.logger = logger
    }

    /// The outcome of enqueueing one job.
    public struct EnqueueResult: Sendable, Equatable {
        /// The job's id; for a repeated idempotency key, the first job's id.
        public let id: String
        /// False when an earlier job with the same idempotency key exists.
        public let isNew: Bool

        public init(id: String, isNew: Bool) {
            self.id = id
            self.isNew = isNew
        }
    }

    /// Enqueues one job (immediately due, or delayed until its `runAt`).
    public func enqueue(_ job: JobEnvelope) async throws -> EnqueueResult {
        try await enqueue([job])[0]
    }

    /// Enqueues many jobs with as few round trips as possible; results follow `jobs`' order.
    /// `then` rides in the same pipeline, after the jobs are in (its replies are checked).
    public func enqueue(_ jobs: [JobEnvelope], then: [RedisCommand] = []) async throws -> [EnqueueResult] {
        try await enqueueEach(jobs, then: then).map { try $0.get() }
    }

    /// Enqueues jobs of any tenants and kinds in one round trip, with an outcome per job: a
    /// chunk the server refused fails only its own jobs (the other tenants' jobs of the batch
    /// are queued). Throws when the round trip itself failed (the jobs may or may not be
    /// queued), or when a command every job depends on (the ready index) failed.
    public func enqueueEach(_ jobs: [JobEnvelope], then: [RedisCommand] = []) async throws -> [Result<EnqueueResult, FleetError>] {
        if jobs.isEmpty { return [] }
        let now = Clock.milliseconds()
        var groups: [GroupKey: [Int]] = [:]
        for (index, job) in jobs.enumerated() { groups[GroupKey(tenant: job.tenant, kind: job.kind), default: []].append(index) }
        var commands: [RedisCommand] = []
        var chunks: [(command: Int, jobs: [Int])] = []
        var kindsWoken: Set<JobKind> = []
        var ready: [JobKind: [(tenant: TenantID, jobs: Int)]] = [:]
        for (group, indices) in groups {
            var earliestDelay: Int64?
            var immediate = 0
            for start in stride(from: 0, to: indices.count, by: configuration.enqueueChunk) {
                let chunk = Array(indices[start..<min(start + configuration.enqueueChunk, indices.count)])
                chunks.append((commands.count, chunk))
                commands.append(enqueueCommand(group: group, jobs: chunk.map { jobs[$0] }, now: now))
            }
            for index in indices {
                if let runAt = jobs[index].runAt, runAt > now {
                    earliestDelay = min(earliestDelay ?? runAt, runAt)
                } else {
                    immediate += 1
                }
            }
            commands.append(RedisCommand("SADD", [RedisKeys.knownTenants(kind: group.kind), group.tenant.rawValue]))
            if immediate > 0 {
                ready[group.kind, default: []].append((group.tenant, immediate))
                kindsWoken.insert(group.kind)
            }
            if let earliestDelay {
                commands.append(
                    RedisCommand("ZADD", [RedisKeys.delayedIndex(kind: group.kind), "LT", String(earliestDelay), group.tenant.rawValue]))
                kindsWoken.insert(group.kind)
            }
        }
        for (kind, tenants) in ready.sorted(by: { $0.key < $1.key }) { commands.append(markCommand(kind: kind, tenants)) }
        for kind in kindsWoken.sorted() { commands.append(Self.wakeCommand(kind: kind)) }
        commands += then
        let replies = try await redis.send(commands)
        // Every reply is checked: a job appended but not marked ready must not pass for queued.
        let chunkCommands = Set(chunks.map(\.command))
        for (index, reply) in replies.enumerated() where !chunkCommands.contains(index) { try reply.orThrow("enqueue") }
        var results = [Result<EnqueueResult, FleetError>?](repeating: nil, count: jobs.count)
        for (commandIndex, chunk) in chunks {
            let values: [RedisValue]
            do throws(RedisError) {
                guard let array = try replies[commandIndex].orThrow("enqueue").array, array.count == chunk.count * 2 else {
                    throw RedisError(.reply, operation: "enqueue", message: "the enqueue script returned an unexpected reply")
                }
                values = array
            } catch {
                for index in chunk { results[index] = .failure(error.fleetError) }
                continue
            }
            for (position, index) in chunk.enumerated() {
                results[index] = .success(EnqueueResult(id: values[position * 2].string ?? "", isNew: values[position * 2 + 1].int == 1))
            }
        }
        return results.map { $0! }
    }

    private struct GroupKey: Hashable {
        let tenant: TenantID
        let kind: JobKind
    }

    private func enqueueCommand(group: GroupKey, jobs: [JobEnvelope], now: Int64) -> RedisCommand {
        var keys = [RedisKeys.stream(tenant: group.tenant, kind: group.kind), RedisKeys.delayed(tenant: group.tenant, kind: group.kind)]
        keys.reserveCapacity(2 + jobs.count * 3)
        for job in jobs {
            let status = RedisKeys.job(tenant: job.tenant, id: job.id)
            keys.append(status)
            keys.append(job.idempotencyKey.map { RedisKeys.idempotency(tenant: job.tenant, key: $0) } ?? status)
            keys.append(RedisKeys.envelope(tenant: job.tenant, id: job.id))
        }
        return QueueScripts.enqueue.command(keys: keys) { command in
            command.append(now)
            command.append(group.kind.rawValue)
            command.append(configuration.idempotencyRetention.milliseconds / 1000)
            command.append(RedisKeys.consumerGroup)
            for job in jobs {
                command.append(job.id)
                command.append(job.idempotencyKey == nil ? "0" : "1")
                command.append(job.runAt.map { String($0) } ?? "")
                command.append(job.requester.user)
                command.append(job.header)
                command.append(job.payload)
            }
        }
    }

    /// Marks tenants in `kind`'s ready index (see `ReadyIndex.mark`) with this queue's quantum.
    func markCommand(kind: JobKind, _ appended: [(tenant: TenantID, jobs: Int)]) -> RedisCommand {
        ReadyIndex.markCommand(kind: kind, appended, quantum: configuration.tenantBatch)
    }

    /// A wake-up entry for idle consumers of `kind` (the stream is capped; it carries no data).
    static func wakeCommand(kind: JobKind) -> RedisCommand {
        RedisCommand("XADD", [RedisKeys.wakeups(kind: kind), "MAXLEN", "~", "100", "*", "w", "1"])
    }
}
