-- Docker health checks.

rule {
  name = "unhealthy-restart",
  priority = 500,
  description = "The health check reports unhealthy: restart it.",
  when = function(a, h)
    if a.health_status ~= "unhealthy" or a.status ~= "running" then return end
    local streak = h.streak("health_status", "==", "unhealthy")
    if streak == 0 then streak = 1 end  -- no history: the alert itself is one sample
    if streak >= config.unhealthy_min_samples then
      return restart {
        confidence = 0.8,
        reason = string.format("health check unhealthy (%d consecutive samples)", streak),
      }
    end
  end,
}
