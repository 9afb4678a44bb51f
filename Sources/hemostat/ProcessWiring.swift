import ArgumentParser
import Foundation
import HemoStatCore
import HemoStatDashboard
import HemoStatDocker
import HemoStatRedis
import Logging
import Prometheus

/// Checks that the Docker engine answers; otherwise prints one message saying what was tried
/// and how to point HemoStat at an engine, and ends the command.
func requireDocker(_ docker: DockerClient, configuration: HemoStatConfiguration) async throws {
    do {
        try await docker.ping()
    } catch {
        printError("""
            hemostat: no Docker engine answered at \(configuration.docker.host) (\(error)).
              Start the engine (for example `systemctl start docker`), or point HemoStat at one:
                DOCKER_HOST=unix:///path/to/docker.sock   or   DOCKER_HOST=tcp://host:2375
              or set docker.host in config/hemostat.yaml.
            """)
        throw ExitCode(1)
    }
}

/// The dashboard service of `dashboard.*`, with `/readyz` checking Redis and, when given,
/// Docker.
func makeDashboard(
    configuration: HemoStatConfiguration, redis: RedisClient, registry: PrometheusCollectorRegistry,
    docker: DockerClient?, logger: Logger
) throws -> DashboardService {
    var dashboard = DashboardConfiguration(
        host: configuration.dashboard.bindAddress, port: configuration.dashboard.port,
        accessToken: configuration.dashboard.accessToken?.reveal())
    dashboard.keyPrefix = configuration.redis.keyPrefix
    dashboard.maxActionsPerContainer = configuration.responder.maxActionsPerHour
    dashboard.llmHourlyBudget = configuration.analyzer.llm.provider == .none ? nil : configuration.analyzer.llm.hourlyCallBudget
    do {
        try dashboard.validate()
    } catch let error as DashboardError {
        printError("hemostat: dashboard: \(error.message)")
        throw ExitCode(1)
    }
    let redisCheck = DashboardService.redisCheck(redis)
    return DashboardService(
        configuration: dashboard, redis: redis, redisConfiguration: redis.configuration, registry: registry,
        readiness: {
            var checks = ["redis": await redisCheck()]
            if let docker {
                do {
                    try await docker.ping()
                    checks["docker"] = .ok
                } catch {
                    checks["docker"] = .failed("the Docker engine does not answer")
                }
            }
            return checks
        },
        logger: logger)
}
