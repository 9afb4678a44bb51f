-- Exits and crash loops.

local function exited(a)
  return a.status == "exited" or a.status == "dead"
end

rule {
  name = "crash-loop",
  priority = 800,
  description = "Restarting again and again does not help: stop restarting and call a human.",
  when = function(a, h)
    local window = config.restart_loop_window_seconds
    local restarts = h.increase("restart_count", window)
    local loop = h.anomaly("restart_loop")
    if loop or restarts >= h.threshold("restart_loop_count") then
      local seen = loop and loop.message
        or string.format("%.0f restarts in the last %.0f s", restarts, window)
      return escalate {
        confidence = 0.95,
        reason = string.format("crash loop: %s (restart count %.0f)", seen, a.restart_count or 0),
      }
    end
  end,
}

rule {
  name = "oom-restart",
  priority = 700,
  description = "Killed by the kernel for running out of memory: start it again.",
  when = function(a, h)
    if a.oom_killed or h.anomaly("oom_killed") then
      return restart { confidence = 0.9, reason = "killed by the OOM killer" }
    end
  end,
}

rule {
  name = "crash-restart",
  priority = 600,
  description = "Exited with a non-zero code: restart it.",
  when = function(a, h)
    if exited(a) and (a.exit_code or 0) ~= 0 then
      return restart {
        confidence = 0.85,
        reason = string.format("exited with code %d", a.exit_code),
      }
    end
  end,
}
