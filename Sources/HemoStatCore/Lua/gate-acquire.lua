-- Decides one request. Returns
-- `{decision, reason, retry_after_ms, escalate, breaker_state, actions_in_window}` where
-- decision is `allowed`, `rejected` or `duplicate` (reason then holds the first decision).
--
-- When allowed and ARGV 12 is not empty, the action's in-flight record (ARGV 12) is
-- stored in the hash KEYS 8 under the request id in the same step, so an allowed action
-- is never forgotten by a responder that stops right after the decision.
--
-- KEYS: 1 state hash, 2 actions zset, 3 failures zset, 4 lock, 5 global actions zset,
-- 6 request key, 7 the same request's key in the other namespace (or KEYS 6 again),
-- 8 the in-flight hash.
-- ARGV: 1 now_ms, 2 request_id, 3 cooldown_ms, 4 max_per_window, 5 window_ms,
-- 6 global_max, 7 lock_ttl_ms, 8 half_open_after_ms, 9 action, 10 incident_id,
-- 11 request_ttl_ms, 12 in-flight record (or empty).
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
