import RedisClient

/// The queue's Lua scripts. Each runs on the keys of one tenant, which share a hash slot, so it
/// is atomic and works on Redis Cluster. Global keys (ready set, indexes) are updated by plain
/// commands pipelined after the script, in an order that never loses work (see `JobQueue`).
enum QueueScripts {
    /// Trims acknowledged entries from the head of a stream: everything older than the oldest
    /// pending entry (the group delivers in id order, so every older entry was delivered, and
    /// not being pending it was acknowledged), or, with nothing pending, everything the group
    /// has delivered (first up to the latest entry the caller knows was delivered, which mostly
    /// empties the stream without asking the group). Nothing unacknowledged is ever trimmed.
    /// `~` lets Redis drop whole nodes only, which is cheap.
    private static let trimFunction = """
        local function successor(id)
          local ms, seq = string.match(id, '(%d+)-(%d+)')
          return ms .. '-' .. (tonumber(seq) + 1)
        end
        local function later(a, b)
          if not b then return true end
          local ams, aseq = string.match(a, '(%d+)-(%d+)')
          local bms, bseq = string.match(b, '(%d+)-(%d+)')
          ams, bms = tonumber(ams), tonumber(bms)
          if ams ~= bms then return ams > bms end
          return tonumber(aseq) > tonumber(bseq)
        end
        local function trim(stream, group, delivered)
          local summary = redis.call('XPENDING', stream, group)
          if tonumber(summary[1]) > 0 then
            redis.call('XTRIM', stream, 'MINID', '~', summary[2])
            return
          end
          redis.call('XTRIM', stream, 'MINID', '~', successor(delivered))
          if redis.call('XLEN', stream) == 0 then return end
          for _, info in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
            local name, last = nil, nil
            for i = 1, #info, 2 do
              if info[i] == 'name' then name = info[i + 1] end
              if info[i] == 'last-delivered-id' then last = info[i + 1] end
            end
            if name == group and last then redis.call('XTRIM', stream, 'MINID', '~', successor(last)) end
          end
        end

        """

    /// Enqueues a batch of jobs of one kind for one tenant. A stream is created with its
    /// consumer group, so the first read of a new tenant needs no round trip to create it.
    ///
    /// KEYS[1] stream, KEYS[2] delayed zset, then per job: status hash, idempotency key (the
    ///   status key again when the job has none), envelope hash
    /// ARGV[1] now ms, ARGV[2] kind, ARGV[3] idempotency TTL s, ARGV[4] consumer group, then per
    ///   job: id, has-idempotency-key 0|1, run_at ms or "", requesting user, envelope header,
    ///   payload
    /// Returns a flat array of (job id, 1 new | 0 idempotent repeat) per job; for a repeat the
    /// id is the first job's.
    static let enqueue = RedisScript(
        """
        local now, kind, idemTTL = ARGV[1], ARGV[2], ARGV[3]
        if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[4], '0', 'MKSTREAM') end
        local out, a, k = {}, 5, 3
        while a <= #ARGV do
          local id, hasIdem, runAt = ARGV[a], ARGV[a + 1], ARGV[a + 2]
          local first = nil
          if hasIdem == '1' then
            first = redis.call('GET', KEYS[k + 1])
            if not first then redis.call('SET', KEYS[k + 1], id, 'EX', idemTTL) end
          end
          if first then
            out[#out + 1] = first
            out[#out + 1] = 0
          else
            if runAt ~= '' and tonumber(runAt) > tonumber(now) then
              redis.call('HSET', KEYS[k + 2], 'e', ARGV[a + 4], 'p', ARGV[a + 5])
              redis.call('ZADD', KEYS[2], runAt, id)
              redis.call('HSET', KEYS[k], 'state', 'queued', 'kind', kind, 'attempts', 0, 'enqueued_at', now, 'user', ARGV[a + 3],
                'run_at', runAt)
            else
              redis.call('XADD', KEYS[1], '*', 'e', ARGV[a + 4], 'p', ARGV[a + 5])
              redis.call('HSET', KEYS[k], 'state', 'queued', 'kind', kind, 'attempts', 0, 'enqueued_at', now, 'user', ARGV[a + 3])
            end
            out[#out + 1] = id
            out[#out + 1] = 1
          end
          a = a + 6
          k = k + 3
        end
        return out
        """)

