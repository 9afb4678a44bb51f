local with_caller, function_line, thresholds, verdict_constructor, seal = ...

local type, error, pairs, ipairs, tostring, tonumber, select, next, xpcall =
      type, error, pairs, ipairs, tostring, tonumber, select, next, xpcall
local setmetatable, getmetatable, rawget, rawequal, rawlen, load =
      setmetatable, getmetatable, rawget, rawequal, rawlen, load
local lower = string.lower
local huge, floor, abs = math.huge, math.floor, math.abs
local sort, concat = table.sort, table.concat

-- string.dump would turn functions into bytecode: gone for everyone.
string.dump = nil

local function readonly(real, what)
  return setmetatable({}, {
    __index = real,
    __newindex = function(_, k) error(what .. " is read-only (assignment to '" .. tostring(k) .. "')", 2) end,
    __metatable = false,
  })
end

local function strict(t, what)
  return setmetatable(t, {
    __index = function(_, k) error("unknown " .. what .. " '" .. tostring(k) .. "'", 2) end,
    __metatable = false,
  })
end

local M = {}
-- alert: the alert being evaluated; anomalies: its anomalies by type (first of each), built
-- on first use in an evaluation.
local state = {
  alert = nil, anomalies = nil, cols = nil, n = 0, numeric = nil, has_history = false, rows = nil, labels = nil,
}
M.state = state

---------------------------------------------------------------------------------------------
-- config
---------------------------------------------------------------------------------------------
local config_real = {}
for k, v in pairs(thresholds) do config_real[k] = v end
local config = readonly(strict(config_real, "config key"), "config")

---------------------------------------------------------------------------------------------
-- verdicts
---------------------------------------------------------------------------------------------
local VERDICT = {}
M.verdict_mt = VERDICT

local ACTIONS = {
  restart = true, start = true, stop = true, kill = true, pause = true, unpause = true,
  update_resources = true, exec = true, notify = true, none = true,
}

local function is_verdict(v)
  return type(v) == "table" and getmetatable(v) == VERDICT
end
M.is_verdict = is_verdict

-- The constructors are C functions (verdict_constructor): they check the fields and build
-- {kind, action, confidence, reason, dry_run, params, fallback, after, line} with VERDICT as
-- metatable, recording the caller's line.
local constructors = {}
for action in pairs(ACTIONS) do
  if action ~= "none" then
    constructors[action] = verdict_constructor(VERDICT, ACTIONS, "act", action, action)
  end
end
constructors.act = verdict_constructor(VERDICT, ACTIONS, "act", nil, "act")
constructors.false_alarm = verdict_constructor(VERDICT, ACTIONS, "false_alarm", "none", "false_alarm")
constructors.escalate = verdict_constructor(VERDICT, ACTIONS, "escalate", "notify", "escalate")
constructors.ambiguous = verdict_constructor(VERDICT, ACTIONS, "ambiguous", "none", "ambiguous")
constructors.recheck = verdict_constructor(VERDICT, ACTIONS, "recheck", "none", "recheck")

---------------------------------------------------------------------------------------------
-- helpers over the alert and its history
---------------------------------------------------------------------------------------------
local OPS = {
  [">"] = function(a, b) return a > b end,
  [">="] = function(a, b) return a >= b end,
  ["<"] = function(a, b) return a < b end,
  ["<="] = function(a, b) return a <= b end,
  ["=="] = function(a, b) return a == b end,
  ["~="] = function(a, b) return a ~= b end,
  ["!="] = function(a, b) return a ~= b end,
}

local function op_fn(op, helper)
  local f = OPS[op]
  if f == nil then
    error(helper .. ": unknown comparison '" .. tostring(op) .. "' (use >, >=, <, <=, ==, ~=)", 3)
  end
  return f
end

local function check_field(field, helper)
  if type(field) ~= "string" then error(helper .. ": field must be a string", 3) end
end

