-- Publishes a request's result once: on the channel's stream and pub/sub channel, and in
-- the container's history, and removes its in-flight record, all in one step. A request
-- whose result was published before (a marker is kept for as long as request ids are
-- remembered) only has its in-flight record removed. Returns 1 when published, 0 when not.
--
-- KEYS: 1 result marker, 2 the channel's stream, 3 history list, 4 in-flight hash.
-- ARGV: 1 the message, 2 stream max length, 3 history length, 4 request id,
-- 5 marker ttl ms, 6 the pub/sub channel.
local marker, stream, history, inflight = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local message = ARGV[1]
if not redis.call('SET', marker, '1', 'NX', 'PX', tonumber(ARGV[5])) then
  redis.call('HDEL', inflight, ARGV[4])
  return 0
end
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[2], '*', 'message', message)
redis.call('PUBLISH', ARGV[6], message)
redis.call('LPUSH', history, message)
redis.call('LTRIM', history, 0, tonumber(ARGV[3]) - 1)
redis.call('HDEL', inflight, ARGV[4])
return 1