    /// Marks delivered jobs running; acknowledges and drops the ones cancelled or finished
    /// meanwhile.
    ///
    /// KEYS[1] stream, KEYS[2..] status hash per job
    /// ARGV[1] group, ARGV[2] now ms, then per job: entry id, attempt
    /// Returns per job 1 (run it) or 0 (skip it).
    static let start = RedisScript(
        trimFunction + """
            local group, now = ARGV[1], ARGV[2]
            local out, skipped = {}, nil
            for i = 2, #KEYS do
              local entry, attempt = ARGV[2 * i - 1], ARGV[2 * i]
              local state = redis.call('HGET', KEYS[i], 'state')
              if state == 'cancelled' or state == 'succeeded' or state == 'dead' or state == 'failed' then
                redis.call('XACK', KEYS[1], group, entry)
                if later(entry, skipped) then skipped = entry end
                out[#out + 1] = 0
              else
                redis.call('HSET', KEYS[i], 'state', 'running', 'attempts', attempt, 'started_at', now)
                out[#out + 1] = 1
              end
            end
            if skipped then trim(KEYS[1], group, skipped) end
            return out
            """)

    /// Finishes succeeded jobs: acknowledges them, records the outcome, trims the stream.
    ///
    /// KEYS[1] stream, KEYS[2..] status hash per job
    /// ARGV[1] group, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] the newest entry id of the
    ///   batch (found by the caller: comparing ids costs Lua more than the rest of a job),
    ///   ARGV[5..] per job: entry id, result (a JSON object, or "" for none)
    /// Returns per job 1, or 0 when the entry was no longer pending (another worker finished it).
    static let complete = RedisScript(
        trimFunction + """
            local group, now, ttl, latest = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
            local out = {}
            for i = 2, #KEYS do
              local entry, result = ARGV[2 * i + 1], ARGV[2 * i + 2]
              if redis.call('XACK', KEYS[1], group, entry) == 1 then
                redis.call('HSET', KEYS[i], 'state', 'succeeded', 'finished_at', now)
                if result ~= '' then redis.call('HSET', KEYS[i], 'result', result) end
                redis.call('EXPIRE', KEYS[i], ttl)
                out[#out + 1] = 1
              else
                out[#out + 1] = 0
              end
            end
            trim(KEYS[1], group, latest)
            return out
            """)

    /// The newest of stream entry ids (`<ms>-<seq>`); nil for none.
    static func newest(_ ids: some Sequence<String>) -> String? {
        func parts(_ id: String) -> (UInt64, UInt64) {
            let halves = id.split(separator: "-", maxSplits: 1)
            return (UInt64(halves.first ?? "") ?? 0, halves.count > 1 ? UInt64(halves[1]) ?? 0 : 0)
        }
        var best: (id: String, key: (UInt64, UInt64))?
        for id in ids {
            let key = parts(id)
            if best.map({ key > $0.key }) ?? true { best = (id, key) }
        }
        return best?.id
    }

