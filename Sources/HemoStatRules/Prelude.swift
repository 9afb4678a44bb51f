/// The Lua code that builds the sandbox every rule file runs in: the verdict constructors,
/// the history helpers `h`, the read-only `config` table and `rule{…}` registration.
///
/// It runs once per Lua state with the base, string, table, math and utf8 libraries open,
/// receives `(with_caller, function_line, thresholds)` and returns the module table the
/// runtime drives (`load_file`, `state`, `helpers`, `verdict_mt`). Rule files never see the
/// state's real globals: each file gets its own environment whose fallback is a read-only
/// whitelist.
enum Prelude {
    static let chunkName = "=hemostat"

    static let source = #"""
local with_caller, function_line, thresholds = ...

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
local state = { alert = nil, anomalies = nil, cols = nil, n = 0, has_history = false, rows = nil }
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
local FIELDS = { confidence = true, reason = true, dry_run = true, params = true, fallback = true, action = true }

local function is_verdict(v)
  return type(v) == "table" and getmetatable(v) == VERDICT
end
M.is_verdict = is_verdict

local function make_verdict(line, kind, action, spec, ctor)
  if type(spec) == "string" then spec = { reason = spec } end
  if spec == nil then spec = {} end
  if type(spec) ~= "table" or is_verdict(spec) then
    error(ctor .. "{...} expects a table of fields", 0)
  end
  for k in pairs(spec) do
    if not FIELDS[k] then error(ctor .. "{...}: unknown field '" .. tostring(k) .. "'", 0) end
  end
  if spec.action ~= nil and ctor ~= "act" then
    error(ctor .. "{...}: field 'action' is only for act{...}", 0)
  end
  if spec.fallback ~= nil and kind ~= "ambiguous" then
    error(ctor .. "{...}: field 'fallback' is only for ambiguous{...}", 0)
  end
  local confidence = spec.confidence
  if confidence == nil then confidence = 1 end
  if type(confidence) ~= "number" or confidence ~= confidence or confidence < 0 or confidence > 1 then
    error(ctor .. "{...}: confidence must be a number from 0 to 1", 0)
  end
  local reason = spec.reason
  if type(reason) ~= "string" or reason == "" then
    error(ctor .. "{...}: reason must be a non-empty string", 0)
  end
  if spec.dry_run ~= nil and type(spec.dry_run) ~= "boolean" then
    error(ctor .. "{...}: dry_run must be true or false", 0)
  end
  if spec.params ~= nil and type(spec.params) ~= "table" then
    error(ctor .. "{...}: params must be a table", 0)
  end
  local fallback = spec.fallback
  if kind == "ambiguous" then
    if fallback ~= nil and not is_verdict(fallback) then
      error("ambiguous{...}: fallback must be a verdict such as restart{...} or false_alarm{...}", 0)
    end
    if fallback ~= nil and fallback.kind == "ambiguous" then
      error("ambiguous{...}: fallback cannot itself be ambiguous", 0)
    end
  end
  if kind == "act" and action == nil then
    action = spec.action
    if type(action) ~= "string" or not ACTIONS[action] then
      error("act{...}: action must be one of restart, start, stop, kill, pause, unpause, update_resources, exec, notify, none", 0)
    end
  end
  return setmetatable({
    kind = kind, action = action or "none", confidence = confidence, reason = reason,
    dry_run = spec.dry_run == true, params = spec.params, fallback = fallback,
    line = line,
  }, VERDICT)
end

local constructors = {}
for action in pairs(ACTIONS) do
  if action ~= "none" then
    constructors[action] = with_caller(function(line, spec)
      return make_verdict(line, "act", action, spec, action)
    end)
  end
end
constructors.act = with_caller(function(line, spec)
  return make_verdict(line, "act", nil, spec, "act")
end)
constructors.false_alarm = with_caller(function(line, spec)
  return make_verdict(line, "false_alarm", "none", spec, "false_alarm")
end)
constructors.escalate = with_caller(function(line, spec)
  return make_verdict(line, "escalate", "notify", spec, "escalate")
end)
constructors.ambiguous = with_caller(function(line, spec)
  return make_verdict(line, "ambiguous", "none", spec, "ambiguous")
end)

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
-- first), state.n samples in all. Rows (one table per sample) are built only when a rule asks
-- for them (`a.history`, `h.samples`), once per evaluation.
local NO_COLUMN = setmetatable({}, { __newindex = function() error("read-only", 2) end })

local function column(field)
  return state.cols[field] or NO_COLUMN
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
  local ts = column("timestamp")
  local newest = ts[n]
  if type(newest) ~= "number" then return n end
  local from = newest - seconds
  local i = n
  while i > 1 do
    local t = ts[i - 1]
    if type(t) ~= "number" or t < from then break end
    i = i - 1
  end
  return i
end

local function compare(f, v, t)
  if v == nil then return false end
  if type(v) ~= type(t) then return false end
  return f(v, t)
end

local h = {}

function h.now()
  local n = state.n
  if n == 0 then return nil end
  return column("timestamp")[n]
end

function h.span()
  local n = state.n
  if n < 2 then return 0 end
  local ts = column("timestamp")
  local newest, oldest = ts[n], ts[1]
  if type(newest) ~= "number" or type(oldest) ~= "number" then return 0 end
  return newest - oldest
end