-- The history arrives as columns: state.cols[field][i] is sample i's value of field (oldest
-- first), state.n samples in all; state.numeric[field] is true when every value of the column
-- is a number, so loops over it need no type checks. Rows (one table per sample) are built
-- only when a rule asks for them (`a.history`, `h.samples`), once per evaluation.
local NO_COLUMN = setmetatable({}, { __newindex = function() error("read-only", 2) end })

-- The column of `field` and whether it holds only numbers. With `helper`, a field that is not
-- a string is an error reported at `level` (default: the caller of the helper calling this).
local function column(field, helper, level)
  local col = state.cols[field]
  if col == nil then
    if helper ~= nil and type(field) ~= "string" then
      error(helper .. ": field must be a string", level or 3)
    end
    return NO_COLUMN, true
  end
  return col, state.numeric[field] == true
end

local function rows()
  local r = state.rows
  if r == nil then
    r = {}
    local n = state.n
    for i = 1, n do r[i] = {} end
    for field, col in next, state.cols do
      for i = 1, n do
        local v = col[i]
        if v ~= nil then r[i][field] = v end
      end
    end
    r = seal(r)
    state.rows = r
  end
  return r
end

-- `a.history`: the samples as tables, built on first use.
local ALERT_MT = {
  __index = function(_, k)
    if k == "history" and state.has_history then return rows() end
  end,
  __metatable = false,
}

-- Index of the oldest sample within `seconds` of the newest one (1 when seconds is nil).
local function window_start(n, seconds, helper)
  if seconds == nil then return 1 end
  if type(seconds) ~= "number" or seconds < 0 then
    error(helper .. ": window must be a number of seconds", 3)
  end
  local ts, num = column("timestamp")
  local newest = ts[n]
  if newest == nil or not (num or type(newest) == "number") then return n end
  local from = newest - seconds
  local i = n
  while i > 1 do
    local t = ts[i - 1]
    if t == nil or not (num or type(t) == "number") or t < from then break end
    i = i - 1
  end
  return i
end

local h = {}

function h.now()
  local n = state.n
  if n == 0 then return nil end
  return state.cols.timestamp and state.cols.timestamp[n]
end

function h.span()
  local n = state.n
  if n < 2 then return 0 end
  local ts, num = column("timestamp")
  local newest, oldest = ts[n], ts[1]
  if newest == nil or oldest == nil then return 0 end
  if not num and (type(newest) ~= "number" or type(oldest) ~= "number") then return 0 end
  return newest - oldest
end

function h.latest(field)
  local col = column(field, "h.latest")
  local n = state.n
  if n == 0 then return nil end
  return col[n]
end