    /// Settles one failed delivery: schedule a retry, dead-letter it, or mark it failed.
    ///
    /// KEYS[1] stream, KEYS[2] status hash (the stream key when the job id is unknown),
    ///   KEYS[3] delayed zset, KEYS[4] envelope hash, KEYS[5] dead-letter stream
    /// ARGV[1] group, ARGV[2] entry id, ARGV[3] now ms, ARGV[4] retry|dead|failed,
    ///   ARGV[5] error text, ARGV[6] retry due ms, ARGV[7] retention s, ARGV[8] attempts so far,
    ///   ARGV[9] dead-letter limit, ARGV[10] job id, ARGV[11..] entry field/value pairs to keep
    ///   (`e`/`p` with the attempt raised for a retry; the raw entry for an undecodable one)
    /// Returns 1, or 0 when the entry was no longer pending (someone else settled it).
    static let fail = RedisScript(
        trimFunction + """
            local group, entry, now, outcome, err = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
            local dueAt, ttl, attempts, dlqLimit, id = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
            if redis.call('XACK', KEYS[1], group, entry) == 0 then return 0 end
            trim(KEYS[1], group, entry)
            local fields = {}
            for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
            local hasStatus = KEYS[2] ~= KEYS[1]
            if outcome == 'retry' then
              redis.call('HSET', KEYS[4], unpack(fields))
              redis.call('ZADD', KEYS[3], dueAt, id)
              redis.call('HSET', KEYS[2], 'state', 'retrying', 'attempts', attempts, 'last_error', err, 'run_at', dueAt)
            elseif outcome == 'dead' then
              fields[#fields + 1] = 'error'
              fields[#fields + 1] = err
              fields[#fields + 1] = 'failed_at'
              fields[#fields + 1] = now
              redis.call('XADD', KEYS[5], 'MAXLEN', '~', dlqLimit, '*', unpack(fields))
              if hasStatus then
                redis.call('HSET', KEYS[2], 'state', 'dead', 'attempts', attempts, 'last_error', err, 'finished_at', now)
                redis.call('EXPIRE', KEYS[2], ttl)
              end
            elseif hasStatus then
              redis.call('HSET', KEYS[2], 'state', 'failed', 'attempts', attempts, 'last_error', err, 'finished_at', now)
              redis.call('EXPIRE', KEYS[2], ttl)
            end
            return 1
            """)

    /// Moves due delayed jobs of one tenant and kind into the stream.
    ///
    /// KEYS[1] delayed zset, KEYS[2] stream
    /// ARGV[1] now ms, ARGV[2] limit, ARGV[3] tenant key prefix (`oc:{t:<tenant>}`)
    /// Envelope and status keys are derived from the prefix and the job id; they carry the same
    /// hash tag as KEYS, so they live in the same slot.
    /// Returns {moved, next due ms or -1}.
    static let promote = RedisScript(
        """
        local now, limit, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
        local moved = 0
        for _, id in ipairs(due) do
          local envKey = prefix .. ':envelope:' .. id
          local fields = redis.call('HGETALL', envKey)
          redis.call('ZREM', KEYS[1], id)
          if #fields > 0 then
            redis.call('XADD', KEYS[2], '*', unpack(fields))
            redis.call('DEL', envKey)
            local statusKey = prefix .. ':job:' .. id
            if redis.call('HGET', statusKey, 'state') ~= 'cancelled' then
              redis.call('HSET', statusKey, 'state', 'queued')
            end
            moved = moved + 1
          end
        end
        local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        if #nextDue == 0 then return {moved, -1} end
        return {moved, tonumber(nextDue[2])}
        """)

    /// Cancels a job that has not started.
    ///
    /// KEYS[1] status hash, KEYS[2] delayed zset, KEYS[3] envelope hash
    /// ARGV[1] job id, ARGV[2] now ms, ARGV[3] retention s
    /// Returns `done` when it cancelled the job, else the state it is in, or false when unknown.
    static let cancel = RedisScript(
        """
        local state = redis.call('HGET', KEYS[1], 'state')
        if not state then return false end
        if state ~= 'queued' and state ~= 'retrying' then return state end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('DEL', KEYS[3])
        redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished_at', ARGV[2])
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        return 'done'
        """)

    /// Puts a dead-lettered job back on its stream.
    ///
    /// KEYS[1] dead-letter stream, KEYS[2] stream, KEYS[3] status hash (KEYS[1] when unknown)
    /// ARGV[1] dead-letter entry id, ARGV[2] now ms, ARGV[3] kind, ARGV[4..] field/value pairs
    ///   to append (the envelope with a fresh attempt count)
    /// Returns 1, or 0 when the dead letter no longer exists.
    static let replay = RedisScript(
        """
        if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 0 end
        local fields = {}
        for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
        redis.call('XADD', KEYS[2], '*', unpack(fields))
        redis.call('XDEL', KEYS[1], ARGV[1])
        if KEYS[3] ~= KEYS[1] then
          redis.call('HSET', KEYS[3], 'state', 'queued', 'attempts', 0, 'kind', ARGV[3], 'enqueued_at', ARGV[2])
          redis.call('HDEL', KEYS[3], 'finished_at', 'started_at', 'run_at')
          redis.call('PERSIST', KEYS[3])
        end
        return 1
        """)
}
