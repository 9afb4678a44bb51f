public import Foundation

/// How bad an anomaly is. Ordered: `info < warning < critical`.
public enum Severity: String, Sendable, Hashable, CaseIterable, Comparable, Codable {
    case info
    case warning
    case critical

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Other producers' names for the three severities, in any case: `low` and `debug` are
    /// info; `warn`, `medium` and `moderate` are warning; `high`, `error`, `severe` and `fatal`
    /// are critical.
    static let synonyms: [String: Severity] = [
        "info": .info, "low": .info, "debug": .info,
        "warning": .warning, "warn": .warning, "medium": .warning, "moderate": .warning,
        "critical": .critical, "high": .critical, "error": .critical, "severe": .critical, "fatal": .critical,
    ]

    /// Reads a severity by its name or a synonym (``synonyms``); anything else is an error
    /// naming the field.
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let severity = Self(rawValue: raw) ?? Self.synonyms[raw.lowercased()] else {
            throw MessageDecodingError.invalid(decoder.codingPath, "expected one of info, warning, critical (or low, medium, high), found \(MessageDecodingError.quote(raw))")
        }
        self = severity
    }
}

/// What made the monitor look at a container.
public enum AlertSource: String, Sendable, Hashable, ContractEnum {
    /// The periodic stats and inspect poll.
    case poll
    /// A Docker event (die, oom, health_status) seen on the event stream.
    case event
}

/// The kind of an anomaly. Open-ended: rules may match kinds HemoStat itself does not produce.
public struct AnomalyType: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    /// CPU above the threshold for the sustained number of samples.
    public static let highCPU: AnomalyType = "high_cpu"
    /// Memory above the threshold for the sustained number of samples.
    public static let highMemory: AnomalyType = "high_memory"
    /// Memory growing so that the limit is reached within the configured horizon.
    public static let memoryGrowth: AnomalyType = "memory_growth"
    /// The container's health check reports unhealthy.
    public static let unhealthy: AnomalyType = "unhealthy"
    /// The container exited with a non-zero code.
    public static let exited: AnomalyType = "exited"
    /// The container exited with a non-zero code that no operator stop explains (what the
    /// monitor reports for a crash).
    public static let nonZeroExit: AnomalyType = "non_zero_exit"
    /// The container was stopped or killed through the API (`stopped_by_operator` is true).
    public static let containerStopped: AnomalyType = "container_stopped"
    /// The kernel killed the container for exceeding its memory limit.
    public static let oomKilled: AnomalyType = "oom_killed"
    /// The container restarted more often than allowed within the window.
    public static let restartLoop: AnomalyType = "restart_loop"
}

/// One observation that crossed a threshold.
public struct Anomaly: Sendable, Hashable, Codable {
    public var type: AnomalyType
    public var severity: Severity
    /// The observed value (percent, count, exit code, ... depending on `type`).
    public var value: Double
    /// The threshold it crossed.
    public var threshold: Double
    /// A sentence for humans.
    public var message: String?
    /// For growth anomalies: seconds until the limit is reached at the current rate.
    public var projectedSecondsToLimit: Double?

    public init(type: AnomalyType, severity: Severity, value: Double, threshold: Double, message: String? = nil, projectedSecondsToLimit: Double? = nil) {
        self.type = type
        self.severity = severity
        self.value = value
        self.threshold = threshold
        self.message = message
        self.projectedSecondsToLimit = projectedSecondsToLimit
    }

    enum CodingKeys: String, CodingKey {
        case type, severity, value, threshold, message
        case projectedSecondsToLimit = "projected_seconds_to_limit"
    }

    /// `value` and `threshold` may be absent (0), as the original HemoStat's monitor writes
    /// anomalies.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = AnomalyType(rawValue: try c.decode(String.self, forKey: .type, nonEmpty: true))
        severity = try c.decode(Severity.self, forKey: .severity)
        value = try c.decodeIfPresent(Double.self, forKey: .value) ?? 0
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? 0
        message = try c.decodeIfPresent(String.self, forKey: .message)
        projectedSecondsToLimit = try c.decodeIfPresent(Double.self, forKey: .projectedSecondsToLimit)
    }
}

