-- KEYS: the seen marker, the type's list, the list of all, the outbox (optional).
-- ARGV: ttl seconds, capacity, the message, then outbox field/value pairs.
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local last = tonumber(ARGV[2]) - 1
for i = 2, 3 do
  redis.call('LPUSH', KEYS[i], ARGV[3])
  redis.call('LTRIM', KEYS[i], 0, last)
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
if KEYS[4] then
  for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
end
return 1
