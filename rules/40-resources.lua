-- CPU and memory: act on what lasts or is heading for a limit, not on a single reading.

rule {
  name = "memory-growth",
  priority = 450,
  description = "Memory is climbing toward the limit: restart before the OOM killer does.",
  when = function(a, h)
    local horizon = h.threshold("memory_growth_horizon_seconds")
    local eta
    local growth = h.anomaly("memory_growth")
    if growth and type(growth.projected_seconds) == "number" then
      eta = growth.projected_seconds
    elseif (h.latest("memory_percent") or 0) >= h.threshold("memory_growth_min_percent") then
      eta = h.time_to("memory_percent", 100, config.trend_window_seconds)
    end
    if eta and eta <= horizon then
      return restart {
        confidence = 0.75,
        reason = string.format("memory at %.0f%% and projected to reach the limit in %.0f s",
          h.latest("memory_percent") or (a.metrics and a.metrics.memory_percent) or 0, eta),
      }
    end
  end,
}

rule {
  name = "cpu-sustained",
  priority = 400,
  description = "High CPU that lasts is a fault; a short spike is a false alarm.",
  when = function(a, h)
    local limit = h.threshold("cpu_percent")
    local cpu = a.metrics and a.metrics.cpu_percent or 0
    if not h.anomaly("high_cpu") and cpu < limit then return end
    local duration = config.sustained_seconds
    local sustained, span = h.sustained("cpu_percent", ">=", limit, duration, config.sustained_samples)
    if sustained then
      return restart {
        confidence = 0.7,
        reason = string.format("CPU at or above %.0f%% for %.0f s", limit, span),
      }
    end
    -- Still high now but not yet for the whole window: an LLM may judge it now; without one it
    -- is not decided yet, and the analyzer evaluates the incident again with each new sample,
    -- and when the window is due, until the load has lasted or gone.
    local latest = h.latest("cpu_percent") or cpu
    if latest >= limit then
      return ambiguous {
        reason = string.format("CPU at or above %.0f%% for %.0f s of the %.0f s that make it sustained", limit, span, duration),
        fallback = recheck {
          after = math.max(1, math.min(86400, duration - span)),
          confidence = 0.5, reason = "CPU high, not yet shown to be sustained",
        },
      }
    end
    return false_alarm {
      confidence = 0.8,
      reason = string.format("CPU spike shorter than %.0f s (avg %.0f%% over the window)",
        duration, h.avg("cpu_percent", duration)),
    }
  end,
}

rule {
  name = "memory-high-stable",
  priority = 350,
  description = "High but flat memory use is not heading for an OOM: leave it, or ask.",
  when = function(a, h)
    if not h.anomaly("high_memory") then return end
    local slope = h.slope("memory_percent", config.trend_window_seconds)
    if slope ~= nil and slope <= 0 then
      return false_alarm { confidence = 0.6, reason = "memory high but not growing" }
    end
    return ambiguous {
      reason = "memory high; trend unclear",
      fallback = false_alarm { confidence = 0.4, reason = "memory high; no growth shown" },
    }
  end,
}