/// A running container's resource use, from one Docker stats sample.
public struct ContainerMetrics: Sendable, Hashable, Codable {
    /// CPU use in percent of the CPUs available to the container.
    public var cpuPercent: Double
    /// Memory use (without page cache) in percent of the limit.
    public var memoryPercent: Double
    /// Bytes of memory in use.
    public var memoryUsage: Int
    /// The memory limit in bytes (the host's memory when the container has none).
    public var memoryLimit: Int
    public var networkRxBytes: Int
    public var networkTxBytes: Int
    public var blkioReadBytes: Int
    public var blkioWriteBytes: Int
    /// Processes and threads in the container.
    public var pids: Int

    public init(
        cpuPercent: Double, memoryPercent: Double, memoryUsage: Int, memoryLimit: Int,
        networkRxBytes: Int = 0, networkTxBytes: Int = 0, blkioReadBytes: Int = 0, blkioWriteBytes: Int = 0, pids: Int = 0
    ) {
        self.cpuPercent = cpuPercent
        self.memoryPercent = memoryPercent
        self.memoryUsage = memoryUsage
        self.memoryLimit = memoryLimit
        self.networkRxBytes = networkRxBytes
        self.networkTxBytes = networkTxBytes
        self.blkioReadBytes = blkioReadBytes
        self.blkioWriteBytes = blkioWriteBytes
        self.pids = pids
    }

    enum CodingKeys: String, CodingKey {
        case cpuPercent = "cpu_percent", memoryPercent = "memory_percent", memoryUsage = "memory_usage", memoryLimit = "memory_limit"
        case networkRxBytes = "network_rx_bytes", networkTxBytes = "network_tx_bytes"
        case blkioReadBytes = "blkio_read_bytes", blkioWriteBytes = "blkio_write_bytes", pids
    }

    /// `pids` may be absent (0), as the original HemoStat's monitor writes metrics.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpuPercent = try c.decode(Double.self, forKey: .cpuPercent, in: .nonNegative)
        memoryPercent = try c.decode(Double.self, forKey: .memoryPercent, in: .nonNegative)
        memoryUsage = try c.decode(Int.self, forKey: .memoryUsage, minimum: 0)
        memoryLimit = try c.decode(Int.self, forKey: .memoryLimit, minimum: 0)
        networkRxBytes = try c.decode(Int.self, forKey: .networkRxBytes, minimum: 0)
        networkTxBytes = try c.decode(Int.self, forKey: .networkTxBytes, minimum: 0)
        blkioReadBytes = try c.decode(Int.self, forKey: .blkioReadBytes, minimum: 0)
        blkioWriteBytes = try c.decode(Int.self, forKey: .blkioWriteBytes, minimum: 0)
        pids = try c.decodeIfPresent(Int.self, forKey: .pids, minimum: 0) ?? 0
    }
}

/// `hemostat:health_alert` (Monitor -> Analyzer): a container shows one or more anomalies.
public struct HealthAlert: ContainerPayload {
    public static let channel = Channel.healthAlert
    /// The Docker host of the container; nil when the message leaves it to its envelope's `host`.
    public var host: String?
    /// The original HemoStat monitor publishes its alerts as `container_unhealthy`.
    public static let alternativeEventTypes: Set<String> = ["container_unhealthy"]

    public var containerID: String
    public var containerName: String
    public var image: String
    /// Docker's state: `created`, `running`, `paused`, `restarting`, `exited`, `dead`, ...
    public var status: String
    /// The health check's state: `healthy`, `unhealthy`, `starting`, or `none`.
    public var healthStatus: String
    public var exitCode: Int
    public var oomKilled: Bool
    public var restartCount: Int
    public var labels: [String: String]
    /// True when an operator stopped the container (docker stop / kill through the API): such
    /// a container is not to be healed. False when the monitor saw it go down on its own (or it
    /// is not down); nil when it was down and the monitor did not see how (down when first
    /// seen, or the event stream was away).
    public var stoppedByOperator: Bool?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Absent for containers that are not running.
    public var metrics: ContainerMetrics?
    public var anomalies: [Anomaly]
    public var source: AlertSource
    public var incidentID: String
    /// When the monitor first saw the problem of this incident.
    public var detectedAt: Date

