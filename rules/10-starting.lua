-- A health check that is still `starting` is inside the container's start-up grace period.

local HARD_FAULTS = { "oom_killed", "restart_loop", "memory_growth", "non_zero_exit" }

rule {
  name = "health-starting",
  priority = 900,
  description = "Health status `starting` is not a fault unless something harder is wrong.",
  when = function(a, h)
    if a.health_status ~= "starting" or a.status ~= "running" then return end
    for _, kind in ipairs(HARD_FAULTS) do
      if h.anomaly(kind) then return end
    end
    return false_alarm { confidence = 0.9, reason = "health check still starting" }
  end,
}
