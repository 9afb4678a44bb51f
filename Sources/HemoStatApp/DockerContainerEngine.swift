public import Foundation
public import HemoStatCore
public import HemoStatDocker
import HemoStatHTTP
import HemoStatModel
public import HemoStatMonitor
public import Logging

/// ``ContainerEngine`` over the Docker Engine API (``DockerClient``).
///
/// Lists every container (`all=true`), inspects, reads one-shot stats, and follows
/// `GET /events` filtered to containers and to ``EngineEvent/followedActions``. Docker errors
/// become ``ContainerEngineError``: 404 is `.notFound`; no socket, refused connections and
/// timeouts are `.unreachable`; anything else is `.failed`.
public struct DockerContainerEngine: ContainerEngine {
    public let client: DockerClient

    public init(client: DockerClient) {
        self.client = client
    }

    /// An engine with its own HTTP client, for the host in `settings` (`docker.host`, which
    /// `DOCKER_HOST` overrides when the configuration is loaded) and its timeouts. Throws
    /// ``ContainerEngineError`` with `.failed` when the host cannot be parsed.
    public init(settings: DockerSettings, logger: Logger) throws {
        let host: DockerHost
        do {
            host = try DockerHost(parsing: settings.host)
        } catch let error as DockerError {
            throw ContainerEngineError(code: .failed, message: error.message)
        }
        let http = HTTPClient(
            configuration: HTTPClientConfiguration(connectTimeout: settings.connectTimeout, totalTimeout: settings.requestTimeout, userAgent: "HemoStat-monitor"),
            logger: logger)
        self.init(client: DockerClient(host: host, httpClient: http, logger: logger))
    }

    /// Where the engine is, as `unix:///…` or `tcp://host:port`.
    public var hostDescription: String { client.host.description }

    public func listContainers() async throws -> [EngineContainer] {
        let summaries = try await mapped { try await client.listContainers(all: true) }
        return summaries.map { summary in
            EngineContainer(id: summary.id, name: summary.name, image: summary.image ?? "", state: summary.state ?? "", labels: summary.labels)
        }
    }

    public func inspect(_ id: String) async throws -> ContainerInspection {
        let inspected = try await mapped { try await client.inspect(id) }
        return Self.inspection(inspected)
    }

    public func stats(_ id: String, waitForPrevious: Bool) async throws -> StatsReading {
        let stats = try await mapped { try await client.stats(id, oneShot: !waitForPrevious) }
        return Self.reading(stats)
    }

    /// Podman's names for ``EngineEvent/followedActions`` in its own event stream.
    static let podmanActions: [String] = EngineEvent.followedActions.map { podmanNames[$0] ?? $0 }
    /// Where Podman's own stream names an action otherwise than Docker.
    private static let podmanNames = ["die": "died", "destroy": "remove"]

