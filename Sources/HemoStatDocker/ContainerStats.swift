/// `GET /containers/{id}/stats`: one sample. Decodes both cgroup v1 engines (Engine 20.10:
/// `percpu_usage`, `total_inactive_file`, blkio lists) and cgroup v2 engines (`inactive_file`,
/// no `percpu_usage`, null blkio lists). Every field is optional.
public struct ContainerStats: Decodable, Sendable, Hashable {
    public var read: String?
    public var preread: String?
    public var id: String?
    /// With a leading `/`.
    public var name: String?
    public var pidsStats: PidsStats?
    public var cpuStats: CPUStats?
    /// The previous sample's CPU figures (all zero in a one-shot sample).
    public var precpuStats: CPUStats?
    public var memoryStats: MemoryStats?
    /// Absent with `--network none`.
    public var networks: [String: NetworkStats]?
    public var blkioStats: BlkioStats?

    enum CodingKeys: String, CodingKey {
        case read, preread, id, name, networks
        case pidsStats = "pids_stats", cpuStats = "cpu_stats", precpuStats = "precpu_stats"
        case memoryStats = "memory_stats", blkioStats = "blkio_stats"
    }

    public struct PidsStats: Decodable, Sendable, Hashable {
        public var current: UInt64?
        public var limit: UInt64?
    }

    public struct CPUStats: Decodable, Sendable, Hashable {
        public var cpuUsage: CPUUsage?
        /// Host CPU time in nanoseconds, all CPUs.
        public var systemCPUUsage: UInt64?
        public var onlineCPUs: Int?
        public var throttlingData: ThrottlingData?

        enum CodingKeys: String, CodingKey {
            case cpuUsage = "cpu_usage", systemCPUUsage = "system_cpu_usage", onlineCPUs = "online_cpus"
            case throttlingData = "throttling_data"
        }
    }

    public struct CPUUsage: Decodable, Sendable, Hashable {
        /// Container CPU time in nanoseconds.
        public var totalUsage: UInt64?
        /// cgroup v1 only.
        public var percpuUsage: [UInt64]?
        public var usageInKernelmode: UInt64?
        public var usageInUsermode: UInt64?

        enum CodingKeys: String, CodingKey {
            case totalUsage = "total_usage", percpuUsage = "percpu_usage"
            case usageInKernelmode = "usage_in_kernelmode", usageInUsermode = "usage_in_usermode"
        }
    }

    public struct ThrottlingData: Decodable, Sendable, Hashable {
        public var periods: UInt64?
        public var throttledPeriods: UInt64?
        public var throttledTime: UInt64?

        enum CodingKeys: String, CodingKey {
            case periods, throttledPeriods = "throttled_periods", throttledTime = "throttled_time"
        }
    }

    public struct MemoryStats: Decodable, Sendable, Hashable {
        public var usage: UInt64?
        /// cgroup v1 only.
        public var maxUsage: UInt64?
        public var limit: UInt64?
        public var failcnt: UInt64?
        /// The cgroup's memory.stat counters; names differ between cgroup v1 and v2. Entries
        /// that are not unsigned integers are skipped.
        public var stats: [String: UInt64]

        enum CodingKeys: String, CodingKey {
            case usage, maxUsage = "max_usage", limit, failcnt, stats
        }

        public init(usage: UInt64? = nil, maxUsage: UInt64? = nil, limit: UInt64? = nil, failcnt: UInt64? = nil, stats: [String: UInt64] = [:]) {
            self.usage = usage
            self.maxUsage = maxUsage
            self.limit = limit
            self.failcnt = failcnt
            self.stats = stats
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            usage = try? c.decodeIfPresent(UInt64.self, forKey: .usage)
            maxUsage = try? c.decodeIfPresent(UInt64.self, forKey: .maxUsage)
            limit = try? c.decodeIfPresent(UInt64.self, forKey: .limit)
            failcnt = try? c.decodeIfPresent(UInt64.self, forKey: .failcnt)
            let raw = (try? c.decodeIfPresent([String: LenientUInt64].self, forKey: .stats)) ?? nil
            stats = raw?.compactMapValues(\.value) ?? [:]
        }
    }

    public struct NetworkStats: Decodable, Sendable, Hashable {
        public var rxBytes: UInt64?
        public var rxPackets: UInt64?
        public var rxErrors: UInt64?
        public var rxDropped: UInt64?
        public var txBytes: UInt64?
        public var txPackets: UInt64?
        public var txErrors: UInt64?
        public var txDropped: UInt64?

        enum CodingKeys: String, CodingKey {
            case rxBytes = "rx_bytes", rxPackets = "rx_packets", rxErrors = "rx_errors", rxDropped = "rx_dropped"
            case txBytes = "tx_bytes", txPackets = "tx_packets", txErrors = "tx_errors", txDropped = "tx_dropped"
        }
    }

    public struct BlkioStats: Decodable, Sendable, Hashable {
        /// Null on cgroup v2 engines except ``ioServiceBytesRecursive``.
        public var ioServiceBytesRecursive: [BlkioEntry]?
        public var ioServicedRecursive: [BlkioEntry]?

        enum CodingKeys: String, CodingKey {
            case ioServiceBytesRecursive = "io_service_bytes_recursive", ioServicedRecursive = "io_serviced_recursive"
        }
    }

    public struct BlkioEntry: Decodable, Sendable, Hashable {
        public var major: UInt64?
        public var minor: UInt64?
        /// `Read`, `Write`, `Sync`, `Async`, `Total` (v1) or `read`, `write` (v2).
        public var op: String
        public var value: UInt64

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            major = try? c.decodeIfPresent(UInt64.self, forKey: .major)
            minor = try? c.decodeIfPresent(UInt64.self, forKey: .minor)
            op = try c.decodeIfPresent(String.self, forKey: .op) ?? ""
            value = (try? c.decodeIfPresent(UInt64.self, forKey: .value)) ?? 0
        }

        enum CodingKeys: String, CodingKey { case major, minor, op, value }
    }
}

/// A number that may also be negative, fractional or not a number at all.
private struct LenientUInt64: Decodable {
    var value: UInt64?
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        value = try? c.decode(UInt64.self)
    }
}
