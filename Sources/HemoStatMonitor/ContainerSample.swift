public import HemoStatCore
public import Foundation
public import HemoStatModel

/// Everything the monitor knows about one container at one instant: its inspection and, when it
/// runs, its metrics.
public struct ContainerSample: Sendable, Hashable {
    public var container: ContainerInspection
    /// Absent for containers that are not running, or whose stats could not be read.
    public var metrics: ContainerMetrics?
    /// False when `metrics.cpuPercent` is a placeholder (first reading of a container whose
    /// engine gave no previous CPU counters).
    public var cpuKnown: Bool
    public var sampledAt: Date
    /// When the inspection behind `container` was requested (nil: at `sampledAt`). An engine
    /// event the monitor applied after this instant is newer than this sample's state.
    public var inspectedAt: Date?
    /// Why the monitor never alerts on this container (nil when it is watched).
    public var exclusion: String?

    public init(
        container: ContainerInspection, metrics: ContainerMetrics? = nil, cpuKnown: Bool = true, sampledAt: Date,
        inspectedAt: Date? = nil, exclusion: String? = nil
    ) {
        self.container = container
        self.metrics = metrics
        self.cpuKnown = cpuKnown
        self.sampledAt = sampledAt
        self.inspectedAt = inspectedAt
        self.exclusion = exclusion
    }

    public var name: String { container.name }
    public var isExcluded: Bool { exclusion != nil }
}

/// One entry of a container's recent history (`history` in `hemostat:stats:<container>`).
public struct HistoryPoint: Sendable, Hashable {
    public var timestamp: Date
    public var cpuPercent: Double?
    public var memoryPercent: Double?
    public var memoryUsage: Int?
    public var memoryLimit: Int?
    public var restartCount: Int
    public var status: String
    public var healthStatus: String

    public init(sample: ContainerSample) {
        timestamp = sample.sampledAt
        cpuPercent = sample.cpuKnown ? sample.metrics?.cpuPercent : nil
        memoryPercent = sample.metrics?.memoryPercent
        memoryUsage = sample.metrics?.memoryUsage
        memoryLimit = sample.metrics?.memoryLimit
        restartCount = sample.container.restartCount
        status = sample.container.status
        healthStatus = sample.container.healthStatus
    }

    var json: JSONValue {
        var o = ObjectBuilder()
        o.set("timestamp", timestamp.timeIntervalSince1970)
        o.set("cpu_percent", cpuPercent)
        o.set("memory_percent", memoryPercent)
        o.set("memory_usage", memoryUsage)
        o.set("restart_count", restartCount)
        o.set("status", status)
        o.set("health_status", healthStatus)
        return o.value
    }
}

/// The document stored at `hemostat:stats:<container>` (see docs/redis-keys.md), also what
/// `hemostat monitor --once --json` prints per container.
public enum StatsDocument {
    public static func json(sample: ContainerSample, host: String, anomalies: [Anomaly], history: [HistoryPoint]) -> JSONValue {
        let c = sample.container
        var o = ObjectBuilder()
        o.set("container_id", c.id)
        o.set("container_name", c.name)
        o.set("image", c.image)
        o.set("host", host)
        o.set("status", c.status)
        o.set("health_status", c.healthStatus)
        o.set("exit_code", c.exitCode)
        o.set("oom_killed", c.oomKilled)
        o.set("restart_count", c.restartCount)
        o["labels"] = .object(c.labels.mapValues(JSONValue.string))
        o["started_at"] = c.startedAt.map { .string(Timestamp.format($0)) } ?? .null
        o["finished_at"] = c.finishedAt.map { .string(Timestamp.format($0)) } ?? .null
        o.set("updated_at", sample.sampledAt)
        o.set("excluded", sample.isExcluded)
        o.set("exclusion_reason", sample.exclusion)
        o["metrics"] = sample.metrics?.json ?? .null
        o.set("cpu_known", sample.metrics == nil ? nil : sample.cpuKnown)
        o["anomalies"] = .array(anomalies.map(\.json))
        o["history"] = .array(history.map(\.json))
        return o.value
    }
}
