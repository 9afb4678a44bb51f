public import Foundation
public import HemoStatCore

/// What the monitor needs from a Docker engine: list, inspect, one stats reading, events.
///
/// `DockerContainerEngine` implements it over the Engine API; tests use
/// ``InMemoryContainerEngine``. Implementations are called concurrently (one cycle issues many
/// `inspect` and `stats` calls at once) and must not block the caller's thread.
public protocol ContainerEngine: Sendable {
    /// Every container on the host, in every state.
    func listContainers() async throws -> [EngineContainer]
    /// The container's current state. Throws ``ContainerEngineError`` with `.notFound` when it
    /// is gone.
    func inspect(_ id: String) async throws -> ContainerInspection
    /// One stats reading of a running container. With `waitForPrevious` the engine waits for a
    /// second reading so `previous` is filled (about a second); without, it answers at once and
    /// `previous` may be empty.
    func stats(_ id: String, waitForPrevious: Bool) async throws -> StatsReading
    /// Container events from `since` on (or from now), until the stream fails or the task is
    /// cancelled.
    func events(since: Date?) -> AsyncThrowingStream<EngineEvent, any Error>
}

/// One row of the container list.
public struct EngineContainer: Sendable, Hashable {
    public var id: String
    /// The name without Docker's leading `/`.
    public var name: String
    public var image: String
    /// `created`, `running`, `paused`, `restarting`, `exited`, `removing`, `dead`.
    public var state: String
    public var labels: [String: String]

    public init(id: String, name: String, image: String, state: String, labels: [String: String] = [:]) {
        self.id = id
        self.name = name
        self.image = image
        self.state = state
        self.labels = labels
    }
}

/// The raw counters of one stats reading, as the Engine API reports them.
public struct StatsReading: Sendable, Hashable {
    /// CPU counters at one instant.
    public struct CPU: Sendable, Hashable {
        /// Nanoseconds of CPU the container used since it started.
        public var totalUsage: UInt64
        /// Nanoseconds of CPU the host used since boot (absent on some platforms).
        public var systemUsage: UInt64
        /// CPUs the container may use.
        public var onlineCPUs: Int

        public init(totalUsage: UInt64, systemUsage: UInt64, onlineCPUs: Int) {
            self.totalUsage = totalUsage
            self.systemUsage = systemUsage
            self.onlineCPUs = onlineCPUs
        }
    }

    /// When the engine read the counters.
    public var read: Date
    public var cpu: CPU
    /// The reading before `cpu`, when the engine gave one (`system_usage` 0 when it did not).
    public var previousCPU: CPU?
    /// `memory_stats.usage`.
    public var memoryUsage: UInt64
    /// Page cache to subtract, as `docker stats` does: `inactive_file` (cgroup v2) or
    /// `total_inactive_file` (cgroup v1).
    public var memoryInactiveFile: UInt64
    /// `memory_stats.limit`: the container's limit, or the host's memory when it has none.
    public var memoryLimit: UInt64
    public var networkRxBytes: UInt64
    public var networkTxBytes: UInt64
    public var blkioReadBytes: UInt64
    public var blkioWriteBytes: UInt64
    public var pids: UInt64

    public init(
        read: Date, cpu: CPU, previousCPU: CPU? = nil, memoryUsage: UInt64, memoryInactiveFile: UInt64 = 0, memoryLimit: UInt64,
        networkRxBytes: UInt64 = 0, networkTxBytes: UInt64 = 0, blkioReadBytes: UInt64 = 0, blkioWriteBytes: UInt64 = 0, pids: UInt64 = 0
    ) {
        self.read = read
        self.cpu = cpu
        self.previousCPU = previousCPU
        self.memoryUsage = memoryUsage
        self.memoryInactiveFile = memoryInactiveFile
        self.memoryLimit = memoryLimit
        self.networkRxBytes = networkRxBytes
        self.networkTxBytes = networkTxBytes
        self.blkioReadBytes = blkioReadBytes
        self.blkioWriteBytes = blkioWriteBytes
        self.pids = pids
    }
}

/// One container event from the engine's event stream.
public struct EngineEvent: Sendable, Hashable {
    /// The event kinds the monitor follows.
    public static let followedActions: [String] = [
        "die", "oom", "kill", "stop", "health_status", "start", "restart", "destroy", "pause", "unpause",
    ]

    /// `die`, `oom`, `kill`, `stop`, `start`, `restart`, `destroy`, `pause`, `unpause`, or
    /// `health_status` (Docker sends `health_status: unhealthy`; ``healthStatus`` holds the part
    /// after the colon).
    public var action: String
    public var containerID: String
    /// The container's name, from the event's attributes.
    public var containerName: String
    /// The event's attributes (`exitCode` for `die`, `signal` for `kill`, labels, `name`, `image`).
    public var attributes: [String: String]
    /// When the engine recorded the event.
    public var time: Date
    /// For `health_status` events: `healthy`, `unhealthy` or `starting`.
    public var healthStatus: String?
    /// The engine's stream may leave out the `stop` or `kill` before a `die` (Podman 4 does,
    /// now and then), so a `die` by a signal with neither before it may still be an operator's.
    public var stopsMayBeMissing = false

    public init(action: String, containerID: String, containerName: String, attributes: [String: String] = [:], time: Date, healthStatus: String? = nil) {
        if action.hasPrefix("health_status"), healthStatus == nil {
            let parts = action.split(separator: ":", maxSplits: 1)
            self.action = "health_status"
            self.healthStatus = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : nil
        } else {
            self.action = action
            self.healthStatus = healthStatus
        }
        self.containerID = containerID
        self.containerName = containerName
        self.attributes = attributes
        self.time = time
    }

    /// The exit code a `die` event carries.
    public var exitCode: Int? { attributes["exitCode"].flatMap { Int($0) } }
}
