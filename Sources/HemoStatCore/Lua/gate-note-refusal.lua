-- Remembers a refusal made before the gate (protected, gone, stopped by an operator) and
-- says whether the same incident was already refused for the same reason. Returns 1 when
-- repeated.
--
-- KEYS: 1 reported key. ARGV: 1 `incident|reason`, 2 ttl_ms.
local previous = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
if previous == ARGV[1] then return 1 end
return 0
