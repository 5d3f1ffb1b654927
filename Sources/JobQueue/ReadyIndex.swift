import Contracts
import RedisClient

/// The ready index of one kind: which tenants may have undelivered jobs, in which order
/// consumers serve them, and about how many each has.
///
/// Four keys in one hash slot of their own (`{ready:<kind>}`), holding tenant ids and counts
/// only:
/// - the **counts**: every tenant in the index, with about how many undelivered jobs it has, so
///   a consumer reads a busy tenant in full quanta and a tenant with one job in one read of one
///   (a tenant in the counts is in the index: that makes marking idempotent);
/// - the **list**: the tenants waiting for a visit, oldest first;
/// - the **leases**: tenants a consumer is reading now, scored by when the lease runs out;
/// - the **set**: for consumers of earlier versions, which kept every tenant of the index in it
///   and lower a shared tenant's count only when it is there: a mark puts a tenant in it once
///   its count could make it shared (more than a quantum), and a tenant leaving the index
///   leaves it too. A tenant with one job at a time, the common case with many tenants, costs
///   the set no write (two of a visit's eight index writes before).
///
/// A tenant with plenty of work (at least a quantum beyond what one take grants) is *shared*
/// instead of leased: it stays on the list (moved to its tail as it is taken), so several
/// consumers read one big tenant at once, and its release only lowers its count. Only a leased
/// visit can find a tenant dry and remove it.
///
/// Invariant: the counts' tenants = list ∪ leases, with no tenant in both. A producer *marks* a
/// tenant after appending to its stream (adding to its count; a tenant not yet counted goes onto the
/// list's tail). A consumer *takes* tenants from the list's head (leasing them, each with a
/// share of the jobs it wants), reads each, then *releases* them: one that may have more goes
/// back to the tail; one whose stream ran dry leaves the index, unless it was marked since it
/// was taken (see `release`), so no job is ever stranded. A consumer that dies holding leases
/// loses them when they run out: the next `take` puts those tenants back on the list. Each lease
/// is identified by its deadline, so a release after its lease ran out changes nothing, even
/// when another consumer holds the tenant by then. The counts size the reads; a wrong one costs
/// a visit, never a job.
///
/// Finding work costs in proportion to the tenants that have some, not to all tenants: a job
/// of an idle tenant is at the list's tail at once, behind only tenants with work, each of which
/// is read for at most one quantum before it.
enum ReadyIndex {
    /// KEYS[1] set, KEYS[2] list, KEYS[3] counts; ARGV[1] the quantum, then pairs of (tenant,
    /// jobs appended). Returns how many tenants joined the index.
    static let mark = RedisScript(
        """
        local quantum, added = tonumber(ARGV[1]), 0
        for i = 2, #ARGV, 2 do
          local known = redis.call('HEXISTS', KEYS[3], ARGV[i]) == 1
          if redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) > quantum then redis.call('SADD', KEYS[1], ARGV[i]) end
          if not known then
            redis.call('RPUSH', KEYS[2], ARGV[i])
            added = added + 1
          end
        end
        return added
        """)

