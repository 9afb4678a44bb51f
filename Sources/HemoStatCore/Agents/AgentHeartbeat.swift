import Foundation
public import HemoStatModel
public import ServiceLifecycle

/// Announces a running agent in Redis (`hemostat:agents:<agent>:<host>`, JSON with a TTL), so
/// the dashboard and `/readyz` can tell which agents are alive and whether the responder is in
/// dry-run.
public struct AgentHeartbeat: Service {
    /// The agents that run on a Docker host and make it a known host (`hemostat:hosts`).
    static let hostAgents: Set<String> = ["monitor", "responder"]

    public let agent: String
    public let context: AgentContext
    public let interval: Duration
    private let details: [String: JSONValue]
    private let startedAt: Date

    /// - Parameter details: extra fields to announce (for the responder: `dry_run`).
    public init(agent: String, context: AgentContext, interval: Duration = .seconds(10), details: [String: JSONValue] = [:]) {
        self.agent = agent
        self.context = context
        self.interval = interval
        self.details = details
        self.startedAt = context.clock.now
    }

    public func run() async throws {
        let key = context.keys.agent(agent, host: context.hostID)
        var fields = details
        fields["agent"] = .string(agent)
        fields["host"] = .string(context.hostID)
        fields["version"] = .string(HemoStatVersion.current)
        fields["pid"] = .integer(Int(ProcessInfo.processInfo.processIdentifier))
        fields["started_at"] = .string(Timestamp.format(startedAt))
        let ttlSeconds = max(1, Int(interval.timeInterval * 3))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            fields["updated_at"] = .string(Timestamp.format(context.clock.now))
            do {
                var commands = [["SET", key, JSONValue.object(fields).jsonText, "EX", String(ttlSeconds)]]
                if Self.hostAgents.contains(agent) {
                    commands.append(["ZADD", context.keys.hosts, String(context.clock.nowMilliseconds), context.hostID])
                }
                let replies = try await context.redis.pipeline(commands)
                if let error = replies.compactMap(\.redisError).first { throw error }
            } catch {
                context.logger.warning("heartbeat not written", metadata: ["agent": "\(agent)", "error": "\(error)"])
            }
            // Returns at once on graceful shutdown, so the agent's process can exit promptly.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        _ = try? await context.redis.send(["DEL", key])
    }
}
