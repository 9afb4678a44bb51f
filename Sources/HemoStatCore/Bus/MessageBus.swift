public import HemoStatModel
public import HemoStatRedis

/// How the bus uses Redis Streams. Defaults suit one host; see `docs/configuration.md`.
public struct BusConfiguration: Sendable, Hashable {
    /// Each channel's stream is trimmed to about this many entries (`XADD MAXLEN ~`).
    public var streamMaxLength: Int = 10_000
    /// How long one `XREADGROUP` waits for new entries before the loop looks around again.
    public var blockTime: Duration = .seconds(2)
    /// Entries read per `XREADGROUP`.
    public var batchSize: Int = 32
    /// An entry pending this long belongs to a consumer presumed dead and is claimed.
    public var reclaimMinIdle: Duration = .seconds(30)
    /// How often a consumer looks for entries to claim.
    public var reclaimInterval: Duration = .seconds(10)
    /// An entry delivered this many times without being handled goes to the dead-letter stream.
    public var maxDeliveries: Int = 5
    /// The dead-letter stream is trimmed to about this many entries.
    public var deadLetterMaxLength: Int = 10_000

    public init() {}
}

/// One entry read from a channel's stream.
public struct BusDelivery: Sendable {
    /// The channel (and stream key) it came from.
    public var channel: String
    /// The stream entry id (`1712345678901-0`).
    public var streamID: String
    /// The JSON envelope, the entry's `message` field; nil when the field is missing.
    public var message: String?
    /// How often the entry has been delivered to a consumer of this group, this time included.
    public var deliveryCount: Int

    public init(channel: String, streamID: String, message: String? = nil, deliveryCount: Int) {
        self.channel = channel
        self.streamID = streamID
        self.message = message
        self.deliveryCount = deliveryCount
    }
}

/// What a handler did with a delivery.
public enum BusDisposition: Sendable, Equatable {
    /// Handled (or deliberately ignored): acknowledge it.
    case ack
    /// It can never be handled (malformed, wrong shape): move it to `hemostat:dead_letter` with
    /// the reason, and acknowledge it.
    case deadLetter(reason: String)
}

/// The message bus: every message is an entry in the Redis Stream named after its channel
/// (read through consumer groups, at least once) and is also PUBLISHed on the pub/sub channel
/// of the same name for live viewers.
///
/// A stream entry has exactly one field, `message`, holding the JSON envelope, so any tool that
/// can run `XADD hemostat:remediation_needed '*' message '{…}'` is a first-class producer.
public struct MessageBus: Sendable {
    public static let messageField = "message"

    public let redis: RedisClient
    public let configuration: BusConfiguration
    public let keys: KeySpace

    public init(redis: RedisClient, configuration: BusConfiguration = .init(), keys: KeySpace = KeySpace()) {
        self.redis = redis
        self.configuration = configuration
        self.keys = keys
    }

    /// Publishes a typed message on its channel (under this bus's key prefix).
    @discardableResult
    public func publish<Payload: MessagePayload>(_ envelope: Envelope<Payload>) async throws -> String {
        try await publish(channel: keys.channel(Payload.channel), message: envelope.encode())
    }

    /// Appends `message` to the channel's stream and publishes it on the channel, in one round
    /// trip. Returns the stream entry id.
    @discardableResult
    public func publish(channel: String, message: String) async throws -> String {
        let replies = try await redis.pipeline([
            ["XADD", channel, "MAXLEN", "~", String(configuration.streamMaxLength), "*", Self.messageField, message],
            ["PUBLISH", channel, message],
        ])
        if let error = replies[0].redisError { throw error }
        guard let id = replies[0].string else {
            throw RedisError(code: .unexpectedReply, message: "XADD returned no entry id")
        }
        return id
    }

    /// Records an entry that cannot be handled, with why, on `hemostat:dead_letter`.
    public func deadLetter(_ delivery: BusDelivery, group: String, reason: String) async throws {
        try await redis.xadd(
            keys.channel(.deadLetter),
            fields: [
                ("channel", delivery.channel),
                ("stream_id", delivery.streamID),
                ("group", group),
                ("reason", reason),
                (Self.messageField, delivery.message ?? ""),
            ],
            maxLength: configuration.deadLetterMaxLength
        )
    }
}