    /// KEYS[1] list, KEYS[2] leases, KEYS[3] counts; ARGV[1] lease ms, ARGV[2] jobs wanted,
    /// ARGV[3] quantum (most jobs of one tenant while others wait), ARGV[4] most tenants.
    ///
    /// Puts tenants whose lease ran out back on the list, then takes tenants from its head
    /// until their counts fill the jobs wanted, each granted at most a quantum (a tenant alone
    /// on the list may get all that is wanted: no one is delayed by it). A tenant that would be
    /// leased for part of its count because the jobs wanted ran short stays at the head for the
    /// next take, unless it is the first: a visit per tenant, not two half visits. A tenant with
    /// at least a quantum left beyond its grant is shared: moved to the list's tail, not leased, so
    /// other consumers read it too; each is taken once per call. The others are leased. When
    /// no other tenant is left waiting, what is still wanted goes to the leased tenants. Times
    /// are Redis' own, so consumers' clocks do not matter. Returns (tenant, jobs granted, count
    /// when taken, lease) quadruples; the lease (its deadline, 0 for a shared tenant)
    /// identifies it to `release`.
    static let take = RedisScript(
        """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local lease, wanted = tonumber(ARGV[1]), tonumber(ARGV[2])
        local quantum, most = tonumber(ARGV[3]), tonumber(ARGV[4])
        local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
        for _, tenant in ipairs(expired) do
          redis.call('ZREM', KEYS[2], tenant)
          redis.call('RPUSH', KEYS[1], tenant)
        end
        local out, counts, taken = {}, {}, {}
        while wanted > 0 and #counts < most do
          local tenant = redis.call('LPOP', KEYS[1])
          if not tenant then break end
          if taken[tenant] then
            redis.call('LPUSH', KEYS[1], tenant)
            break
          end
          local count = tonumber(redis.call('HGET', KEYS[3], tenant)) or 0
          local share = redis.call('LLEN', KEYS[1]) == 0 and wanted or quantum
          local grant = math.min(math.max(count, 1), share, wanted)
          if #counts > 0 and grant < math.min(math.max(count, 1), share) and count - grant < quantum then
            redis.call('LPUSH', KEYS[1], tenant)
            break
          end
          local held = 0
          if count - grant >= quantum then
            redis.call('RPUSH', KEYS[1], tenant)
          elseif redis.call('ZADD', KEYS[2], 'NX', now + lease, tenant) == 1 then
            held = now + lease
            grant = math.min(grant, quantum)
          else
            grant = 0
          end
          if grant > 0 then
            taken[tenant] = true
            out[#out + 1] = tenant
            out[#out + 1] = grant
            out[#out + 1] = count
            out[#out + 1] = held
            counts[#counts + 1] = held > 0 and math.max(count, 1) or grant
            wanted = wanted - grant
          end
        end
        if wanted > 0 and #counts > 0 and redis.call('LLEN', KEYS[1]) == 0 then
          for i = 1, #counts do
            local extra = math.min(counts[i] - out[4 * i - 2], wanted)
            if extra > 0 then
              out[4 * i - 2] = out[4 * i - 2] + extra
              wanted = wanted - extra
            end
          end
        end
        return out
        """)

    /// KEYS[1] set, KEYS[2] list, KEYS[3] leases, KEYS[4] counts; ARGV quintuples of (tenant,
    /// jobs read, 1 it may have more | 0 its stream had nothing more when read, its count when
    /// taken, the lease). Returns per tenant 2 when it went back on the list, 1 when it left the
    /// index, or 0 when that lease is no longer held (it ran out, and the tenant may have been
    /// taken again since: nothing changes). A tenant back on the list is work another consumer
    /// may have found leased and gone to wait: the caller wakes the kind's consumers.
    ///
    /// A shared tenant (lease 0) is on the list already: its count is lowered by what was read,
    /// or, read dry (others read it meanwhile), by all it was granted, so a count too high
    /// costs a visit or two, never a loop; it is never removed here.
    ///
    /// A tenant whose stream ran dry leaves the index unless it was marked since it was taken:
    /// only the lease holder lowers a count, so a count above the one taken means a producer
    /// appended and marked meanwhile, perhaps after the read; it goes back on the list. A
    /// producer that appended but marks only after the removal finds the tenant gone from the
    /// index and puts it back itself. Either way no job is stranded. A tenant leaving the index
    /// leaves the set as well (see the type's note on the set).
    static let release = RedisScript(
        """
        local out = {}
        for i = 1, #ARGV, 5 do
          local tenant = ARGV[i]
          if ARGV[i + 4] == '0' then
            local count = redis.call('HGET', KEYS[4], tenant)
            if count then
              redis.call('HSET', KEYS[4], tenant, math.max((tonumber(count) or 0) - tonumber(ARGV[i + 1]), 1))
            end
            out[#out + 1] = 1
          elseif tonumber(redis.call('ZSCORE', KEYS[3], tenant)) == tonumber(ARGV[i + 4]) then
            redis.call('ZREM', KEYS[3], tenant)
            local count = tonumber(redis.call('HGET', KEYS[4], tenant)) or 0
            local marked = count - tonumber(ARGV[i + 3])
            if ARGV[i + 2] == '1' then
              redis.call('HSET', KEYS[4], tenant, math.max(count - tonumber(ARGV[i + 1]), 1))
              redis.call('RPUSH', KEYS[2], tenant)
              out[#out + 1] = 2
            elseif marked > 0 then
              redis.call('HSET', KEYS[4], tenant, marked)
              redis.call('RPUSH', KEYS[2], tenant)
              out[#out + 1] = 2
            else
              redis.call('SREM', KEYS[1], tenant)
              redis.call('HDEL', KEYS[4], tenant)
              out[#out + 1] = 1
            end
          else
            out[#out + 1] = 0
          end
        end
        return out
        """)

