public import Foundation

/// One entry of `GET /containers/json`.
public struct ContainerSummary: Decodable, Sendable, Hashable {
    public var id: String
    public var names: [String]
    public var image: String?
    public var imageID: String?
    public var command: String?
    /// Unix seconds.
    public var created: Int64?
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    public var state: String?
    /// Human text such as `Up 3 minutes (healthy)` or `Exited (3) 2 seconds ago`.
    public var status: String?
    public var labels: [String: String]

    /// The first name without its leading `/`.
    public var name: String {
        names.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? String(id.prefix(12))
    }

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", imageID = "ImageID", command = "Command"
        case created = "Created", state = "State", status = "Status", labels = "Labels"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        names = try c.decodeIfPresent([String].self, forKey: .names) ?? []
        image = try c.decodeIfPresent(String.self, forKey: .image)
        imageID = try c.decodeIfPresent(String.self, forKey: .imageID)
        command = try c.decodeIfPresent(String.self, forKey: .command)
        created = try c.decodeIfPresent(Int64.self, forKey: .created)
        state = try c.decodeIfPresent(String.self, forKey: .state)
        status = try c.decodeIfPresent(String.self, forKey: .status)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}

/// `GET /containers/{id}/json`, reduced to what HemoStat uses. Environment variables are not
/// decoded: they often hold secrets.
public struct ContainerInspect: Decodable, Sendable, Hashable {
    public var id: String
    /// Without the leading `/`.
    public var name: String
    public var created: String?
    /// The image ID (`sha256:...`); the name the container was created from is ``ContainerConfig/image``.
    public var image: String?
    public var restartCount: Int
    public var state: ContainerState
    public var config: ContainerConfig?
    public var hostConfig: ContainerHostConfig?

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", created = "Created", image = "Image", restartCount = "RestartCount"
        case state = "State", config = "Config", hostConfig = "HostConfig"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        let name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        self.name = name.hasPrefix("/") ? String(name.dropFirst()) : name
        created = try c.decodeIfPresent(String.self, forKey: .created)
        image = try c.decodeIfPresent(String.self, forKey: .image)
        restartCount = try c.decodeIfPresent(Int.self, forKey: .restartCount) ?? 0
        state = try c.decodeIfPresent(ContainerState.self, forKey: .state) ?? ContainerState()
        config = try c.decodeIfPresent(ContainerConfig.self, forKey: .config)
        hostConfig = try c.decodeIfPresent(ContainerHostConfig.self, forKey: .hostConfig)
    }

    /// Labels from the container's configuration (empty when none).
    public var labels: [String: String] { config?.labels ?? [:] }
}

/// `State` of an inspected container.
public struct ContainerState: Decodable, Sendable, Hashable {
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    public var status: String = ""
    public var running = false
    public var paused = false
    public var restarting = false
    public var oomKilled = false
    public var dead = false
    public var pid = 0
    public var exitCode = 0
    public var error: String?
    public var startedAt: String?
    public var finishedAt: String?
    /// Absent when the container has no health check.
    public var health: ContainerHealth?

    init() {}

    enum CodingKeys: String, CodingKey {
        case status = "Status", running = "Running", paused = "Paused", restarting = "Restarting"
        case oomKilled = "OOMKilled", dead = "Dead", pid = "Pid", exitCode = "ExitCode", error = "Error"
        case startedAt = "StartedAt", finishedAt = "FinishedAt", health = "Health"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decodeIfPresent(String.self, forKey: .status) ?? ""
        running = try c.decodeIfPresent(Bool.self, forKey: .running) ?? false
        paused = try c.decodeIfPresent(Bool.self, forKey: .paused) ?? false
        restarting = try c.decodeIfPresent(Bool.self, forKey: .restarting) ?? false
        oomKilled = try c.decodeIfPresent(Bool.self, forKey: .oomKilled) ?? false
        dead = try c.decodeIfPresent(Bool.self, forKey: .dead) ?? false
        pid = try c.decodeIfPresent(Int.self, forKey: .pid) ?? 0
        exitCode = try c.decodeIfPresent(Int.self, forKey: .exitCode) ?? 0
        error = try c.decodeIfPresent(String.self, forKey: .error)
        startedAt = try c.decodeIfPresent(String.self, forKey: .startedAt)
        finishedAt = try c.decodeIfPresent(String.self, forKey: .finishedAt)
        health = try c.decodeIfPresent(ContainerHealth.self, forKey: .health)
    }

    /// ``startedAt`` parsed; nil if the container never started.
    public var startedDate: Date? { DockerTime.parse(startedAt) }
    /// ``finishedAt`` parsed; nil if the container never stopped.
    public var finishedDate: Date? { DockerTime.parse(finishedAt) }
}

/// `State.Health`.
public struct ContainerHealth: Decodable, Sendable, Hashable {
    /// `starting`, `healthy` or `unhealthy`.
    public var status: String
    public var failingStreak: Int
    /// The most recent probes, oldest first (the engine keeps five).
    public var log: [HealthProbe]

    enum CodingKeys: String, CodingKey {
        case status = "Status", failingStreak = "FailingStreak", log = "Log"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decodeIfPresent(String.self, forKey: .status) ?? ""
        failingStreak = try c.decodeIfPresent(Int.self, forKey: .failingStreak) ?? 0
        log = try c.decodeIfPresent([HealthProbe].self, forKey: .log) ?? []
    }
}

/// One health check run.
public struct HealthProbe: Decodable, Sendable, Hashable {
    public var start: String?
    public var end: String?
    public var exitCode: Int
    public var output: String

