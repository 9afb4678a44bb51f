-- Operator commands: `hold` (no action until a time), `release`, `reset` (close the
-- breaker after a person fixed the cause).
--
-- KEYS: 1 state hash, 2 failures zset.
-- ARGV: 1 command, 2 now_ms, 3 hold_ms (how long a hold lasts), 4 who, 5 reason.
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