    public func events(since: Date?) -> AsyncThrowingStream<EngineEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: EngineEvent.self)
        let task = Task {
            do {
                // Podman 4's Docker-compatible stream leaves out `stop` and `kill`, so an
                // operator's stop would look like a crash; its own stream has them.
                let podman = try await client.isPodman()
                let source = podman
                    ? client.podmanEvents(filters: ["type": ["container"], "event": Self.podmanActions], since: since)
                    : client.events(filters: ["type": ["container"], "event": EngineEvent.followedActions], since: since)
                for try await event in source where event.type == "container" {
                    continuation.yield(podman ? Self.podmanEvent(event) : Self.event(event))
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: Self.engineError(error))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    // MARK: Mapping

    /// The Engine API's inspect as the monitor and the responder read it. An empty health
    /// status (Podman's, for a container without a health check) is `none`; an empty restart
    /// policy is `no`.
    static func inspection(_ c: ContainerInspect) -> ContainerInspection {
        let policy = c.hostConfig?.restartPolicy?.name ?? ""
        return ContainerInspection(
            id: c.id, name: c.name, image: c.config?.image ?? c.image ?? "", status: c.state.status,
            healthStatus: c.state.health.map { $0.status.isEmpty ? "none" : $0.status } ?? "none",
            exitCode: c.state.exitCode, oomKilled: c.state.oomKilled, restartCount: c.restartCount,
            startedAt: c.state.startedDate, finishedAt: c.state.finishedDate,
            restartPolicy: policy.isEmpty ? "no" : policy, labels: c.labels)
    }

    static func reading(_ s: ContainerStats) -> StatsReading {
        func cpu(_ stats: ContainerStats.CPUStats?) -> StatsReading.CPU {
            var cpus = stats?.onlineCPUs ?? 0
            if cpus == 0 { cpus = stats?.cpuUsage?.percpuUsage?.count ?? 0 }
            return StatsReading.CPU(totalUsage: stats?.cpuUsage?.totalUsage ?? 0, systemUsage: stats?.systemCPUUsage ?? 0, onlineCPUs: max(1, cpus))
        }
        let memory = s.memoryStats
        // cgroup v1 reports both `inactive_file` (this cgroup) and `total_inactive_file` (with
        // its children); `docker stats` subtracts the latter there, `inactive_file` on v2.
        let inactive = memory?.stats["total_inactive_file"] ?? memory?.stats["inactive_file"] ?? 0
        var rx: UInt64 = 0, tx: UInt64 = 0
        for network in (s.networks ?? [:]).values {
            rx &+= network.rxBytes ?? 0
            tx &+= network.txBytes ?? 0
        }
        var read: UInt64 = 0, write: UInt64 = 0
        for entry in s.blkioStats?.ioServiceBytesRecursive ?? [] {
            switch entry.op.lowercased() {
            case "read": read &+= entry.value
            case "write": write &+= entry.value
            default: break
            }
        }
        let previous = (s.precpuStats?.systemCPUUsage ?? 0) > 0 ? cpu(s.precpuStats) : nil
        return StatsReading(
            read: DockerTime.parse(s.read) ?? Date(), cpu: cpu(s.cpuStats), previousCPU: previous,
            memoryUsage: memory?.usage ?? 0, memoryInactiveFile: inactive, memoryLimit: memory?.limit ?? 0,
            networkRxBytes: rx, networkTxBytes: tx, blkioReadBytes: read, blkioWriteBytes: write, pids: s.pidsStats?.current ?? 0)
    }

    static func event(_ e: DockerEvent) -> EngineEvent {
        EngineEvent(
            action: e.action, containerID: e.actor.id, containerName: e.name ?? String(e.actor.id.prefix(12)),
            attributes: e.actor.attributes, time: Date(timeIntervalSince1970: Double(e.timeNano) / 1e9))
    }

    /// An event of Podman's own stream, in Docker's names (``podmanNames``; a `died` carries its
    /// exit code in `containerExitCode`). Podman sends `restart` before it stops the container
    /// (Docker sends it after the new start), and now and then leaves out the `stop` that
    /// follows: the `restart` is read as that `stop`.
    static func podmanEvent(_ e: DockerEvent) -> EngineEvent {
        var event = Self.event(e)
        if let docker = podmanNames.first(where: { $0.value == e.action })?.key { event.action = docker }
        if event.action == "die", event.attributes["exitCode"] == nil {
            event.attributes["exitCode"] = event.attributes["containerExitCode"]
        }
        if event.action == "restart" { event.action = "stop" }
        event.stopsMayBeMissing = true
        return event
    }

    static func engineError(_ error: any Error) -> any Error {
        guard let docker = error as? DockerError else { return error }
        let code: ContainerEngineError.Code = switch docker.code {
        case .notFound: .notFound
        case .unreachable, .timeout: .unreachable
        default: .failed
        }
        return ContainerEngineError(code: code, message: docker.message)
    }

    private func mapped<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch {
            throw Self.engineError(error)
        }
    }
}
