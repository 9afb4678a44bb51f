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

    enum CodingKeys: String, CodingKey {
        case host, containerID = "container_id", containerName = "container_name", image, status, healthStatus = "health_status"
        case restartCount = "restart_count", resolvedAnomalies = "resolved_anomalies", incidentID = "incident_id"
        case detectedAt = "detected_at", recoveredAt = "recovered_at", durationSeconds = "duration_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        containerID = try c.decode(String.self, forKey: .containerID, nonEmpty: true)
        containerName = try c.decode(String.self, forKey: .containerName, nonEmpty: true)
        image = try c.decode(String.self, forKey: .image)
        status = try c.decode(String.self, forKey: .status, nonEmpty: true)
        healthStatus = try c.decode(String.self, forKey: .healthStatus)
        restartCount = try c.decode(Int.self, forKey: .restartCount, minimum: 0)
        resolvedAnomalies = try c.decode([AnomalyType].self, forKey: .resolvedAnomalies)
        incidentID = try c.decode(String.self, forKey: .incidentID, nonEmpty: true)
        detectedAt = try c.decode(Date.self, forKey: .detectedAt)
        recoveredAt = try c.decode(Date.self, forKey: .recoveredAt)
    }

    /// The contract's fields and `duration_seconds`, which readers may use without computing it.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(host, forKey: .host)
        try c.encode(containerID, forKey: .containerID)
        try c.encode(containerName, forKey: .containerName)
        try c.encode(image, forKey: .image)
        try c.encode(status, forKey: .status)
        try c.encode(healthStatus, forKey: .healthStatus)
        try c.encode(restartCount, forKey: .restartCount)
        try c.encode(resolvedAnomalies, forKey: .resolvedAnomalies)
        try c.encode(incidentID, forKey: .incidentID)
        try c.encode(detectedAt, forKey: .detectedAt)
        try c.encode(recoveredAt, forKey: .recoveredAt)
        try c.encode(durationSeconds, forKey: .durationSeconds)
    }
}
