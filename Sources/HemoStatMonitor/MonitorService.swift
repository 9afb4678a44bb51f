import Foundation
public import HemoStatCore
import HemoStatRedis
import Logging
import Metrics
public import ServiceLifecycle

/// The monitor agent: samples every container each `monitor.poll_interval`, follows the
/// engine's event stream for crashes, OOM kills and failing health checks, and publishes
/// `health_alert` and `container_recovered` messages; writes `hemostat:stats:<container>` and
/// `hemostat:containers` each cycle.
///
/// ```swift
/// let monitor = MonitorService(context: context, engine: DockerContainerEngine(client: docker))
/// let group = ServiceGroup(services: [monitor, AgentHeartbeat(agent: MonitorService.agent, context: context)], ...)
/// ```
///
/// `run()` returns on cancellation or graceful shutdown. Neither an unreachable engine nor an
/// unreachable Redis stops it: each is logged once per outage and retried with backoff; messages
/// made while Redis is down wait in memory (up to `monitor.pending_alert_limit`) and are
/// published in order when it is back.
public struct MonitorService: Service {
    public static let agent = "monitor"

    let runtime: MonitorRuntime
    let context: AgentContext

    /// - Parameters:
    ///   - engine: the Docker host to watch.
    ///   - ownContainerID: the id (or its 12-character prefix) of the container this process
    ///     runs in, never alerted on; by default read from `HOSTNAME` when it looks like a
    ///     container id.
    public init(context: AgentContext, engine: any ContainerEngine, ownContainerID: String? = ContainerScope.ownContainerIDFromEnvironment()) {
        self.context = context
        self.runtime = MonitorRuntime(context: context, engine: engine, ownContainerID: ownContainerID)
    }

    public func run() async throws {
        let runtime = self.runtime
        let interval = context.configuration.monitor.pollInterval
        let logger = context.logger
        logger.info("monitor started", metadata: [
            "monitor.poll_interval": "\(interval)", "monitor.stats_concurrency": "\(context.configuration.monitor.statsConcurrency)",
            "host.id": "\(context.hostID)",
        ])
        await withDiscardingTaskGroup { group in
            group.addTask { await runtime.followEvents() }
            group.addTask { await runtime.flushLoop() }
            group.addTask { await runtime.runChecks() }
            group.addTask {
                var backoff = Backoff(initial: .seconds(1), maximum: interval)
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    let ok = await runtime.runCycle()
                    let wait: Duration
                    if ok {
                        backoff.reset()
                        wait = interval
                    } else {
                        wait = backoff.next()
                    }
                    await runtime.waitForNextCycle(wait)
                }
            }
            // Returns when a graceful shutdown is requested (or throws on cancellation); the
            // event stream and the waits are then cancelled.
            try? await gracefulShutdown()
            await runtime.shutdown()
            group.cancelAll()
        }
        await runtime.finish()
        logger.info("monitor stopped")
    }

    /// One cycle now (for tests and `hemostat monitor --once` with Redis): samples, evaluates,
    /// writes and publishes. Returns false when the engine could not be listed.
    @discardableResult
    public func runCycle() async -> Bool { await runtime.runCycle() }

    /// The messages waiting for Redis.
    public var pendingMessageCount: Int { get async { await runtime.pending.count } }
}

/// Doubling delay with a ceiling.
struct Backoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private var current: Duration?

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    mutating func next() -> Duration {
        let delay = current.map { min($0 * 2, maximum) } ?? initial
        current = delay
        return delay
    }

    mutating func reset() { current = nil }
}
