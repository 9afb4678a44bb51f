import ArgumentParser
import Foundation
import HemoStatDashboard
import HemoStatRedis
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `hemostat dashboard`: serves the web dashboard, `/metrics`, `/healthz` and `/readyz` alone,
/// against the Redis the agents use.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serves the live web dashboard and /metrics (default http://127.0.0.1:8080).",
        discussion: """
            Environment: REDIS_URL (or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD/REDIS_DB), \
            HEMOSTAT_DASHBOARD_HOST, HEMOSTAT_DASHBOARD_PORT, HEMOSTAT_DASHBOARD_TOKEN (required to \
            bind anything but loopback), HEMOSTAT_DASHBOARD_REFRESH_MS, HEMOSTAT_LLM_HOURLY_BUDGET.
            """
    )

    @Option(name: .long, help: "Redis URL (redis://host:port/db or unix:///path); default from REDIS_URL.")
    var redisURL: String?

    @Option(name: .long, help: "Address to bind (default 127.0.0.1; others need HEMOSTAT_DASHBOARD_TOKEN).")
    var bind: String?

    @Option(name: .long, help: "Port to listen on (default 8080).")
    var port: Int?

    @Option(name: .long, help: "Prefix of the Redis keys (default hemostat:).")
    var keyPrefix: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "hemostat.dashboard")

        let redisConfiguration: RedisConfiguration
        var dashboard: DashboardConfiguration
        do {
            redisConfiguration = try redisURL.map(RedisConfiguration.init(url:)) ?? RedisConfiguration.fromEnvironment(environment)
            dashboard = try DashboardConfiguration.fromEnvironment(environment)
            if let bind { dashboard.host = bind }
            if let port { dashboard.port = port }
            if let keyPrefix { dashboard.keyPrefix = keyPrefix }
            try dashboard.validate()
        } catch let error as DashboardError {
            throw ValidationError(error.message)
        } catch let error as RedisError {
            throw ValidationError(error.message)
        }

        let redis = RedisClient(configuration: redisConfiguration, logger: Logger(label: "hemostat.redis"))
        defer { redis.close() }
        let redisCheck = DashboardService.redisCheck(redis)
        let service = DashboardService(
            configuration: dashboard,
            redis: redis,
            redisConfiguration: redisConfiguration,
            registry: registry,
            readiness: { ["redis": await redisCheck()] },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        do {
            try await group.run()
        } catch let error as DashboardError {
            logger.error("dashboard stopped", metadata: ["error.code": "\(error.code)", "error.message": "\(error.message)"])
            throw ExitCode.failure
        }
    }
}
