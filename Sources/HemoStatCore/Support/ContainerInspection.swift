public import Foundation

/// What an engine's `inspect` says about one container, as the monitor and the responder read
/// it (the adapters map the Docker Engine API's answer to it).
public struct ContainerInspection: Sendable, Hashable {
    public var id: String
    /// The name without Docker's leading `/`.
    public var name: String
    /// The image reference the container was created from.
    public var image: String
    /// Docker's state: `created`, `running`, `paused`, `restarting`, `exited`, `removing`, `dead`.
    public var status: String
    /// `healthy`, `unhealthy`, `starting`, or `none` when the container has no health check.
    public var healthStatus: String
    public var exitCode: Int
    public var oomKilled: Bool
    /// How often the engine restarted it by its restart policy.
    public var restartCount: Int
    public var startedAt: Date?
    public var finishedAt: Date?
    /// `no`, `always`, `unless-stopped`, `on-failure` (empty counts as `no`).
    public var restartPolicy: String
    public var labels: [String: String]

    public init(
        id: String, name: String, image: String = "", status: String, healthStatus: String = "none", exitCode: Int = 0,
        oomKilled: Bool = false, restartCount: Int = 0, startedAt: Date? = nil, finishedAt: Date? = nil,
        restartPolicy: String = "no", labels: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.image = image
        self.status = status
        self.healthStatus = healthStatus
        self.exitCode = exitCode
        self.oomKilled = oomKilled
        self.restartCount = restartCount
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.restartPolicy = restartPolicy
        self.labels = labels
    }

    public var isRunning: Bool { status == "running" }
    public var isPaused: Bool { status == "paused" }
    /// Exited or dead: it ran, and its process is gone.
    public var isDown: Bool { status == "exited" || status == "dead" }
    /// Exited, dead or never started: the process is gone and the engine is not bringing it back.
    public var isStopped: Bool { status == "exited" || status == "dead" || status == "created" }
    /// Whether the container has a health check.
    public var hasHealthCheck: Bool { healthStatus != "none" }
}
