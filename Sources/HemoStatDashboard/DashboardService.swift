import Foundation
import HemoStatModel
public import HemoStatRedis
import Hummingbird
public import Logging
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// The result of one readiness check, as `/readyz` reports it.
public enum ReadinessResult: Sendable, Hashable {
    case ok
    /// Not ready; the reason is shown on `/readyz`, so it must be safe to show (no secrets).
    case failed(String)
}

/// The web dashboard, `/metrics`, `/healthz` and `/readyz`, as one swift-service-lifecycle
/// `Service`: put it in the process's `ServiceGroup` next to the agents.
///
/// ``run()`` validates the configuration (a non-loopback bind without an access token is
/// refused with ``DashboardError`` code `insecure_bind`), binds, opens its own pub/sub
/// subscription to the bus for the live feed, and returns on graceful shutdown (open pages'
/// event streams are ended first) or cancellation.
public final class DashboardService: Service, Sendable {
    public let configuration: DashboardConfiguration
    let store: DashboardStore
    let feed: LiveFeed
    let redisConfiguration: RedisConfiguration
    let registry: PrometheusCollectorRegistry
    let readiness: @Sendable () async -> [String: ReadinessResult]
    let logger: Logger
    private let port = Mutex<Int?>(nil)

    /// - Parameters:
    ///   - configuration: Bind address, token, refresh interval, key prefix.
    ///   - redis: Client for reads (shared with the rest of the process is fine).
    ///   - redisConfiguration: Used to open the dashboard's own pub/sub connection.
    ///   - registry: The process's Prometheus registry, rendered at `/metrics`.
    ///   - readiness: Checks run on each `/readyz`: every entry must be `.ok` for a 200.
    ///   - logger: Dotted metadata keys; never logs the token.
    public init(
        configuration: DashboardConfiguration,
        redis: RedisClient,
        redisConfiguration: RedisConfiguration,
        registry: PrometheusCollectorRegistry,
        readiness: @escaping @Sendable () async -> [String: ReadinessResult],
        logger: Logger
    ) {
        self.configuration = configuration
        self.store = DashboardStore(redis: redis, configuration: configuration, logger: logger)
        self.feed = LiveFeed(keys: KeySpace(prefix: configuration.keyPrefix), logger: logger)
        self.redisConfiguration = redisConfiguration
        self.registry = registry
        self.readiness = readiness
        self.logger = logger
    }

    /// A readiness check that PINGs Redis.
    public static func redisCheck(_ redis: RedisClient) -> @Sendable () async -> ReadinessResult {
        {
            do {
                try await redis.ping()
                return .ok
            } catch let error as RedisError {
                return .failed("redis: \(error.code)")
            } catch {
                return .failed("redis: unreachable")
            }
        }
    }

    /// The port the server listens on once it is serving (useful with port 0), else nil.
    public var boundPort: Int? { port.withLock { $0 } }

    public func run() async throws {
        try configuration.validate()
        let router = DashboardRoutes(service: self).makeRouter()
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { [self] channel in
                let bound = channel.localAddress?.port
                port.withLock { $0 = bound }
                logger.info(
                    "dashboard serving",
                    metadata: ["dashboard.host": "\(configuration.host)", "dashboard.port": "\(bound ?? configuration.port)", "dashboard.token": "\(configuration.accessToken == nil ? "none" : "required")"]
                )
            },
            logger: logger
        )
        let feed = self.feed
        let redisConfiguration = self.redisConfiguration
        let interval = configuration.refreshInterval
        defer { port.withLock { $0 = nil } }
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await feed.runSubscription(configuration: redisConfiguration)
                    return false
                }
                group.addTask {
                    await feed.runTicks(interval: interval)
                    return false
                }
                group.addTask {
                    do {
                        try await app.run()
                    } catch {
                        feed.shutdown()
                        throw DashboardError(code: .serverFailed, message: "dashboard server on \(self.configuration.host):\(self.configuration.port) failed: \(error)")
                    }
                    return true
                }
                while let serverDone = try await group.next() {
                    if serverDone { break }
                }
                feed.shutdown()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            feed.shutdown()
        }
    }
}
