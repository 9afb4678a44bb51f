/// The Lua scripts that own every piece of safety state in Redis.
///
/// Safety state (cooldowns, hourly counters, circuit breakers, in-flight locks, holds) is only
/// ever changed by these scripts, run with EVALSHA, so a decision and its bookkeeping happen in
/// one atomic step: two responders can never both act on one container.
///
/// Time is Redis' own clock (`TIME`), so responders on machines whose clocks differ share one
/// time line: a cooldown, a window or a lease means the same to all of them. A caller may pass
/// its own time instead (milliseconds since the epoch, not 0), so tests can move time without
/// sleeping. Keys carry a real expiry as well, only so that abandoned state does not live
/// forever.
///
/// Keys, under a namespace `NS` (`hemostat:gate` for real actions, `hemostat:dryrun:gate` for
/// dry-run, so simulated budgets never consume real ones), per container `C`:
///
/// | key | type | holds |
/// |---|---|---|
/// | `NS:c:C` | hash | cooldown_until, breaker_state, breaker_opened_at, breaker_escalated, hold_until, hold_by, hold_reason, last_action, last_result, last_at, last_request, last_rejection |
/// | `NS:c:C:actions` | sorted set | request ids of actions allowed, scored by time (sliding hour) |
/// | `NS:c:C:failures` | sorted set | failed or ineffective remediations, scored by time |
/// | `NS:c:C:lock` | string | `request_id|expires_at_ms` of the action in flight |
/// | `NS:global:actions` | sorted set | every allowed action on this Redis, for the global cap |
/// | `NS:req:R` | string | the decision already made for request `R` (idempotency) |
/// | `NS:c:C:reported` | string | `incident|reason` of the last refusal reported before the gate |
enum SafetyGateScripts {
    /// `now_ms(arg)`: the caller's time when it passed one, else Redis' clock.
    private static let clock = #"""
    local function now_ms(arg)
      local given = tonumber(arg)
      if given and given > 0 then return given end
      local t = redis.call('TIME')
      return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end

    """#

    /// Decides one request. Returns
    /// `{decision, reason, retry_after_ms, escalate, breaker_state, actions_in_window}` where
    /// decision is `allowed`, `rejected` or `duplicate` (reason then holds the first decision).
    ///
    /// When allowed and ARGV 12 is not empty, the action's in-flight record (ARGV 12) is
    /// stored in the hash KEYS 8 under the request id in the same step, so an allowed action
    /// is never forgotten by a responder that stops right after the decision.
    ///
    /// KEYS: 1 state hash, 2 actions zset, 3 failures zset, 4 lock, 5 global actions zset,
    /// 6 request key, 7 the same request's key in the other namespace (or KEYS 6 again),
    /// 8 the in-flight hash.
    /// ARGV: 1 now_ms, 2 request_id, 3 cooldown_ms, 4 max_per_window, 5 window_ms,
    /// 6 global_max, 7 lock_ttl_ms, 8 half_open_after_ms, 9 action, 10 incident_id,
    /// 11 request_ttl_ms, 12 in-flight record (or empty).
    static let acquire = clock + #"""
    local state, actions, failures, lock, global, request = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
    local now = now_ms(ARGV[1])
    local request_id = ARGV[2]
    local cooldown_ms = tonumber(ARGV[3])
    local max_per_window = tonumber(ARGV[4])
    local window_ms = tonumber(ARGV[5])
    local global_max = tonumber(ARGV[6])
    local lock_ttl_ms = tonumber(ARGV[7])
    local half_open_after_ms = tonumber(ARGV[8])
    local action = ARGV[9]
    local incident = ARGV[10]
    local request_ttl_ms = tonumber(ARGV[11])

    local previous = redis.call('GET', request)
    if not previous and KEYS[7] ~= request then
      -- Decided in the other namespace (dry-run vs live): a request is decided once, whichever
      -- mode the responder that reads it again runs in.
      previous = redis.call('GET', KEYS[7])
      if previous then previous = 'other_namespace:' .. previous end
    end
    if previous then
      return {'duplicate', previous, 0, 0, redis.call('HGET', state, 'breaker_state') or 'closed', redis.call('ZCARD', actions)}
    end

    redis.call('ZREMRANGEBYSCORE', actions, '-inf', now - window_ms)
    redis.call('ZREMRANGEBYSCORE', global, '-inf', now - window_ms)
    local used = redis.call('ZCARD', actions)
    local breaker = redis.call('HGET', state, 'breaker_state') or 'closed'

    local function reject(reason, retry_after, escalate)
      redis.call('SET', request, 'rejected:' .. reason, 'PX', request_ttl_ms)
      -- One report per incident and reason: a repeated rejection is marked as such.
      local mark = incident .. '|' .. reason
      local repeated = 0
      if redis.call('HGET', state, 'last_rejection') == mark then repeated = 1 end
      redis.call('HSET', state, 'last_rejection', mark)
      redis.call('PEXPIRE', state, math.max(window_ms, cooldown_ms, half_open_after_ms) * 24)
      return {'rejected', reason, math.max(0, math.floor(retry_after)), escalate, breaker, used, repeated}
    end

