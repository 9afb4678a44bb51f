/// The figures `docker stats` shows, computed the same way from stats samples.
public struct ContainerMetrics: Sendable, Hashable {
    /// Percent of one CPU, so up to 100 x online CPUs; nil when no earlier sample was usable
    /// (a one-shot sample has no `precpu_stats`).
    public var cpuPercent: Double?
    /// Memory in use minus inactive page cache (cgroup v1 `total_inactive_file`, v2
    /// `inactive_file`), as `docker stats` reports it.
    public var memoryUsage: UInt64
    /// The memory limit (the host's memory when the container has none).
    public var memoryLimit: UInt64
    /// ``memoryUsage`` / ``memoryLimit`` x 100; 0 when the limit is unknown.
    public var memoryPercent: Double
    public var networkRxBytes: UInt64
    public var networkTxBytes: UInt64
    public var blockReadBytes: UInt64
    public var blockWriteBytes: UInt64
    public var pids: UInt64

    public init(cpuPercent: Double?, memoryUsage: UInt64, memoryLimit: UInt64, memoryPercent: Double,
                networkRxBytes: UInt64, networkTxBytes: UInt64, blockReadBytes: UInt64,
                blockWriteBytes: UInt64, pids: UInt64) {
        self.cpuPercent = cpuPercent
        self.memoryUsage = memoryUsage
        self.memoryLimit = memoryLimit
        self.memoryPercent = memoryPercent
        self.networkRxBytes = networkRxBytes
        self.networkTxBytes = networkTxBytes
        self.blockReadBytes = blockReadBytes
        self.blockWriteBytes = blockWriteBytes
        self.pids = pids
    }

    /// From one sample, using its `precpu_stats` as the earlier CPU reading.
    public init(_ stats: ContainerStats) {
        self.init(previous: stats.precpuStats, current: stats)
    }

    /// From two samples of one container, `previous` taken before `current`.
    public init(previous: ContainerStats, current: ContainerStats) {
        self.init(previous: previous.cpuStats, current: current)
    }

    init(previous: ContainerStats.CPUStats?, current stats: ContainerStats) {
        cpuPercent = Self.cpuPercent(previous: previous, current: stats.cpuStats)

        let memory = stats.memoryStats
        let usage = memory?.usage ?? 0
        var used = usage
        if let inactive = memory?.stats["total_inactive_file"], inactive < usage {
            used = usage - inactive
        } else if let inactive = memory?.stats["inactive_file"], inactive < usage {
            used = usage - inactive
        }
        memoryUsage = used
        memoryLimit = memory?.limit ?? 0
        memoryPercent = memoryLimit > 0 ? Double(used) / Double(memoryLimit) * 100 : 0

        var rx: UInt64 = 0
        var tx: UInt64 = 0
        for network in (stats.networks ?? [:]).values {
            rx &+= network.rxBytes ?? 0
            tx &+= network.txBytes ?? 0
        }
        networkRxBytes = rx
        networkTxBytes = tx

        var read: UInt64 = 0
        var write: UInt64 = 0
        for entry in stats.blkioStats?.ioServiceBytesRecursive ?? [] {
            switch entry.op.lowercased().first {
            case "r": read &+= entry.value
            case "w": write &+= entry.value
            default: break
            }
        }
        blockReadBytes = read
        blockWriteBytes = write
        pids = stats.pidsStats?.current ?? 0
    }

    /// Container CPU time delta over host CPU time delta, times online CPUs, times 100.
    static func cpuPercent(previous: ContainerStats.CPUStats?, current: ContainerStats.CPUStats?) -> Double? {
        guard let current,
              let total = current.cpuUsage?.totalUsage,
              let system = current.systemCPUUsage,
              let previousTotal = previous?.cpuUsage?.totalUsage,
              let previousSystem = previous?.systemCPUUsage,
              previousSystem > 0, system > previousSystem, total >= previousTotal
        else { return nil }
        var cpus = current.onlineCPUs ?? 0
        if cpus == 0 { cpus = current.cpuUsage?.percpuUsage?.count ?? 0 }
        if cpus == 0 { cpus = 1 }
        let cpuDelta = Double(total - previousTotal)
        let systemDelta = Double(system - previousSystem)
        return cpuDelta / systemDelta * Double(cpus) * 100
    }
}