    /// A tenant taken: how many jobs to read, its count when taken, and the lease (0: shared).
    struct Grant {
        let tenant: TenantID
        let jobs: Int
        let count: Int
        let lease: Int64

        /// How many entries to ask the stream for: one more than granted when the grant is
        /// meant to empty it, so a short reply proves it dry.
        var readCount: Int { jobs >= count ? jobs + 1 : jobs }

        /// Whether the tenant was shared (left on the list for other consumers), not leased.
        var isShared: Bool { lease == 0 }

        /// A visit's outcome, for `release`: whether the tenant may have more.
        func visit(read: Int) -> Visit { Visit(grant: self, read: read, more: read >= readCount) }
    }

    /// A visit's outcome, for `release`.
    struct Visit {
        let grant: Grant
        let read: Int
        let more: Bool

        /// How much the visit lowers the tenant's count: what it read, or, a shared tenant read
        /// dry (others read it meanwhile, or its count was too high), all it was granted.
        var lowers: Int { grant.isShared && !more ? max(read, grant.jobs) : read }
    }

    static func markCommand(kind: JobKind, _ appended: [(tenant: TenantID, jobs: Int)], quantum: Int) -> RedisCommand {
        mark.command(
            keys: [RedisKeys.readyTenants(kind: kind), RedisKeys.readyList(kind: kind), RedisKeys.readyCounts(kind: kind)],
            arguments: [String(quantum)] + appended.flatMap { [$0.tenant.rawValue, String($0.jobs)] })
    }

    static func takeCommand(kind: JobKind, wanted: Int, quantum: Int, tenants: Int, lease: Duration) -> RedisCommand {
        take.command(
            keys: [RedisKeys.readyList(kind: kind), RedisKeys.readyLeases(kind: kind), RedisKeys.readyCounts(kind: kind)],
            arguments: [String(lease.milliseconds), String(wanted), String(quantum), String(tenants)])
    }

    /// The grants of a `take` reply.
    static func taken(_ reply: RedisValue) -> [Grant] {
        let values = reply.array ?? []
        var out: [Grant] = []
        for index in stride(from: 0, to: values.count - 3, by: 4) {
            guard let tenant = values[index].string.flatMap({ try? TenantID($0) }), let jobs = values[index + 1].int,
                let count = values[index + 2].int, let lease = values[index + 3].int
            else { continue }
            out.append(Grant(tenant: tenant, jobs: Int(jobs), count: Int(count), lease: lease))
        }
        return out
    }

    /// The tenants of `visits` that a `release` reply says went back on the list.
    static func relisted(_ reply: RedisValue, _ visits: [Visit]) -> [TenantID] {
        zip(visits, reply.array ?? []).compactMap { $1.int == 2 ? $0.grant.tenant : nil }
    }

    static func releaseCommand(kind: JobKind, _ visits: [Visit]) -> RedisCommand {
        release.command(
            keys: [
                RedisKeys.readyTenants(kind: kind), RedisKeys.readyList(kind: kind), RedisKeys.readyLeases(kind: kind),
                RedisKeys.readyCounts(kind: kind),
            ],
            arguments: visits.flatMap {
                [$0.grant.tenant.rawValue, String($0.lowers), $0.more ? "1" : "0", String($0.grant.count), String($0.grant.lease)]
            })
    }
}