    public init(
        containerID: String, containerName: String, image: String, status: String, healthStatus: String,
        exitCode: Int = 0, oomKilled: Bool = false, restartCount: Int = 0, labels: [String: String] = [:],
        stoppedByOperator: Bool? = false, startedAt: Date? = nil, finishedAt: Date? = nil, metrics: ContainerMetrics? = nil,
        anomalies: [Anomaly], source: AlertSource, incidentID: String = UUID().uuidString.lowercased(), detectedAt: Date = Date(), host: String? = nil
    ) {
        self.host = host
        self.containerID = containerID
        self.containerName = containerName
        self.image = image
        self.status = status
        self.healthStatus = healthStatus
        self.exitCode = exitCode
        self.oomKilled = oomKilled
        self.restartCount = restartCount
        self.labels = labels
        self.stoppedByOperator = stoppedByOperator
        self.startedAt = startedAt.map(Timestamp.normalized)
        self.finishedAt = finishedAt.map(Timestamp.normalized)
        self.metrics = metrics
        self.anomalies = anomalies
        self.source = source
        self.incidentID = incidentID
        self.detectedAt = Timestamp.normalized(detectedAt)
    }

    /// The highest severity among the anomalies, nil when there are none.
    public var highestSeverity: Severity? { anomalies.map(\.severity).max() }

    enum CodingKeys: String, CodingKey {
        case host, containerID = "container_id", containerName = "container_name", image, status, healthStatus = "health_status"
        case exitCode = "exit_code", oomKilled = "oom_killed", restartCount = "restart_count", labels
        case stoppedByOperator = "stopped_by_operator", startedAt = "started_at", finishedAt = "finished_at"
        case metrics, anomalies, source, incidentID = "incident_id", detectedAt = "detected_at"
    }

    /// Also reads an alert as the original HemoStat's monitor writes it: `labels`,
    /// `stopped_by_operator`, `metrics.pids` and an anomaly's `value` and `threshold` may be
    /// absent (no labels, unknown, 0, 0), and a severity may be `low`, `medium` or `high`
    /// (``Severity/synonyms``). Read inside an envelope, `incident_id` and `detected_at` may be
    /// absent too: they are then the message's id and time.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        containerID = try c.decode(String.self, forKey: .containerID, nonEmpty: true)
        containerName = try c.decode(String.self, forKey: .containerName, nonEmpty: true)
        image = try c.decode(String.self, forKey: .image)
        status = try c.decode(String.self, forKey: .status, nonEmpty: true)
        healthStatus = try c.decode(String.self, forKey: .healthStatus)
        exitCode = try c.decode(Int.self, forKey: .exitCode)
        oomKilled = try c.decode(Bool.self, forKey: .oomKilled)
        restartCount = try c.decode(Int.self, forKey: .restartCount, minimum: 0)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        stoppedByOperator = try c.decodeIfPresent(Bool.self, forKey: .stoppedByOperator)
        startedAt = try c.decodeIfPresent(Date.self, forKey: .startedAt)
        finishedAt = try c.decodeIfPresent(Date.self, forKey: .finishedAt)
        metrics = try c.decodeIfPresent(ContainerMetrics.self, forKey: .metrics)
        anomalies = try c.decode([Anomaly].self, forKey: .anomalies)
        source = try c.decode(AlertSource.self, forKey: .source)
        if let envelope = decoder.envelope {
            incidentID = try c.decodeNonEmptyIfPresent(String.self, forKey: .incidentID) ?? envelope.id
            detectedAt = try c.decodeIfPresent(Date.self, forKey: .detectedAt) ?? envelope.timestamp
        } else {
            incidentID = try c.decode(String.self, forKey: .incidentID, nonEmpty: true)
            detectedAt = try c.decode(Date.self, forKey: .detectedAt)
        }
    }
}

extension ContainerMetrics {
    /// The `metrics` object of a health alert and of the stats document.
    package var json: JSONValue { JSONValueEncoder().encode(self) }
}

extension Anomaly {
    /// One element of the `anomalies` array of a health alert and of the stats document.
    package var json: JSONValue { JSONValueEncoder().encode(self) }
}