    local hold_until = tonumber(redis.call('HGET', state, 'hold_until') or '0')
    if hold_until > now then
      return reject('held', hold_until - now, 0)
    end

    if breaker == 'open' then
      local opened_at = tonumber(redis.call('HGET', state, 'breaker_opened_at') or '0')
      if now < opened_at + half_open_after_ms then
        local escalate = 0
        if redis.call('HGET', state, 'breaker_escalated') ~= '1' then
          redis.call('HSET', state, 'breaker_escalated', '1')
          escalate = 1
        end
        return reject('breaker_open', opened_at + half_open_after_ms - now, escalate)
      end
      breaker = 'half_open'
      redis.call('HSET', state, 'breaker_state', 'half_open')
    end

    local held = redis.call('GET', lock)
    if held then
      local sep = string.find(held, '|', 1, true)
      local expires = tonumber(string.sub(held, sep + 1))
      if expires > now then
        return reject('in_flight', expires - now, 0)
      end
    end

    local cooldown_until = tonumber(redis.call('HGET', state, 'cooldown_until') or '0')
    if cooldown_until > now then
      return reject('cooldown', cooldown_until - now, 0)
    end

    if used >= max_per_window then
      local oldest = redis.call('ZRANGE', actions, 0, 0, 'WITHSCORES')
      return reject('rate_limited', tonumber(oldest[2]) + window_ms - now, 0)
    end

    if global_max > 0 and redis.call('ZCARD', global) >= global_max then
      local oldest = redis.call('ZRANGE', global, 0, 0, 'WITHSCORES')
      return reject('global_rate_limited', tonumber(oldest[2]) + window_ms - now, 0)
    end

