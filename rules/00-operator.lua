-- Containers an operator stopped on purpose are not faults: HemoStat leaves them alone.

rule {
  name = "operator-stop",
  priority = 1000,
  description = "A stop or kill through the Docker API preceded the exit: not a fault.",
  when = function(a, h)
    if a.stopped_by_operator then
      return false_alarm { confidence = 1.0, reason = "stopped by an operator" }
    end
  end,
}
