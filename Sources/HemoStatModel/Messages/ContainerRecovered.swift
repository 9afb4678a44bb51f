public import Foundation

/// `hemostat:container_recovered` (Monitor -> Alert): a container whose incident was announced by
/// a `health_alert` shows no anomaly any more. Carries the incident's id, so the alert agent can
/// close the thread it opened.
public struct ContainerRecovered: ContainerPayload {
    public static let channel = Channel.containerRecovered
    /// The Docker host of the container; nil when the message leaves it to its envelope's `host`.
    public var host: String?

    public var containerID: String
    public var containerName: String
    public var image: String
    /// Docker's state now (`running`, or `exited` with code 0 for a finished job).
    public var status: String
    /// The health check's state now.
    public var healthStatus: String
    public var restartCount: Int
    /// The anomaly types the incident had.
    public var resolvedAnomalies: [AnomalyType]
    public var incidentID: String
    /// When the incident was first detected.
    public var detectedAt: Date
    /// When the monitor saw the container healthy again.
    public var recoveredAt: Date

    public init(
        containerID: String, containerName: String, image: String, status: String, healthStatus: String,
        restartCount: Int = 0, resolvedAnomalies: [AnomalyType], incidentID: String, detectedAt: Date, recoveredAt: Date, host: String? = nil
    ) {
        self.host = host
        self.containerID = containerID
        self.containerName = containerName
        self.image = image
        self.status = status
        self.healthStatus = healthStatus
        self.restartCount = restartCount
        self.resolvedAnomalies = resolvedAnomalies
        self.incidentID = incidentID
        self.detectedAt = Timestamp.normalized(detectedAt)
        self.recoveredAt = Timestamp.normalized(recoveredAt)
    }

    /// Seconds from detection to recovery.
    public var durationSeconds: Double { recoveredAt.timeIntervalSince(detectedAt) }

    public init(json: JSONValue, path: String) throws(MessageDecodingError) {
        let reader = try ObjectReader(json, path: path)
        host = try reader.optionalString("host")
        containerID = try reader.string("container_id", nonEmpty: true)
        containerName = try reader.string("container_name", nonEmpty: true)
        image = try reader.string("image")
        status = try reader.string("status", nonEmpty: true)
        healthStatus = try reader.string("health_status")
        restartCount = try reader.int("restart_count", minimum: 0)
        resolvedAnomalies = try reader.stringArray("resolved_anomalies").map(AnomalyType.init(rawValue:))
        incidentID = try reader.string("incident_id", nonEmpty: true)
        detectedAt = try reader.date("detected_at")
        recoveredAt = try reader.date("recovered_at")
    }

    public var json: JSONValue {
        var o = ObjectBuilder()
        o.set("host", host)
        o.set("container_id", containerID)
        o.set("container_name", containerName)
        o.set("image", image)
        o.set("status", status)
        o.set("health_status", healthStatus)
        o.set("restart_count", restartCount)
        o.set("resolved_anomalies", resolvedAnomalies.map(\.rawValue))
        o.set("incident_id", incidentID)
        o.set("detected_at", detectedAt)
        o.set("recovered_at", recoveredAt)
        o.set("duration_seconds", durationSeconds)
        return o.value
    }
}