    redis.call('SET', lock, request_id .. '|' .. (now + lock_ttl_ms), 'PX', lock_ttl_ms + 60000)
    redis.call('ZADD', actions, now, request_id)
    redis.call('PEXPIRE', actions, window_ms * 2)
    redis.call('ZADD', global, now, request_id)
    redis.call('PEXPIRE', global, window_ms * 2)
    redis.call('HSET', state, 'cooldown_until', now + cooldown_ms, 'last_action', action,
      'last_at', now, 'last_request', request_id, 'last_result', 'in_progress', 'last_rejection', '')
    redis.call('PEXPIRE', state, math.max(window_ms, cooldown_ms, half_open_after_ms) * 24)
    redis.call('SET', request, 'allowed', 'PX', request_ttl_ms)
    if ARGV[12] ~= '' then
      redis.call('HSET', KEYS[8], request_id, ARGV[12])
    end
    return {'allowed', '', 0, 0, breaker, used + 1, 0}
    """#

    /// Records the verified outcome of an allowed action, releases its lock, and moves the
    /// circuit breaker. Returns `{breaker_state, tripped}`; tripped is 1 when this outcome
    /// opened the breaker. A trip is marked as escalated: its caller tells a human, and the
    /// rejections while the breaker stays open do not.
    ///
    /// After a failed or ineffective outcome that did not open the breaker, the container's
    /// cooldown becomes the n-th backoff (n: failures in the window; the last one once they
    /// run out) and the reply's third element says it in ms (0 otherwise).
    ///
    /// KEYS: 1 state hash, 2 failures zset, 3 lock.
    /// ARGV: 1 now_ms, 2 request_id, 3 outcome (success, failed, ineffective, skipped),
    /// 4 failure_threshold, 5 failure_window_ms, 6 backoffs in ms, comma-separated (or empty).
    static let complete = clock + #"""
    local state, failures, lock = KEYS[1], KEYS[2], KEYS[3]
    local now = now_ms(ARGV[1])
    local request_id = ARGV[2]
    local outcome = ARGV[3]
    local threshold = tonumber(ARGV[4])
    local window_ms = tonumber(ARGV[5])
    local backoffs = {}
    for ms in string.gmatch(ARGV[6] or '', '[^,]+') do backoffs[#backoffs + 1] = tonumber(ms) end
    local retry_in = 0

    local held = redis.call('GET', lock)
    if held and string.sub(held, 1, #request_id + 1) == request_id .. '|' then
      redis.call('DEL', lock)
    end

    local breaker = redis.call('HGET', state, 'breaker_state') or 'closed'
    local tripped = 0
    if outcome == 'success' then
      redis.call('DEL', failures)
      breaker = 'closed'
      redis.call('HSET', state, 'breaker_state', 'closed', 'breaker_escalated', '0')
    elseif outcome == 'failed' or outcome == 'ineffective' then
      redis.call('ZREMRANGEBYSCORE', failures, '-inf', now - window_ms)
      redis.call('ZADD', failures, now, request_id)
      redis.call('PEXPIRE', failures, window_ms * 2)
      if breaker == 'half_open' or redis.call('ZCARD', failures) >= threshold then
        if breaker ~= 'open' then tripped = 1 end
        breaker = 'open'
        -- The caller escalates a trip itself, so the rejections that follow do not again.
        redis.call('HSET', state, 'breaker_state', 'open', 'breaker_opened_at', now, 'breaker_escalated', tostring(tripped))
      elseif #backoffs > 0 then
        local n = math.min(redis.call('ZCARD', failures), #backoffs)
        retry_in = backoffs[n]
        redis.call('HSET', state, 'cooldown_until', now + retry_in)
      end
    end
    if redis.call('HGET', state, 'last_request') == request_id then
      redis.call('HSET', state, 'last_result', outcome, 'last_result_at', now)
    end
    return {breaker, tripped, retry_in}
    """#

    /// Extends the lease of a lock its holder still has. Returns 1 when extended, 0 when the
    /// lock is no longer the request's.
    ///
    /// KEYS: 1 lock. ARGV: 1 now_ms, 2 request_id, 3 lock_ttl_ms.
    static let renew = clock + #"""
    local held = redis.call('GET', KEYS[1])
    local request_id = ARGV[2]
    if not held or string.sub(held, 1, #request_id + 1) ~= request_id .. '|' then return 0 end
    local ttl = tonumber(ARGV[3])
    redis.call('SET', KEYS[1], request_id .. '|' .. (now_ms(ARGV[1]) + ttl), 'PX', ttl + 60000)
    return 1
    """#

    /// Takes over an allowed action whose responder stopped before concluding it: its
    /// in-flight record is still there and no live lock is on the container. The caller then
    /// holds the lock for the request. Returns `{verdict, record, hold_remaining_ms}`:
    /// `taken` (with the record), `gone` (concluded meanwhile), `busy` (a live lock, its own
    /// responder's or a later request's), or `superseded` (a later action was decided on the
    /// container; the caller concludes this one without acting).
    ///
    /// KEYS: 1 in-flight hash, 2 lock, 3 state hash. ARGV: 1 request_id, 2 now_ms, 3 lock_ttl_ms.
    static let takeOver = clock + #"""
    local inflight, lock, state = KEYS[1], KEYS[2], KEYS[3]
    local request_id = ARGV[1]
    local now = now_ms(ARGV[2])
    local ttl = tonumber(ARGV[3])
    local record = redis.call('HGET', inflight, request_id)
    if not record then return {'gone', '', 0} end
    local held = redis.call('GET', lock)
    if held then
      local sep = string.find(held, '|', 1, true)
      if sep and tonumber(string.sub(held, sep + 1)) > now then return {'busy', '', 0} end
    end
    local last = redis.call('HGET', state, 'last_request')
    if last and last ~= request_id then return {'superseded', record, 0} end
    redis.call('SET', lock, request_id .. '|' .. (now + ttl), 'PX', ttl + 60000)
    local hold_until = tonumber(redis.call('HGET', state, 'hold_until') or '0')
    return {'taken', record, math.max(0, hold_until - now)}
    """#

    /// Operator commands: `hold` (no action until a time), `release`, `reset` (close the
    /// breaker after a person fixed the cause).
    ///
    /// KEYS: 1 state hash, 2 failures zset.
    /// ARGV: 1 command, 2 now_ms, 3 hold_ms (how long a hold lasts), 4 who, 5 reason.
    static let operatorCommand = clock + #"""
    local state, failures = KEYS[1], KEYS[2]
    local command = ARGV[1]
    if command == 'hold' then
      local hold_until = now_ms(ARGV[2]) + tonumber(ARGV[3])
      redis.call('HSET', state, 'hold_until', hold_until, 'hold_by', ARGV[4], 'hold_reason', ARGV[5])
    elseif command == 'release' then
      redis.call('HDEL', state, 'hold_until', 'hold_by', 'hold_reason')
    elseif command == 'reset' then
      redis.call('DEL', failures)
      redis.call('HSET', state, 'breaker_state', 'closed', 'breaker_escalated', '0')
      redis.call('HDEL', state, 'breaker_opened_at')
    else
      return redis.error_reply('unknown gate command')
    end
    return redis.call('HGETALL', state)
    """#

    /// Remembers a refusal made before the gate (protected, gone, stopped by an operator) and
    /// says whether the same incident was already refused for the same reason. Returns 1 when
    /// repeated.
    ///
    /// KEYS: 1 reported key. ARGV: 1 `incident|reason`, 2 ttl_ms.
    static let noteRefusal = #"""
    local previous = redis.call('GET', KEYS[1])
    redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
    if previous == ARGV[1] then return 1 end
    return 0
    """#
}
