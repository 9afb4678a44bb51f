import Foundation
public import HemoStatModel
public import HemoStatRedis
public import Logging

/// What every agent is given: its configuration, Redis, the bus, the clock and a logger.
///
/// One context is shared by the agents of a process. Agents never open their own connections
/// for ordinary commands; a consumer that blocks on `XREADGROUP` gets its own reader
/// (``makeReader(agent:)``) so it never holds up the shared client.
public struct AgentContext: Sendable {
    public var configuration: HemoStatConfiguration
    /// The shared client for ordinary commands.
    public var redis: RedisClient
    public var bus: MessageBus
    public var keys: KeySpace
    public var clock: any WallClock
    /// The time of the safety gate: nil (the default) for Redis' own clock, so responders on
    /// machines whose clocks differ agree on cooldowns, windows and leases; a clock a test
    /// moves otherwise.
    public var gateClock: (any WallClock)?
    public var logger: Logger

    public init(configuration: HemoStatConfiguration, redis: RedisClient, busConfiguration: BusConfiguration = .init(), clock: any WallClock = SystemWallClock(), logger: Logger) {
        self.configuration = configuration
        self.redis = redis
        self.keys = KeySpace(prefix: configuration.redis.keyPrefix)
        self.bus = MessageBus(redis: redis, configuration: busConfiguration, keys: keys)
        self.clock = clock
        self.logger = logger
    }

    /// This host's id, carried in every message's `host`.
    public var hostID: String { configuration.hostID }

    /// A stable consumer-group member name for `agent` on this host, so a restarted process
    /// picks up the entries it had in hand.
    public func consumerName(agent: String) -> String { "\(hostID):\(agent)" }

    /// A Redis client on a connection of its own (to the same server as ``redis``), for
    /// blocking reads.
    public func makeReader(agent: String) -> RedisClient {
        var readerConfiguration = redis.configuration
        readerConfiguration.clientName = "hemostat-\(agent)-reader"
        return RedisClient(configuration: readerConfiguration, logger: logger)
    }

    /// Wraps `payload` in an envelope from `agent` about `host` (by default this host) and
    /// publishes it.
    @discardableResult
    public func publish<Payload: MessagePayload>(_ payload: Payload, agent: String, host: String? = nil) async throws -> Envelope<Payload> {
        let envelope = Envelope(agent: agent, host: host ?? hostID, data: payload, timestamp: clock.now)
        try await bus.publish(envelope)
        return envelope
    }

    /// A consumer-group member reading `channel` for `agent`.
    public func consumer(channel: Channel, group: String, agent: String, handler: @escaping BusConsumer.Handler) -> BusConsumer {
        consumer(stream: keys.channel(channel), group: group, agent: agent, handler: handler)
    }

    /// A consumer-group member reading the stream `stream` for `agent`.
    public func consumer(stream: String, group: String, agent: String, handler: @escaping BusConsumer.Handler) -> BusConsumer {
        var logger = logger
        logger[metadataKey: "agent"] = .string(agent)
        return BusConsumer(
            channel: stream, group: group, consumer: consumerName(agent: agent),
            bus: bus, reader: makeReader(agent: agent), logger: logger, handler: handler)
    }
}