function h.samples(seconds)
  local n = state.n
  local out = {}
  if n == 0 then return out end
  local r = rows()
  for i = window_start(n, seconds, "h.samples"), n do out[#out + 1] = r[i] end
  return out
end

function h.values(field, seconds)
  local col, num = column(field, "h.values")
  local n = state.n
  local out = {}
  if n == 0 then return out end
  for i = window_start(n, seconds, "h.values"), n do
    local v = col[i]
    if v ~= nil and (num or type(v) == "number") then out[#out + 1] = v end
  end
  return out
end

function h.avg(field, seconds)
  local col, num = column(field, "h.avg")
  local n = state.n
  if n == 0 then return nil end
  local sum, count = 0, 0
  for i = window_start(n, seconds, "h.avg"), n do
    local v = col[i]
    if v ~= nil and (num or type(v) == "number") then sum, count = sum + v, count + 1 end
  end
  if count == 0 then return nil end
  return sum / count
end

function h.max(field, seconds)
  local col, num = column(field, "h.max")
  local n = state.n
  if n == 0 then return nil end
  local acc = nil
  for i = window_start(n, seconds, "h.max"), n do
    local v = col[i]
    if v ~= nil and (num or type(v) == "number") and (acc == nil or v > acc) then acc = v end
  end
  return acc
end

function h.min(field, seconds)
  local col, num = column(field, "h.min")
  local n = state.n
  if n == 0 then return nil end
  local acc = nil
  for i = window_start(n, seconds, "h.min"), n do
    local v = col[i]
    if v ~= nil and (num or type(v) == "number") and (acc == nil or v < acc) then acc = v end
  end
  return acc
end

-- Whether v (a sample's value) satisfies `v f t`; values of another type than t never do.
-- `same` is true when the column's values are known to have t's type.
local function matches(f, v, t, same)
  if v == nil then return false end
  if not same and type(v) ~= type(t) then return false end
  return f(v, t)
end

-- How many of the newest samples in a row have `field` `f` `value`, and the seconds from the
-- oldest of them to the newest (0 when a timestamp is missing).
local function trailing_run(field, f, value, helper)
  local col, num = column(field, helper, 4)
  local same = num and type(value) == "number"
  local n = state.n
  local count, i = 0, n
  while i >= 1 and matches(f, col[i], value, same) do
    count = count + 1
    i = i - 1
  end
  if count == 0 then return 0, 0 end
  local ts, tnum = column("timestamp")
  local newest, oldest = ts[n], ts[n - count + 1]
  local span = 0
  if newest ~= nil and oldest ~= nil and (tnum or (type(newest) == "number" and type(oldest) == "number")) then
    span = newest - oldest
  end
  return count, span
end

function h.streak(field, op, value)
  local f = op_fn(op, "h.streak")
  local count, span = trailing_run(field, f, value, "h.streak")
  return count, span
end

function h.sustained(field, op, value, seconds, min_samples)
  if type(seconds) ~= "number" or seconds < 0 then
    error("h.sustained: duration must be a number of seconds", 2)
  end
  if min_samples ~= nil and type(min_samples) ~= "number" then
    error("h.sustained: min_samples must be a number", 2)
  end
  local f = op_fn(op, "h.sustained")
  local count, span = trailing_run(field, f, value, "h.sustained")
  if count == 0 then return false, 0 end
  return span >= seconds and count >= (min_samples or 2), span
end

function h.count(field, op, value, seconds)
  local f = op_fn(op, "h.count")
  local col, num = column(field, "h.count")
  local same = num and type(value) == "number"
  local n = state.n
  if n == 0 then return 0 end
  local count = 0
  for i = window_start(n, seconds, "h.count"), n do
    if matches(f, col[i], value, same) then count = count + 1 end
  end
  return count
end

function h.changes(field, value, seconds)
  local col = column(field, "h.changes")
  local n = state.n
  if n == 0 then return 0 end
  local count = 0
  for i = window_start(n, seconds, "h.changes"), n do
    if i > 1 and col[i] == value and col[i - 1] ~= value then count = count + 1 end
  end
  return count
end

function h.increase(field, seconds)
  local col, num = column(field, "h.increase")
  local n = state.n
  if n == 0 then return 0 end
  local total, prev = 0, nil
  for i = window_start(n, seconds, "h.increase"), n do
    local v = col[i]
    if v ~= nil and (num or type(v) == "number") then
      if prev ~= nil then
        if v >= prev then total = total + (v - prev) else total = total + v end
      end
      prev = v
    end
  end
  return total
end

local function slope(field, seconds, helper)
  local col, num = column(field, helper, 4)
  local n = state.n
  if n < 2 then return nil end
  local ts, tnum = column("timestamp")
  local sx, sy, sxx, sxy, count = 0, 0, 0, 0, 0
  local t0 = nil
  for i = window_start(n, seconds, helper), n do
    local t, v = ts[i], col[i]
    if t ~= nil and v ~= nil and (tnum or type(t) == "number") and (num or type(v) == "number") then
      t0 = t0 or t
      local x = t - t0
      sx, sy, sxx, sxy, count = sx + x, sy + v, sxx + x * x, sxy + x * v, count + 1
    end
  end
  if count < 2 then return nil end
  local d = count * sxx - sx * sx
  if d == 0 then return nil end
  return (count * sxy - sx * sy) / d
end

function h.slope(field, seconds)
  return slope(field, seconds, "h.slope")
end

function h.time_to(field, limit, seconds)
  if type(limit) ~= "number" then error("h.time_to: limit must be a number", 2) end
  local col, num = column(field, "h.time_to")
  local n = state.n
  if n == 0 then return nil end
  local latest = col[n]
  if latest == nil or not (num or type(latest) == "number") then return nil end
  if latest >= limit then return 0 end
  local s = slope(field, seconds, "h.time_to")
  if s == nil or s <= 0 then return nil end
  return (limit - latest) / s
end

-- "hemostat.rules.<key>" per key, built once.
local THRESHOLD_LABELS = setmetatable({}, { __index = function(t, key)
  local name = "hemostat.rules." .. key
  t[key] = name
  return name
end })

-- The alert's labels (an empty table when it has none), set once per evaluation.
local NO_LABELS = NO_COLUMN

function h.label(name, default)
  local v = state.labels[name]
  if v == nil then return default end
  return v
end

function h.label_number(name, default)
  local v = state.labels[name]
  if v == nil then return default end
  v = tonumber(v)
  if v == nil then return default end
  return v
end

local TRUE = { ["true"] = true, ["1"] = true, yes = true, on = true }
local FALSE = { ["false"] = true, ["0"] = true, no = true, off = true }
function h.label_bool(name, default)
  local v = state.labels[name]
  if v == nil then return default end
  v = lower(tostring(v))
  if TRUE[v] then return true end
  if FALSE[v] then return false end
  return default
end

function h.threshold(key)
  local v = config_real[key]
  if type(key) ~= "string" then error("h.threshold: key must be a string", 2) end
  local label = state.labels[THRESHOLD_LABELS[key]]
  if label ~= nil then
    label = tonumber(label)
    if label ~= nil then return label end
  end
  if v == nil then error("h.threshold: unknown config key '" .. key .. "'", 2) end
  return v
end

function h.anomaly(kind)
  local index = state.anomalies
  if index == nil then
    index = {}
    local list = state.alert and state.alert.anomalies
    if type(list) == "table" then
      for i = #list, 1, -1 do
        local a = list[i]
        if type(a) == "table" and a.type ~= nil then index[a.type] = seal(a) end
      end
    end
    state.anomalies = index
  end
  return index[kind]
end

local helpers = readonly(strict(h, "helper"), "h")
M.helpers = helpers

---------------------------------------------------------------------------------------------
-- the environment rule files run in
---------------------------------------------------------------------------------------------
local function lib_copy(lib)
  local t = {}
  for k, v in pairs(lib) do t[k] = v end
  return readonly(t, "library")
end

-- `next` sees through the read-only views as `pairs` does.
local function view_next(t, k)
  local f, s = pairs(t)
  if f == next then return next(t, k) end
  return f(s, k)
end

local base = {
  assert = assert, error = error, ipairs = ipairs, next = view_next, pairs = pairs,
  select = select, tonumber = tonumber, tostring = tostring, type = type,
  rawequal = rawequal, rawget = rawget, rawlen = rawlen,
  string = lib_copy(string), table = lib_copy(table), math = lib_copy(math), utf8 = lib_copy(utf8),
  _VERSION = _VERSION,
  config = config, h = helpers,
}
for name, ctor in pairs(constructors) do base[name] = ctor end
strict(base, "global")

local RULE_FIELDS = {
  name = true, priority = true, description = true, when = true, enabled = true, dry_run = true,
}

function M.load_file(text, file)
  local rules = {}
  local env = setmetatable({}, { __index = base, __metatable = false })
  env._G = env
  env.rule = with_caller(function(line, spec)
    if type(spec) ~= "table" then error("rule{...} expects a table", 0) end
    for k in pairs(spec) do
      if not RULE_FIELDS[k] then error("rule{...}: unknown field '" .. tostring(k) .. "'", 0) end
    end
    if type(spec.name) ~= "string" or spec.name == "" then error("rule{...}: name must be a non-empty string", 0) end
    if type(spec.when) ~= "function" then error("rule '" .. spec.name .. "': when must be a function(alert, h)", 0) end
    if spec.priority ~= nil and type(spec.priority) ~= "number" then error("rule '" .. spec.name .. "': priority must be a number", 0) end
    if spec.description ~= nil and type(spec.description) ~= "string" then error("rule '" .. spec.name .. "': description must be a string", 0) end
    if spec.enabled ~= nil and type(spec.enabled) ~= "boolean" then error("rule '" .. spec.name .. "': enabled must be true or false", 0) end
    if spec.dry_run ~= nil and type(spec.dry_run) ~= "boolean" then error("rule '" .. spec.name .. "': dry_run must be true or false", 0) end
    for _, r in ipairs(rules) do
      if r.name == spec.name then error("rule '" .. spec.name .. "' is defined twice in this file", 0) end
    end
    local r = {
      name = spec.name, priority = spec.priority or 0, description = spec.description or "",
      when = spec.when, enabled = spec.enabled ~= false, dry_run = spec.dry_run == true,
      file = file, line = line,
    }
    rules[#rules + 1] = r
    return r
  end)
  local chunk, err = load(text, "@" .. file, "t", env)
  if chunk == nil then return nil, err end
  chunk()
  return rules
end

---------------------------------------------------------------------------------------------
-- the evaluation loop: every rule of `whens` against one alert, each under fresh limits
---------------------------------------------------------------------------------------------
-- Outputs, reused between evaluations; entries 1..count are valid after a run:
-- rule index, value returned (false for an error), and for errors the message, the limit hit,
-- and the rule-file position.
local out_rule, out_value, out_message, out_hit, out_file, out_line = {}, {}, {}, {}, {}, {}
M.outputs = { out_rule, out_value, out_message, out_hit, out_file, out_line }

function M.make_runner(budget_reset, take_error, msgh)
  return function(whens, helpers, alert, cols, n, numeric)
    if type(alert) == "table" then
      setmetatable(alert, ALERT_MT)
      -- `projected_seconds`: the name rules read for the monitor's projected_seconds_to_limit.
      local anomalies = alert.anomalies
      if type(anomalies) == "table" then
        for i = 1, #anomalies do
          local x = anomalies[i]
          if type(x) == "table" and x.projected_seconds == nil then x.projected_seconds = x.projected_seconds_to_limit end
        end
      end
    end
    state.alert = alert
    state.anomalies = nil
    state.cols, state.n, state.numeric = cols or NO_COLUMN, n or 0, numeric or NO_COLUMN
    state.has_history, state.rows = cols ~= nil, nil
    local labels = type(alert) == "table" and alert.labels
    state.labels = type(labels) == "table" and labels or NO_LABELS
    local count = 0
    -- What the rules see is read-only (C, seal.h): one rule cannot change the next one's input.
    local input = type(alert) == "table" and seal(alert) or alert
    for i = 1, #whens do
      budget_reset()
      local ok, v = xpcall(whens[i], msgh, input, helpers)
      if not ok then
        count = count + 1
        out_rule[count], out_value[count] = i, false
        local hit, file, line = take_error()
        out_message[count] = type(v) == "string" and v or nil
        out_hit[count], out_file[count], out_line[count] = hit, file or false, line
      elseif v ~= nil then
        count = count + 1
        out_rule[count], out_value[count], out_hit[count] = i, v, -1
      end
    end
    state.alert, state.anomalies, state.cols, state.rows = nil, nil, NO_COLUMN, nil
    state.numeric, state.labels = NO_COLUMN, NO_COLUMN
    return count
  end
end

return M
