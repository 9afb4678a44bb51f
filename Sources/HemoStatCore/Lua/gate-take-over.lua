-- Takes over an allowed action whose responder stopped before concluding it: its
-- in-flight record is still there and no live lock is on the container. The caller then
-- holds the lock for the request. Returns `{verdict, record, hold_remaining_ms}`:
-- `taken` (with the record), `gone` (concluded meanwhile), `busy` (a live lock, its own
-- responder's or a later request's), or `superseded` (a later action was decided on the
-- container; the caller concludes this one without acting).
--
-- KEYS: 1 in-flight hash, 2 lock, 3 state hash. ARGV: 1 request_id, 2 now_ms, 3 lock_ttl_ms.
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
