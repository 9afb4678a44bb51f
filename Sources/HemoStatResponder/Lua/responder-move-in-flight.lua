-- Replaces an in-flight record, only while it is still there (a record concluded by
-- another responder is not brought back). Returns 1 when replaced.
--
-- KEYS: 1 in-flight hash. ARGV: 1 request id, 2 the record.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
