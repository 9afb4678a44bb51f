import ArgumentParser
import Foundation
import HemoStatApp
import HemoStatCore
import HemoStatModel
import HemoStatMonitor
import HemoStatRedis
import Logging
import ServiceLifecycle

/// `hemostat monitor`: watch the Docker host, or print one sample of it.
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Watch every container on the Docker host and publish health alerts.",
        discussion: """
        Runs until SIGTERM or SIGINT. With --once, takes one sample of every container, prints it \
        and exits; that needs Docker but not Redis.
        """
    )

    @Option(name: .long, help: configFileHelp)
    var config: String?

    @Flag(name: .long, help: "Take one sample of every container, print it and exit.")
    var once = false

    @Flag(name: .long, help: "With --once: print the full JSON document of every container.")
    var json = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: HemoStatConfiguration
        do {
            configuration = try HemoStatConfiguration.load(file: config, environment: environment)
        } catch {
            for problem in error.problems { printError(problem.description) }
            throw ExitCode(1)
        }
        let logger = CommandLogging.bootstrap(level: configuration.logLevel, label: "hemostat.monitor")

        let engine: DockerContainerEngine
        do {
            engine = try DockerContainerEngine(settings: configuration.docker, logger: logger)
        } catch {
            printError("docker.host \(configuration.docker.host): \(error). \(Self.dockerHint)")
            throw ExitCode(1)
        }
        let reachable: Bool
        do {
            try await engine.client.ping()
            reachable = true
        } catch {
            reachable = false
            let message = Self.unreachableMessage(host: engine.hostDescription, source: Self.hostSource(configuration, environment), error: error)
            if once {
                printError(message)
                throw ExitCode(1)
            }
            logger.error("\(message) Retrying with backoff.")
        }

        if once {
            try await sampleOnce(configuration: configuration, engine: engine, logger: logger)
            return
        }
        if json { logger.warning("--json applies to --once only; ignored") }
        let metrics = agentMetrics(configuration, logger: logger)
        let redis = RedisClient(configuration: configuration.redis.clientConfiguration(clientName: "hemostat-monitor"), logger: logger)
        let context = AgentContext(configuration: configuration, redis: redis, logger: logger)
        let monitor = MonitorService(context: context, engine: engine)
        let heartbeat = AgentHeartbeat(agent: MonitorService.agent, context: context)
        logger.info("watching docker", metadata: ["docker.host": "\(engine.hostDescription)", "docker.reachable": "\(reachable)"])
        try await ProcessLifecycle.run(
            [NamedService(name: "monitor", service: monitor), NamedService(name: "monitor heartbeat", service: heartbeat)] + metrics,
            timeout: configuration.shutdownTimeout, logger: logger, afterwards: { redis.close() })
    }

    private func sampleOnce(configuration: HemoStatConfiguration, engine: DockerContainerEngine, logger: Logger) async throws {
        let scope = ContainerScope(configuration: configuration.monitor, ownContainerID: ContainerScope.ownContainerIDFromEnvironment())
        let sampler = ContainerSampler(engine: engine, scope: scope, concurrency: configuration.monitor.statsConcurrency)
        let round: ContainerSampler.SampleRound
        do {
            // One-shot stats carry no earlier CPU counters; ask the engine for two readings so the
            // single sample has a CPU figure.
            round = try await sampler.sampleAll(previous: [:], waitForPrevious: true, now: { Date() }, logger: logger)
        } catch {
            printError("listing containers on \(engine.hostDescription) failed: \(error)")
            throw ExitCode(1)
        }
        for (operation, count) in round.errors.sorted(by: { $0.key < $1.key }) {
            printError("\(count) \(operation) call(s) failed; those containers are shown with what the list said")
        }
        let policy = MonitorPolicy(configuration: configuration.monitor)
        let now = Date()
        let rows: [(ContainerSample, [Anomaly])] = round.samples.map { sample in
            var watch = ContainerWatch(sample: sample, policy: policy)
            _ = watch.observe(sample: sample, now: now)
            return (sample, sample.isExcluded ? [] : watch.anomalies)
        }
        if json {
            let documents = rows.map { sample, anomalies in
                StatsDocument.json(sample: sample, host: configuration.hostID, anomalies: anomalies, history: [HistoryPoint(sample: sample)])
            }
            let output: JSONValue = .object([
                "host": .string(configuration.hostID),
                "docker_host": .string(engine.hostDescription),
                "sampled_at": .string(Timestamp.format(now)),
                "containers": .array(documents),
            ])
            print(output.jsonText)
        } else {
            print(Self.table(rows))
        }
    }

    static let dockerHint = "Point HemoStat at an engine with DOCKER_HOST=unix:///path/to/docker.sock (or tcp://host:port), or docker.host in the configuration file."

    static func unreachableMessage(host: String, source: String, error: any Error) -> String {
        "Cannot reach the Docker engine at \(host) (\(source)): \(error). \(dockerHint)"
    }

    static func hostSource(_ configuration: HemoStatConfiguration, _ environment: [String: String]) -> String {
        if let value = environment["DOCKER_HOST"], !value.isEmpty { return "from DOCKER_HOST" }
        if configuration.docker.host != DockerSettings().host { return "from docker.host in the configuration" }
        return "the default; neither DOCKER_HOST nor docker.host is set"
    }

    static func table(_ rows: [(ContainerSample, [Anomaly])]) -> String {
        var lines = [["NAME", "STATE", "HEALTH", "CPU %", "MEM %", "MEM", "LIMIT", "PIDS", "RESTARTS", "EXIT", "NOTES"]]
        for (sample, anomalies) in rows {
            let c = sample.container
            let m = sample.metrics
            var notes: [String] = []
            if let exclusion = sample.exclusion { notes.append("excluded: \(exclusion)") }
            if c.oomKilled { notes.append("oom-killed") }
            notes += anomalies.map(\.type.rawValue)
            lines.append([
                c.name, c.status, c.healthStatus,
                m.map { sample.cpuKnown ? String(format: "%.1f", $0.cpuPercent) : "-" } ?? "",
                m.map { String(format: "%.1f", $0.memoryPercent) } ?? "",
                m.map { bytes($0.memoryUsage) } ?? "", m.map { bytes($0.memoryLimit) } ?? "", m.map { String($0.pids) } ?? "",
                String(c.restartCount), c.isRunning ? "" : String(c.exitCode), notes.joined(separator: ", "),
            ])
        }
        let widths = (0..<lines[0].count).map { column in lines.map { $0[column].count }.max() ?? 0 }
        let text = lines.map { line in
            line.enumerated().map { index, cell in
                index == line.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return (text + ["\(rows.count) containers"]).joined(separator: "\n")
    }

    static func bytes(_ value: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value)B" : String(format: "%.1f%@", amount, units[unit])
    }
}

/// Process-wide logging for the commands: one `StreamLogHandler` on standard error.
enum CommandLogging {
    private static let bootstrapped = BootstrapOnce()

    /// Bootstraps swift-log once per process and returns a logger at `level`.
    static func bootstrap(level: Logger.Level, label: String) -> Logger {
        bootstrapped.run {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// Runs a closure at most once.
/// `@unchecked Sendable`: `done` is only read or written while holding `lock`.
private final class BootstrapOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    func run(_ body: () -> Void) {
        lock.withLock {
            guard !done else { return }
            done = true
            body()
        }
    }
}
