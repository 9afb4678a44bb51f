-- `now_ms(arg)`: the caller's time when it passed one, else Redis' clock.
local function now_ms(arg)
  local given = tonumber(arg)
  if given and given > 0 then return given end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

