-- Extends the lease of a lock its holder still has. Returns 1 when extended, 0 when the
-- lock is no longer the request's.
--
-- KEYS: 1 lock. ARGV: 1 now_ms, 2 request_id, 3 lock_ttl_ms.
local held = redis.call('GET', KEYS[1])
local request_id = ARGV[2]
if not held or string.sub(held, 1, #request_id + 1) ~= request_id .. '|' then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], request_id .. '|' .. (now_ms(ARGV[1]) + ttl), 'PX', ttl + 60000)
return 1
