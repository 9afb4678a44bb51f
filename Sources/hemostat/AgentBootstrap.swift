import ArgumentParser
import Foundation
import HemoStatCore
import HemoStatDashboard
import HemoStatRedis
import Logging
import Metrics
import Prometheus

/// Loads the configuration (`--config FILE`) and builds what a command needs to talk to Redis.
/// Configuration problems are printed as `file:line: problem` and end the command with exit 1.
struct CommandEnvironment {
    let configuration: HemoStatConfiguration
    let context: AgentContext

    init(configFile: String?, label: String, bootstrapLogging: Bool) throws {
        let configuration: HemoStatConfiguration
        do {
            configuration = try HemoStatConfiguration.load(file: configFile, environment: ProcessInfo.processInfo.environment)
        } catch {
            for problem in error.problems { printError(problem.description) }
            throw ExitCode(1)
        }
        if bootstrapLogging {
            LoggingSystem.bootstrap(StreamLogHandler.standardError)
        }
        var logger = Logger(label: label)
        logger.logLevel = bootstrapLogging ? configuration.logLevel : .error
        let redis = RedisClient(configuration: configuration.redis.clientConfiguration(clientName: label), logger: logger)
        self.configuration = configuration
        self.context = AgentContext(configuration: configuration, redis: redis, logger: logger)
    }
}

/// Parses `90s`, `30m`, `2h`, `1d`, `500ms` or a number of seconds.
func parseDuration(_ text: String) -> Duration? {
    let raw = text.trimmingCharacters(in: .whitespaces).lowercased()
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
    for (suffix, scale) in units where raw.hasSuffix(suffix) {
        if let number = Double(raw.dropLast(suffix.count)), number.isFinite, number > 0 {
            return .milliseconds(Int64((number * scale * 1000).rounded()))
        }
    }
    if let number = Double(raw), number.isFinite, number > 0 { return .milliseconds(Int64((number * 1000).rounded())) }
    return nil
}

/// The help of every command's `--config` option: the search order of ``FileLocations``.
let configFileHelp: ArgumentHelp =
    "The YAML file (default: $HEMOSTAT_CONFIG, else config/hemostat.yaml, else /etc/hemostat/hemostat.yaml, if present)."

/// `/metrics` and `/healthz` for an agent run as a process of its own, when
/// `dashboard.metrics_port` is set: bootstraps the metrics system with a Prometheus registry
/// (call it before any agent is made, as agents make their metrics when they start) and returns
/// the endpoint to run beside the agent; none otherwise.
func agentMetrics(_ configuration: HemoStatConfiguration, logger: Logger) -> [NamedService] {
    guard configuration.dashboard.metricsPort > 0 else { return [] }
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    let endpoint = MetricsEndpoint(
        host: configuration.dashboard.bindAddress, port: configuration.dashboard.metricsPort, registry: registry, logger: logger)
    return [NamedService(name: "metrics", service: endpoint)]
}
