public import HemoStatModel

/// CPU and memory figures computed as `docker stats` computes them.
public enum MetricMath {
    /// CPU use in percent of one CPU times the CPUs available (a container using two full CPUs
    /// shows 200): the container's CPU time delta over the host's, times the online CPUs.
    /// `nil` when the readings do not allow it (no previous reading, counters reset, no host
    /// time elapsed).
    public static func cpuPercent(current: StatsReading.CPU, previous: StatsReading.CPU?) -> Double? {
        guard let previous, previous.systemUsage > 0, current.systemUsage > previous.systemUsage,
              current.totalUsage >= previous.totalUsage else { return nil }
        let cpuDelta = Double(current.totalUsage - previous.totalUsage)
        let systemDelta = Double(current.systemUsage - previous.systemUsage)
        let cpus = Double(max(1, current.onlineCPUs))
        return cpuDelta / systemDelta * cpus * 100
    }

    /// Memory in use without the inactive page cache, as `docker stats` shows it.
    public static func memoryUsage(_ reading: StatsReading) -> UInt64 {
        reading.memoryInactiveFile < reading.memoryUsage ? reading.memoryUsage - reading.memoryInactiveFile : reading.memoryUsage
    }

    /// The metrics of one reading. CPU comes from the reading's own previous counters when the
    /// engine filled them, else from `earlier` (the same container's reading of the last cycle);
    /// `cpuKnown` is false when neither allows it (then `cpuPercent` is 0).
    public static func metrics(_ reading: StatsReading, earlier: StatsReading?) -> (metrics: ContainerMetrics, cpuKnown: Bool) {
        let ownPrevious = reading.previousCPU.flatMap { $0.systemUsage > 0 ? $0 : nil }
        let cpu = cpuPercent(current: reading.cpu, previous: ownPrevious ?? earlier?.cpu)
        let used = memoryUsage(reading)
        let percent = reading.memoryLimit > 0 ? Double(used) / Double(reading.memoryLimit) * 100 : 0
        let metrics = ContainerMetrics(
            cpuPercent: cpu ?? 0, memoryPercent: percent, memoryUsage: clamp(used), memoryLimit: clamp(reading.memoryLimit),
            networkRxBytes: clamp(reading.networkRxBytes), networkTxBytes: clamp(reading.networkTxBytes),
            blkioReadBytes: clamp(reading.blkioReadBytes), blkioWriteBytes: clamp(reading.blkioWriteBytes), pids: clamp(reading.pids))
        return (metrics, cpu != nil)
    }

    /// Least-squares line through `points` (x seconds, y bytes): slope per second and r².
    /// `nil` for fewer than two points or no spread in x.
    public static func linearFit(_ points: [(x: Double, y: Double)]) -> (slope: Double, intercept: Double, r2: Double)? {
        guard points.count >= 2 else { return nil }
        let n = Double(points.count)
        let meanX = points.reduce(0) { $0 + $1.x } / n
        let meanY = points.reduce(0) { $0 + $1.y } / n
        var sxx = 0.0, sxy = 0.0, syy = 0.0
        for p in points {
            sxx += (p.x - meanX) * (p.x - meanX)
            sxy += (p.x - meanX) * (p.y - meanY)
            syy += (p.y - meanY) * (p.y - meanY)
        }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        let r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1
        return (slope, meanY - slope * meanX, r2)
    }

    private static func clamp(_ value: UInt64) -> Int { value > UInt64(Int.max) ? Int.max : Int(value) }
}
