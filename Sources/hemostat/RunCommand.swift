import ArgumentParser
import Foundation
import HemoStatAlert
import HemoStatAnalyzer
import HemoStatApp
import HemoStatCore
import HemoStatDashboard
import HemoStatDocker
import HemoStatHTTP
import HemoStatMonitor
import HemoStatRedis
import HemoStatResponder
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `hemostat run`: every agent and the dashboard in one process.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the monitor, analyzer, responder, alert agent and dashboard in one process.",
        discussion: """
            With no configuration it watches the local Docker engine (DOCKER_HOST, else \
            unix:///var/run/docker.sock) and uses Redis from REDIS_URL or localhost:6379; when \
            no Redis was configured and none answers there, it starts a private redis-server in \
            its state directory, says so, and stops it on exit. The dashboard, /metrics, \
            /healthz and /readyz are served on dashboard.bind_address:dashboard.port \
            (default http://127.0.0.1:8080). SIGTERM or SIGINT stops it gracefully: an action \
            in progress finishes first.
            """
    )

    @Option(name: .long, help: configFileHelp)
    var config: String?

    @Flag(name: .long, help: "Run the whole pipeline but never change a container (the responder's dry-run).")
    var dryRun = false

    @Flag(name: .long, help: "Do not serve the dashboard (and /metrics, /healthz, /readyz).")
    var noDashboard = false

    func run() async throws {
        let report = try loadConfigurationReport(file: config)
        let configuration = report.configuration
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "hemostat")

        let http = HTTPClient(logger: logger)
        let docker = try makeDockerClient(configuration: configuration, logger: logger)
        try await requireDocker(docker, configuration: configuration)

        let (redisConfiguration, embedded) = try await connectRedis(report: report, logger: logger)
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        let context = AgentContext(configuration: configuration, redis: redis, logger: logger)

        let monitor = MonitorService(context: context, engine: DockerContainerEngine(client: docker))
        let analyzer: AnalyzerService
        do {
            analyzer = try AnalyzerService(context: context, llmTransport: AnalyzerCommand.llmTransport(configuration, logger: logger))
        } catch {
            printError("hemostat: \(error)")
            throw ExitCode(1)
        }
        let responder = ResponderService(context: context, engine: DockerRemediationEngine(client: docker), dryRun: dryRun ? true : nil)
        let alert = AlertService(context: context, transport: HTTPNotificationTransport(client: http))

        var services: [NamedService] = [
            NamedService(name: "monitor", service: monitor),
            NamedService(name: "monitor heartbeat", service: AgentHeartbeat(agent: MonitorService.agent, context: context)),
            NamedService(name: "analyzer", service: analyzer),
            NamedService(name: "analyzer heartbeat", service: AgentHeartbeat(agent: AnalyzerService.agent, context: context)),
            NamedService(name: "responder", service: responder),
            NamedService(name: "responder heartbeat", service: responder.heartbeat()),
            NamedService(name: "alert", service: alert),
            NamedService(name: "alert heartbeat", service: AgentHeartbeat(agent: AlertService.agentName, context: context)),
        ]
        if !noDashboard {
            services.append(NamedService(
                name: "dashboard",
                service: try makeDashboard(configuration: configuration, redis: redis, registry: registry, docker: docker, logger: logger)))
        }
        logger.notice("HemoStat \(HemoStatVersion.current) running", metadata: [
            "host": "\(configuration.hostID)",
            "docker": "\(configuration.docker.host)",
            "redis": "\(embedded == nil ? configuration.redis.displayURL : "private redis-server (\(redisConfiguration.endpoint))")",
            "dashboard": "\(noDashboard ? "off" : "http://\(configuration.dashboard.bindAddress):\(configuration.dashboard.port)")",
            "dry_run": "\(dryRun || configuration.responder.dryRun)",
            "llm": "\(configuration.analyzer.llm.provider == .none || configuration.analyzer.llm.apiKey == nil && configuration.analyzer.llm.provider != .openaiCompatible ? "off (rules only)" : configuration.analyzer.llm.provider.rawValue)",
        ])
        do {
            try await ProcessLifecycle.run(
                services, timeout: configuration.shutdownTimeout, logger: logger,
                afterwards: {
                    http.shutdown()
                    redis.close()
                    await embedded?.stop()
                },
                onForcedExit: { embedded?.killNow() })
        } catch {
            logger.error("stopped on an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }

    /// Redis from the configuration; when none was configured (no `redis.*` in the file, no
    /// `REDIS_*` in the environment) and localhost:6379 does not answer, a private one.
    func connectRedis(report: ConfigurationReport, logger: Logger) async throws -> (RedisConfiguration, EmbeddedRedis?) {
        let configuration = report.configuration
        let configured = configuration.redis.clientConfiguration(clientName: "hemostat")
        let probe = RedisClient(configuration: configured, logger: Logger(label: "hemostat.redis.probe", factory: { _ in SwiftLogNoOpLogHandler() }))
        defer { probe.close() }
        do {
            try await probe.ping()
            return (configured, nil)
        } catch {
            // Configured means: set in the environment, or in the file to something other than
            // the default (the shipped file spells out the defaults).
            let defaults = RedisSettings()
            let explicit = report.values.contains { value in
                guard ["redis.url", "redis.host", "redis.port", "redis.db"].contains(value.key) else { return false }
                switch value.source {
                case .environment: return true
                case .file: return configuration.redis.host != defaults.host || configuration.redis.port != defaults.port
                    || configuration.redis.socketPath != nil || configuration.redis.database != defaults.database
                case .default: return false
                }
            }
            if explicit {
                printError("""
                    hemostat: Redis at \(configuration.redis.displayURL) does not answer (\(error)).
                      Start it, or fix REDIS_URL / redis.url in the configuration.
                    """)
                throw ExitCode(1)
            }
            do {
                let embedded = try await EmbeddedRedis.start(stateDirectory: configuration.stateDirectory, logger: logger)
                return (embedded.configuration, embedded)
            } catch {
                printError("hemostat: no Redis at \(configuration.redis.displayURL), and \(error)")
                throw ExitCode(1)
            }
        }
    }
}

/// Loads the configuration with where each value came from; problems are printed as
/// `file:line: problem` and end the command with exit status 1.
func loadConfigurationReport(file: String?) throws -> ConfigurationReport {
    do {
        return try HemoStatConfiguration.inspect(file: file, environment: ProcessInfo.processInfo.environment)
    } catch {
        for problem in error.problems { printError(problem.description) }
        throw ExitCode(1)
    }
}
