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

    var json: JSONValue { JSONValueEncoder().encode(self) }
}

extension HistoryPoint: Encodable {
    enum CodingKeys: String, CodingKey {
        case timestamp, cpuPercent = "cpu_percent", memoryPercent = "memory_percent", memoryUsage = "memory_usage"
        case restartCount = "restart_count", status, healthStatus = "health_status"
    }

    /// `timestamp` in seconds since 1970, as the rules' history helpers read it; no
    /// `memory_limit` (the document's `metrics` has it).
    public func encode(to encoder: any Encoder) throws {
        var o = encoder.container(keyedBy: CodingKeys.self)
        try o.encode(timestamp.timeIntervalSince1970, forKey: .timestamp)
        try o.encodeIfPresent(cpuPercent, forKey: .cpuPercent)
        try o.encodeIfPresent(memoryPercent, forKey: .memoryPercent)
        try o.encodeIfPresent(memoryUsage, forKey: .memoryUsage)
        try o.encode(restartCount, forKey: .restartCount)
        try o.encode(status, forKey: .status)
        try o.encode(healthStatus, forKey: .healthStatus)
    }
}

/// The document stored at `hemostat:stats:<container>` (see docs/redis-keys.md), also what
/// `hemostat monitor --once --json` prints per container.
public struct StatsDocument: Encodable {
    var containerID: String
    var containerName: String
    var image: String
    var host: String
    var status: String
    var healthStatus: String
    var exitCode: Int
    var oomKilled: Bool
    var restartCount: Int
    var labels: [String: String]
    var startedAt: WrittenAsNull<Date>
    var finishedAt: WrittenAsNull<Date>
    var updatedAt: Date
    var excluded: Bool
    var exclusionReason: String?
    /// Null for a container that is not running.
    var metrics: WrittenAsNull<ContainerMetrics>
    /// Absent without metrics.
    var cpuKnown: Bool?
    var anomalies: [Anomaly]
    var history: [HistoryPoint]

    enum CodingKeys: String, CodingKey {
        case containerID = "container_id", containerName = "container_name", image, host, status, healthStatus = "health_status"
        case exitCode = "exit_code", oomKilled = "oom_killed", restartCount = "restart_count", labels
        case startedAt = "started_at", finishedAt = "finished_at", updatedAt = "updated_at", excluded
        case exclusionReason = "exclusion_reason", metrics, cpuKnown = "cpu_known", anomalies, history
    }

    public static func json(sample: ContainerSample, host: String, anomalies: [Anomaly], history: [HistoryPoint]) -> JSONValue {
        let c = sample.container
        let document = StatsDocument(
            containerID: c.id, containerName: c.name, image: c.image, host: host, status: c.status, healthStatus: c.healthStatus,
            exitCode: c.exitCode, oomKilled: c.oomKilled, restartCount: c.restartCount, labels: c.labels,
            startedAt: WrittenAsNull(c.startedAt), finishedAt: WrittenAsNull(c.finishedAt), updatedAt: sample.sampledAt, excluded: sample.isExcluded,
            exclusionReason: sample.exclusion, metrics: WrittenAsNull(sample.metrics), cpuKnown: sample.metrics == nil ? nil : sample.cpuKnown,
            anomalies: anomalies, history: history
        )
        return JSONValueEncoder().encode(document)
    }

}

/// An optional field the stats document writes as `null` when it is nil, where an optional is
/// otherwise left out (its readers have always found these three present).
struct WrittenAsNull<Wrapped: Encodable>: Encodable {
    var value: Wrapped?

    init(_ value: Wrapped?) {
        self.value = value
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}
