import Foundation

/// A container started by ``FaultContainers``.
public struct FaultContainer: Sendable, Hashable {
    public var name: String
    public var id: String

    public init(name: String, id: String) {
        self.name = name
        self.id = id
    }
}

/// The misbehaviours ``FaultContainers`` can start.
public enum FaultKind: Sendable, Hashable {
    /// Runs for `after` seconds, then exits with `exitCode`.
    case crash(exitCode: Int = 1, after: Int = 1)
    /// Like ``crash(exitCode:after:)`` under a restart policy (`on-failure`, `on-failure:3`,
    /// `always`), so the engine restarts it again and again.
    case crashLoop(exitCode: Int = 1, after: Int = 1, policy: String = "on-failure")
    /// Doubles a string under a 16 MiB limit until the kernel OOM-kills it.
    case oomKill
    /// Grows by about 256 KiB a second under a 64 MiB limit: minutes before it hits the limit.
    case memoryGrowth
    /// A busy loop using one CPU.
    case cpuHog
    /// Sleeps; its health check always fails (interval 1 s, 1 retry).
    case unhealthy
    /// Sleeps; its health check always passes (interval 1 s).
    case healthy
    /// Runs `script` with `sh -c`; `arguments` to ``FaultContainers/start(_:labels:arguments:)``
    /// add whatever else it needs (limits, a health check).
    case script(String)
}

/// Starts misbehaving containers on the private test engine through the `docker` CLI, and
/// removes them. Every container runs `--network none`, is labelled `hemostat.test=1`, and has
/// a unique name starting with the prefix given at init.
public final class FaultContainers: Sendable {
    public let prefix: String
    public let dockerHost: String
    public let image: String
    private let created = CreatedNames()

    /// Reads the engine (unless given) and image from ``TestEnvironment``; throws when they
    /// are not set.
    public init(prefix: String = TestEnvironment.uniquePrefix("fault"), dockerHost: String? = nil) throws {
        self.prefix = prefix
        self.dockerHost = try dockerHost ?? TestEnvironment.dockerHost()
        image = try TestEnvironment.image()
    }

    /// Runs `docker <arguments>` against the test engine (`DOCKER_API_VERSION=1.41`).
    @discardableResult
    public func docker(_ arguments: [String]) async throws -> ProcessOutput {
        try await TestProcess.check(["docker"] + arguments,
                                    environment: ["DOCKER_HOST": dockerHost, "DOCKER_API_VERSION": "1.41"])
    }

    /// Starts a container of `kind`; `labels` and `arguments` are added to `docker run`.
    public func start(_ kind: FaultKind, labels: [String: String] = [:], arguments: [String] = []) async throws -> FaultContainer {
        let name = "\(prefix)-\(UUID().uuidString.prefix(6).lowercased())"
        var run = ["run", "-d", "--name", name, "--network", "none", "--label", "hemostat.test=1"]
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) { run += ["--label", "\(key)=\(value)"] }
        let script: String
        switch kind {
        case .crash(let exitCode, let after):
            script = "sleep \(after); exit \(exitCode)"
        case .crashLoop(let exitCode, let after, let policy):
            run += ["--restart", policy]
            script = "sleep \(after); exit \(exitCode)"
        case .oomKill:
            run += ["-m", "16m", "--memory-swap", "16m"]
            script = "x=aaaaaaaaaaaaaaaa; while true; do x=\"$x$x\"; done"
        case .memoryGrowth:
            run += ["-m", "64m", "--memory-swap", "64m"]
            script = "x=''; while true; do x=\"$x$(head -c 262144 /dev/zero | tr '\\0' a)\"; sleep 1; done"
        case .cpuHog:
            script = "while :; do :; done"
        case .unhealthy:
            run += ["--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1"]
            script = "sleep 3600"
        case .healthy:
            run += ["--health-cmd", "true", "--health-interval", "1s"]
            script = "sleep 3600"
        case .script(let text):
            script = text
        }
        created.add(name)
        let output = try await docker(run + arguments + [image, "sh", "-c", script])
        return FaultContainer(name: name, id: output.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Force-removes `container`; errors are ignored.
    public func remove(_ container: FaultContainer) async {
        _ = try? await TestProcess.run(["docker", "rm", "-f", "-v", container.name],
                                       environment: ["DOCKER_HOST": dockerHost, "DOCKER_API_VERSION": "1.41"])
        created.remove(container.name)
    }

    /// Force-removes every container this instance started.
    public func removeAll() async {
        let names = created.all()
        guard !names.isEmpty else { return }
        _ = try? await TestProcess.run(["docker", "rm", "-f", "-v"] + names,
                                       environment: ["DOCKER_HOST": dockerHost, "DOCKER_API_VERSION": "1.41"])
        for name in names { created.remove(name) }
    }
}

/// Names of containers started and not yet removed.
/// `@unchecked Sendable`: `names` is only touched while holding `lock`.
private final class CreatedNames: @unchecked Sendable {
    private let lock = NSLock()
    private var names: Set<String> = []
    func add(_ name: String) { lock.withLock { _ = names.insert(name) } }
    func remove(_ name: String) { lock.withLock { _ = names.remove(name) } }
    func all() -> [String] { lock.withLock { names.sorted() } }
}