    enum CodingKeys: String, CodingKey {
        case start = "Start", end = "End", exitCode = "ExitCode", output = "Output"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        start = try c.decodeIfPresent(String.self, forKey: .start)
        end = try c.decodeIfPresent(String.self, forKey: .end)
        exitCode = try c.decodeIfPresent(Int.self, forKey: .exitCode) ?? 0
        output = try c.decodeIfPresent(String.self, forKey: .output) ?? ""
    }
}

/// `Config` of an inspected container (without `Env`).
public struct ContainerConfig: Decodable, Sendable, Hashable {
    /// The image reference the container was created from, e.g. `nginx:1.27`.
    public var image: String?
    public var labels: [String: String]
    public var healthcheck: HealthcheckConfig?

    enum CodingKeys: String, CodingKey {
        case image = "Image", labels = "Labels", healthcheck = "Healthcheck"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decodeIfPresent(String.self, forKey: .image)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        healthcheck = try c.decodeIfPresent(HealthcheckConfig.self, forKey: .healthcheck)
    }
}

/// `Config.Healthcheck`; durations in nanoseconds, 0 or nil meaning the engine default.
public struct HealthcheckConfig: Decodable, Sendable, Hashable {
    /// e.g. `["CMD-SHELL", "curl -f http://localhost/"]`, or `["NONE"]`.
    public var test: [String]?
    public var interval: Int64?
    public var timeout: Int64?
    public var retries: Int?
    public var startPeriod: Int64?

    enum CodingKeys: String, CodingKey {
        case test = "Test", interval = "Interval", timeout = "Timeout", retries = "Retries", startPeriod = "StartPeriod"
    }
}

/// `HostConfig` of an inspected container, reduced to limits and restart policy.
public struct ContainerHostConfig: Decodable, Sendable, Hashable {
    /// Memory limit in bytes; 0 means none.
    public var memory: Int64?
    public var memorySwap: Int64?
    public var nanoCpus: Int64?
    public var cpuQuota: Int64?
    public var cpuPeriod: Int64?
    /// nil or 0 or -1 means unlimited.
    public var pidsLimit: Int64?
    public var restartPolicy: RestartPolicy?
    public var networkMode: String?

    enum CodingKeys: String, CodingKey {
        case memory = "Memory", memorySwap = "MemorySwap", nanoCpus = "NanoCpus", cpuQuota = "CpuQuota"
        case cpuPeriod = "CpuPeriod", pidsLimit = "PidsLimit", restartPolicy = "RestartPolicy", networkMode = "NetworkMode"
    }
}

/// `HostConfig.RestartPolicy`.
public struct RestartPolicy: Decodable, Sendable, Hashable {
    /// `""`/`no`, `always`, `unless-stopped` or `on-failure`.
    public var name: String
    public var maximumRetryCount: Int

    enum CodingKeys: String, CodingKey {
        case name = "Name", maximumRetryCount = "MaximumRetryCount"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        maximumRetryCount = try c.decodeIfPresent(Int.self, forKey: .maximumRetryCount) ?? 0
    }
}

/// `GET /version`.
public struct DockerVersionInfo: Decodable, Sendable, Hashable {
    public var version: String?
    public var apiVersion: String
    public var minAPIVersion: String?
    public var os: String?
    public var arch: String?
    public var kernelVersion: String?
    /// The parts of the engine (`Engine`, `containerd`, ... for Docker; `Podman Engine`,
    /// `Conmon`, ... for Podman).
    public var components: [Component]?

    public struct Component: Decodable, Sendable, Hashable {
        public var name: String
        public var version: String?

        enum CodingKeys: String, CodingKey { case name = "Name", version = "Version" }
    }

    /// Whether the engine is Podman's Docker-compatible API service.
    public var isPodman: Bool { components?.contains { $0.name == "Podman Engine" } ?? false }

    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", minAPIVersion = "MinAPIVersion", os = "Os"
        case arch = "Arch", kernelVersion = "KernelVersion", components = "Components"
    }
}

/// Limits changed by ``DockerClient/update(_:resources:)``; nil fields are left as they are.
public struct ResourceUpdate: Encodable, Sendable, Hashable {
    /// Memory limit in bytes. If the container has a swap limit, set ``memorySwap`` too
    /// (-1 for unlimited swap), or the engine rejects a limit above it.
    public var memory: Int64?
    public var memorySwap: Int64?
    /// CPU limit in billionths of a CPU (1.5 CPUs = 1_500_000_000).
    public var nanoCPUs: Int64?
    public var cpuQuota: Int64?
    public var cpuPeriod: Int64?
    public var pidsLimit: Int64?

    public init(memory: Int64? = nil, memorySwap: Int64? = nil, nanoCPUs: Int64? = nil,
                cpuQuota: Int64? = nil, cpuPeriod: Int64? = nil, pidsLimit: Int64? = nil) {
        self.memory = memory
        self.memorySwap = memorySwap
        self.nanoCPUs = nanoCPUs
        self.cpuQuota = cpuQuota
        self.cpuPeriod = cpuPeriod
        self.pidsLimit = pidsLimit
    }

    enum CodingKeys: String, CodingKey {
        case memory = "Memory", memorySwap = "MemorySwap", nanoCPUs = "NanoCpus", cpuQuota = "CpuQuota"
        case cpuPeriod = "CpuPeriod", pidsLimit = "PidsLimit"
    }
}

/// What a command run with ``DockerClient/exec(_:command:timeout:)`` left behind.
public struct ExecResult: Sendable, Hashable {
    public var exitCode: Int
    /// Standard output and standard error, interleaved as written.
    public var output: String
}
