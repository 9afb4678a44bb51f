public import HemoStatModel
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
    /// this message id was logged before (a redelivery), and in the same atomic step queues its
    /// notifications in `outbox` (field, value pairs). Returns false for a repeat, which queues
    /// nothing.
    @discardableResult
    public func append(
        eventType: String, messageID: String, json: String, outbox: (key: String, entries: [(String, String)])? = nil
    ) async throws -> Bool {
        let ttlSeconds = String(max(1, Int(ttl.timeInterval)))
        var keys = ["\(self.keys.prefix)events:seen:\(messageID)", self.keys.events(eventType), self.keys.allEvents]
        var args = [ttlSeconds, String(capacity), json]
        if let outbox, !outbox.entries.isEmpty {
            keys.append(outbox.key)
            for (field, value) in outbox.entries { args += [field, value] }
        }
        let reply = try await redis.evalSHA(Self.appendScript, keys: keys, args: args)
        return reply.integer == 1
    }

    /// `Lua/event-log-append.lua`.
    static let appendScript = RedisScript(embedded: PackageResources.event_log_append_lua)

    /// The newest entries of one type (or of all, with nil), newest first.
    public func recent(eventType: String?, offset: Int = 0, limit: Int = 50) async throws -> [String] {
        let key = eventType.map(keys.events) ?? keys.allEvents
        let reply = try await redis.send(["LRANGE", key, String(offset), String(offset + max(1, limit) - 1)])
        return (reply.array ?? []).compactMap(\.string)
    }
}
