-- KEYS: the retry set. ARGV: now ms, lease end ms, the retry. 1 when it was due and is now
-- this caller's for the lease.
local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not score or tonumber(score) > tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[3])
return 1
