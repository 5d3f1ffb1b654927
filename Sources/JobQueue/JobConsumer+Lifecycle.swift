import Contracts
import RedisClient

extension JobConsumer {
    /// Marks delivered jobs running and returns those to run: decodable, and not cancelled or
    /// finished meanwhile (those are acknowledged and dropped here).
    public func markStarted(_ jobs: [DeliveredJob]) async throws -> [DeliveredJob] {
        let runnable = jobs.filter { $0.envelope != nil }
        if runnable.isEmpty { return [] }
        let byTenant = Dictionary(grouping: runnable.indices, by: { runnable[$0].tenant })
        let order = Array(byTenant.keys)
        let now = String(Clock.milliseconds())
        let commands = order.map { tenant in
            let members = byTenant[tenant]!
            var keys = [RedisKeys.stream(tenant: tenant, kind: kind)]
            var arguments = [group, now]
            for index in members {
                let job = runnable[index]
                keys.append(RedisKeys.job(tenant: tenant, id: job.envelope!.id))
                arguments.append(job.entryID)
                arguments.append(String(job.attempt))
            }
            return QueueScripts.start.command(keys: keys, arguments: arguments)
        }
        let replies = try await queue.redis.send(commands)
        var keep = [Bool](repeating: false, count: runnable.count)
        for (tenant, reply) in zip(order, replies) {
            let flags = try reply.orThrow("start").array ?? []
            for (position, index) in byTenant[tenant]!.enumerated() where position < flags.count {
                keep[index] = flags[position].int == 1
            }
        }
        return runnable.indices.filter { keep[$0] }.map { runnable[$0] }
    }

    /// Acknowledges succeeded jobs and records their outcome (and, per job, what it produced: a
    /// JSON object, or nil). Returns, per job, whether this consumer still owned it (false:
    /// another worker had already finished it).
    @discardableResult
    public func complete(_ jobs: [DeliveredJob], results: [String?] = []) async throws -> [Bool] {
        if jobs.isEmpty { return [] }
        let byTenant = Dictionary(grouping: jobs.indices, by: { jobs[$0].tenant })
        let order = Array(byTenant.keys)
        let now = String(Clock.milliseconds())
        let retention = String(queue.configuration.statusRetention.milliseconds / 1000)
        let commands = order.map { tenant in
            let members = byTenant[tenant]!
            var keys = [RedisKeys.stream(tenant: tenant, kind: kind)]
            var arguments = [group, now, retention, QueueScripts.newest(members.map { jobs[$0].entryID }) ?? "0-0"]
            for index in members {
                keys.append(RedisKeys.job(tenant: tenant, id: jobs[index].jobID ?? ""))
                arguments.append(jobs[index].entryID)
                arguments.append(index < results.count ? results[index] ?? "" : "")
            }
            return QueueScripts.complete.command(keys: keys, arguments: arguments)
        }
        let replies = try await queue.redis.send(commands)
        var owned = [Bool](repeating: false, count: jobs.count)
        for (tenant, reply) in zip(order, replies) {
            let flags = try reply.orThrow("complete").array ?? []
            for (position, index) in byTenant[tenant]!.enumerated() where position < flags.count {
                owned[index] = flags[position].int == 1
            }
        }
        return owned
    }

    /// What to do with a failed delivery.
    public enum FailureOutcome: Sendable, Equatable {
        /// Run it again after `delay` (through the delayed set) as the next attempt.
        case retry(after: Duration)
        /// Run it again after `delay` as the same attempt: it never started (e.g. the audit log
        /// was unavailable), so it uses up no attempt.
        case postpone(after: Duration)
        /// Park it in the dead-letter stream (out of attempts, or undecodable).
        case deadLetter
        /// Record it as failed (non-retryable, nothing to replay).
        case fail
    }

    /// Settles a failed delivery. Returns false when another worker had already settled it.
    @discardableResult
    public func settle(_ job: DeliveredJob, error: String, outcome: FailureOutcome) async throws -> Bool {
        let tenant = job.tenant
        let now = Clock.milliseconds()
        let stream = RedisKeys.stream(tenant: tenant, kind: kind)
        let jobID = job.jobID
        let statusKey = jobID.map { RedisKeys.job(tenant: tenant, id: $0) } ?? stream
        var dueAt: Int64 = 0
        var fields: [[UInt8]]
        var name: String
        switch outcome {
        case .retry(let delay), .postpone(let delay):
            guard var envelope = job.envelope else { return try await settle(job, error: error, outcome: .deadLetter) }
            dueAt = now + delay.milliseconds
            if case .retry = outcome { envelope.attempt = job.attempt + 1 } else { envelope.attempt = job.attempt }
            envelope.runAt = dueAt
            fields = envelope.fields
            name = "retry"
        case .deadLetter:
            fields = job.envelope?.fields ?? job.raw.flatMap { [$0.0, $0.1] }
            name = "dead"
        case .fail:
            fields = []
            name = "failed"
        }
        let script = QueueScripts.fail.command(
            keys: [
                stream, statusKey, RedisKeys.delayed(tenant: tenant, kind: kind),
                RedisKeys.envelope(tenant: tenant, id: jobID ?? "unknown"), RedisKeys.deadLetters(tenant: tenant, kind: kind),
            ]
        ) { command in
            command.append(group)
            command.append(job.entryID)
            command.append(now)
            command.append(name)
            command.append(String(error.prefix(2000)))
            command.append(dueAt)
            command.append(queue.configuration.statusRetention.milliseconds / 1000)
            command.append(job.attempt)
            command.append(queue.configuration.deadLetterLimit)
            command.append(jobID ?? "")
            for field in fields { command.append(field) }
        }
        var commands = [script]
        if dueAt > 0 {
            commands.append(RedisCommand("ZADD", [RedisKeys.delayedIndex(kind: kind), "LT", String(dueAt), tenant.rawValue]))
        }
        let replies = try await queue.redis.send(commands)
        return try replies[0].orThrow("settle").int == 1
    }
}
