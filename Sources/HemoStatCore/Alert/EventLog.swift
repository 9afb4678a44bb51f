public import HemoStatRedis

/// The capped event log the dashboard reads: `hemostat:events:<event_type>` and
/// `hemostat:events:all`, newest first, each trimmed to a size and given a TTL.
public struct EventLog: Sendable {
    public let redis: RedisClient
    public let keys: KeySpace
    /// Entries kept per list.
    public let capacity: Int
    /// Lists expire this long after their last write.
    public let ttl: Duration

    public init(redis: RedisClient, keys: KeySpace, capacity: Int, ttl: Duration) {
        self.redis = redis
        self.keys = keys
        self.capacity = capacity
        self.ttl = ttl
    }

    /// Appends one message (its JSON envelope) to its type's list and to the list of all, unless
    /// this message id was logged before (a redelivery). Returns false for a repeat.
    @discardableResult
    public func append(eventType: String, messageID: String, json: String) async throws -> Bool {
        let ttlSeconds = String(max(1, Int(ttl.timeInterval)))
        let seen = "\(keys.prefix)events:seen:\(messageID)"
        let first = try await redis.send(["SET", seen, "1", "NX", "EX", ttlSeconds])
        guard !first.isNull else { return false }
        let typeKey = keys.events(eventType)
        let replies = try await redis.pipeline([
            ["LPUSH", typeKey, json],
            ["LTRIM", typeKey, "0", String(capacity - 1)],
            ["EXPIRE", typeKey, ttlSeconds],
            ["LPUSH", keys.allEvents, json],
            ["LTRIM", keys.allEvents, "0", String(capacity - 1)],
            ["EXPIRE", keys.allEvents, ttlSeconds],
        ])
        if let error = replies.lazy.compactMap(\.redisError).first { throw error }
        return true
    }

    /// The newest entries of one type (or of all, with nil), newest first.
    public func recent(eventType: String?, offset: Int = 0, limit: Int = 50) async throws -> [String] {
        let key = eventType.map(keys.events) ?? keys.allEvents
        let reply = try await redis.send(["LRANGE", key, String(offset), String(offset + max(1, limit) - 1)])
        return (reply.array ?? []).compactMap(\.string)
    }
}