function h.latest(field)
  check_field(field, "h.latest")
  local n = state.n
  if n == 0 then return nil end
  return column(field)[n]
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
  check_field(field, "h.values")
  local n = state.n
  local out = {}
  if n == 0 then return out end
  local col = column(field)
  for i = window_start(n, seconds, "h.values"), n do
    local v = col[i]
    if type(v) == "number" then out[#out + 1] = v end
  end
  return out
end

function h.avg(field, seconds)
  check_field(field, "h.avg")
  local n = state.n
  if n == 0 then return nil end
  local col, sum, count = column(field), 0, 0
  for i = window_start(n, seconds, "h.avg"), n do
    local v = col[i]
    if type(v) == "number" then sum, count = sum + v, count + 1 end
  end
  if count == 0 then return nil end
  return sum / count
end

function h.max(field, seconds)
  check_field(field, "h.max")
  local n = state.n
  if n == 0 then return nil end
  local col, acc = column(field), nil
  for i = window_start(n, seconds, "h.max"), n do
    local v = col[i]
    if type(v) == "number" and (acc == nil or v > acc) then acc = v end
  end
  return acc
end

function h.min(field, seconds)
  check_field(field, "h.min")
  local n = state.n
  if n == 0 then return nil end
  local col, acc = column(field), nil
  for i = window_start(n, seconds, "h.min"), n do
    local v = col[i]
    if type(v) == "number" and (acc == nil or v < acc) then acc = v end
  end
  return acc
end

-- How many of the newest samples in a row have `field` `f` `value`, and the seconds from the
-- oldest of them to the newest (0 when a timestamp is missing).
local function trailing_run(field, f, value)
  local n = state.n
  local col = column(field)
  local count, i = 0, n
  while i >= 1 and compare(f, col[i], value) do
    count = count + 1
    i = i - 1
  end
  if count == 0 then return 0, 0 end
  local ts = column("timestamp")
  local newest, oldest = ts[n], ts[n - count + 1]
  local span = 0
  if type(newest) == "number" and type(oldest) == "number" then span = newest - oldest end
  return count, span
end

function h.streak(field, op, value)
  check_field(field, "h.streak")
  local f = op_fn(op, "h.streak")
  local count, span = trailing_run(field, f, value)
  return count, span
end

function h.sustained(field, op, value, seconds, min_samples)
  check_field(field, "h.sustained")
  if type(seconds) ~= "number" or seconds < 0 then
    error("h.sustained: duration must be a number of seconds", 2)
  end
  if min_samples ~= nil and type(min_samples) ~= "number" then
    error("h.sustained: min_samples must be a number", 2)
  end
  local f = op_fn(op, "h.sustained")
  local count, span = trailing_run(field, f, value)
  if count == 0 then return false, 0 end
  return span >= seconds and count >= (min_samples or 2), span
end

function h.count(field, op, value, seconds)
  check_field(field, "h.count")
  local f = op_fn(op, "h.count")
  local n = state.n
  if n == 0 then return 0 end
  local col, count = column(field), 0
  for i = window_start(n, seconds, "h.count"), n do
    if compare(f, col[i], value) then count = count + 1 end
  end
  return count
end

function h.changes(field, value, seconds)
  check_field(field, "h.changes")
  local n = state.n
  if n == 0 then return 0 end
  local col, count = column(field), 0
  for i = window_start(n, seconds, "h.changes"), n do
    if i > 1 and col[i] == value and col[i - 1] ~= value then count = count + 1 end
  end
  return count
end

function h.increase(field, seconds)
  check_field(field, "h.increase")
  local n = state.n
  if n == 0 then return 0 end
  local col, total, prev = column(field), 0, nil
  for i = window_start(n, seconds, "h.increase"), n do
    local v = col[i]
    if type(v) == "number" then
      if prev ~= nil then
        if v >= prev then total = total + (v - prev) else total = total + v end
      end
      prev = v
    end
  end
  return total
end

local function slope(field, seconds, helper)
  local n = state.n
  if n < 2 then return nil end
  local ts, col = column("timestamp"), column(field)
  local sx, sy, sxx, sxy, count = 0, 0, 0, 0, 0
  local t0 = nil
  for i = window_start(n, seconds, helper), n do
    local t, v = ts[i], col[i]
    if type(t) == "number" and type(v) == "number" then
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
  check_field(field, "h.slope")
  return slope(field, seconds, "h.slope")
end

function h.time_to(field, limit, seconds)
  check_field(field, "h.time_to")
  if type(limit) ~= "number" then error("h.time_to: limit must be a number", 2) end
  local n = state.n
  if n == 0 then return nil end
  local latest = column(field)[n]
  if type(latest) ~= "number" then return nil end
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

function h.label(name, default)
  local labels = state.alert and state.alert.labels
  local v = type(labels) == "table" and labels[name] or nil
  if v == nil then return default end
  return v
end

function h.label_number(name, default)
  local v = tonumber(h.label(name, nil))
  if v == nil then return default end
  return v
end

local TRUE = { ["true"] = true, ["1"] = true, yes = true, on = true }
local FALSE = { ["false"] = true, ["0"] = true, no = true, off = true }
function h.label_bool(name, default)
  local v = h.label(name, nil)
  if v == nil then return default end
  v = lower(tostring(v))
  if TRUE[v] then return true end
  if FALSE[v] then return false end
  return default
end

function h.threshold(key)
  if type(key) ~= "string" then error("h.threshold: key must be a string", 2) end
  local v = tonumber(h.label(THRESHOLD_LABELS[key], nil))
  if v ~= nil then return v end
  v = config_real[key]
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
        if type(a) == "table" and a.type ~= nil then index[a.type] = a end
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

local base = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
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
  return function(whens, helpers, alert, cols, n)
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
    state.cols, state.n, state.has_history, state.rows = cols or NO_COLUMN, n or 0, cols ~= nil, nil
    local count = 0
    for i = 1, #whens do
      budget_reset()
      local ok, v = xpcall(whens[i], msgh, alert, helpers)
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
    return count
  end
end

return M
"""#
}
