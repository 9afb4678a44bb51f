public import Foundation

/// How bad an anomaly is. Ordered: `info < warning < critical`.
public enum Severity: String, Sendable, Hashable, CaseIterable, Comparable {
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
    init(reading reader: ObjectReader, _ key: String) throws(MessageDecodingError) {
        let raw = try reader.string(key)
        guard let severity = Self.synonyms[raw.lowercased()] else {
            throw .invalid(reader.fieldPath(key), "expected one of info, warning, critical (or low, medium, high), found \(MessageDecodingError.quote(raw))")
        }
        self = severity
    }
}

/// What made the monitor look at a container.
public enum AlertSource: String, Sendable, Hashable, CaseIterable {
    /// The periodic stats and inspect poll.
    case poll
    /// A Docker event (die, oom, health_status) seen on the event stream.
    case event
}

/// The kind of an anomaly. Open-ended: rules may match kinds HemoStat itself does not produce.
public struct AnomalyType: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
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
public struct Anomaly: Sendable, Hashable {
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
}

/// A running container's resource use, from one Docker stats sample.
public struct ContainerMetrics: Sendable, Hashable {
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

    public init(json: JSONValue, path: String) throws(MessageDecodingError) {
        try self.init(json: json, path: path, defaults: nil)
    }

    /// Reads an alert as the original HemoStat's monitor writes it too: `labels`,
    /// `stopped_by_operator`, `metrics.pids`, an anomaly's `value` and `threshold`,
    /// `incident_id` and `detected_at` may be absent (no labels, false, 0, 0, the message id,
    /// the message's time), and a severity may be `low`, `medium` or `high` (``Severity/init(reading:)``).
    public init(json: JSONValue, path: String, envelope: EnvelopeFields) throws(MessageDecodingError) {
        try self.init(json: json, path: path, defaults: envelope)
    }

    private init(json: JSONValue, path: String, defaults envelope: EnvelopeFields?) throws(MessageDecodingError) {
        let reader = try ObjectReader(json, path: path)
        host = try reader.optionalString("host")
        containerID = try reader.string("container_id", nonEmpty: true)
        containerName = try reader.string("container_name", nonEmpty: true)
        image = try reader.string("image")
        status = try reader.string("status", nonEmpty: true)
        healthStatus = try reader.string("health_status")
        exitCode = try reader.int("exit_code")
        oomKilled = try reader.bool("oom_killed")
        restartCount = try reader.int("restart_count", minimum: 0)
        labels = reader.optionalValue("labels") == nil ? [:] : try reader.stringMap("labels")
        stoppedByOperator = try reader.optionalBool("stopped_by_operator")
        startedAt = try reader.optionalDate("started_at")
        finishedAt = try reader.optionalDate("finished_at")
        if let m = try reader.optionalObject("metrics") {
            metrics = ContainerMetrics(
                cpuPercent: try m.double("cpu_percent", range: 0...Double.greatestFiniteMagnitude),
                memoryPercent: try m.double("memory_percent", range: 0...Double.greatestFiniteMagnitude),
                memoryUsage: try m.int("memory_usage", minimum: 0),
                memoryLimit: try m.int("memory_limit", minimum: 0),
                networkRxBytes: try m.int("network_rx_bytes", minimum: 0),
                networkTxBytes: try m.int("network_tx_bytes", minimum: 0),
                blkioReadBytes: try m.int("blkio_read_bytes", minimum: 0),
                blkioWriteBytes: try m.int("blkio_write_bytes", minimum: 0),
                pids: try m.optionalInt("pids", minimum: 0) ?? 0
            )
        } else {
            metrics = nil
        }
        var anomalies: [Anomaly] = []
        for element in try reader.array("anomalies") {
            let a = try ObjectReader(element.value, path: element.path)
            anomalies.append(Anomaly(
                type: AnomalyType(rawValue: try a.string("type", nonEmpty: true)),
                severity: try Severity(reading: a, "severity"),
                value: try a.optionalDouble("value") ?? 0,
                threshold: try a.optionalDouble("threshold") ?? 0,
                message: try a.optionalString("message"),
                projectedSecondsToLimit: try a.optionalDouble("projected_seconds_to_limit")
            ))
        }
        self.anomalies = anomalies
        source = try reader.enumeration("source", AlertSource.self)
        if let envelope {
            incidentID = try reader.optionalString("incident_id").flatMap { $0.isEmpty ? nil : $0 } ?? envelope.id
            detectedAt = try reader.optionalDate("detected_at") ?? envelope.timestamp
        } else {
            incidentID = try reader.string("incident_id", nonEmpty: true)
            detectedAt = try reader.date("detected_at")
        }
    }

    public var json: JSONValue {
        var o = ObjectBuilder()
        o.set("host", host)
        o.set("container_id", containerID)
        o.set("container_name", containerName)
        o.set("image", image)
        o.set("status", status)
        o.set("health_status", healthStatus)
        o.set("exit_code", exitCode)
        o.set("oom_killed", oomKilled)
        o.set("restart_count", restartCount)
        o["labels"] = .object(labels.mapValues(JSONValue.string))
        o.set("stopped_by_operator", stoppedByOperator)
        o.set("started_at", startedAt)
        o.set("finished_at", finishedAt)
        o.set("metrics", metrics?.json)
        o["anomalies"] = .array(anomalies.map(\.json))
        o.set("source", source.rawValue)
        o.set("incident_id", incidentID)
        o.set("detected_at", detectedAt)
        return o.value
    }
}

extension ContainerMetrics {
    /// The `metrics` object of a health alert and of the stats document.
    package var json: JSONValue {
        var m = ObjectBuilder()
        m.set("cpu_percent", cpuPercent)
        m.set("memory_percent", memoryPercent)
        m.set("memory_usage", memoryUsage)
        m.set("memory_limit", memoryLimit)
        m.set("network_rx_bytes", networkRxBytes)
        m.set("network_tx_bytes", networkTxBytes)
        m.set("blkio_read_bytes", blkioReadBytes)
        m.set("blkio_write_bytes", blkioWriteBytes)
        m.set("pids", pids)
        return m.value
    }
}

extension Anomaly {
    /// One element of the `anomalies` array of a health alert and of the stats document.
    package var json: JSONValue {
        var a = ObjectBuilder()
        a.set("type", type.rawValue)
        a.set("severity", severity.rawValue)
        a.set("value", value)
        a.set("threshold", threshold)
        a.set("message", message)
        a.set("projected_seconds_to_limit", projectedSecondsToLimit)
        return a.value
    }
}
