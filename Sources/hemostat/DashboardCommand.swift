import ArgumentParser
import Foundation
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
            Settings: dashboard.* in the configuration file, or HEMOSTAT_DASHBOARD_BIND_ADDRESS, \
            HEMOSTAT_DASHBOARD_PORT, HEMOSTAT_DASHBOARD_TOKEN (required to bind anything but \
            loopback); Redis from REDIS_URL or redis.* as for the agents.
            """
    )

    @Option(name: .long, help: configFileHelp)
    var config: String?

    @Option(name: .long, help: "Address to bind (overrides dashboard.bind_address).")
    var bind: String?

    @Option(name: .long, help: "Port to listen on (overrides dashboard.port).")
    var port: Int?

    func run() async throws {
        let environment = try CommandEnvironment(configFile: config, label: "hemostat.dashboard", bootstrapLogging: true)
        var configuration = environment.configuration
        if let bind { configuration.dashboard.bindAddress = bind }
        if let port { configuration.dashboard.port = port }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = environment.context.logger
        let service = try makeDashboard(
            configuration: configuration, redis: environment.context.redis, registry: registry, docker: nil, logger: logger)
        try await ProcessLifecycle.run(
            [NamedService(name: "dashboard", service: service)], timeout: configuration.shutdownTimeout, logger: logger,
            afterwards: { environment.context.redis.close() })
    }
}
