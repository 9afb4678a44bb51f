-- Records the verified outcome of an allowed action, releases its lock, and moves the
-- circuit breaker. Returns `{breaker_state, tripped}`; tripped is 1 when this outcome
-- opened the breaker. A trip is marked as escalated: its caller tells a human, and the
-- rejections while the breaker stays open do not.
--
-- After a failed or ineffective outcome that did not open the breaker, the container's
-- cooldown becomes the n-th backoff (n: failures in the window; the last one once they
-- run out) and the reply's third element says it in ms (0 otherwise).
--
-- KEYS: 1 state hash, 2 failures zset, 3 lock.
-- ARGV: 1 now_ms, 2 request_id, 3 outcome (success, failed, ineffective, skipped),
-- 4 failure_threshold, 5 failure_window_ms, 6 backoffs in ms, comma-separated (or empty).
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
