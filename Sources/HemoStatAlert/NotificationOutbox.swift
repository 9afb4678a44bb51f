import Foundation
public import HemoStatModel
public import HemoStatRedis
public import Logging

/// The notifications one alert agent accepted and has not yet delivered, in Redis
/// (`alert:outbox:<consumer>`, a hash of `<sink>|<message id>` to the message as it arrived).
///
/// An entry is written in the same atomic step that logs the message (before its stream entry
/// is acknowledged) and removed once its sink delivered it, gave up on it, or delivered the
/// summary it was folded into. A sink that starts reads its entries first, so a notification
/// cut short by a stop or a crash is sent by the next process of the same agent (at least
/// once).
public struct NotificationOutbox: Sendable {
    public let redis: RedisClient
    public let key: String

    public init(redis: RedisClient, key: String) {
        self.redis = redis
        self.key = key
    }

    /// One queued notification, with the message it was made from.
    public struct Entry: Sendable {
        public var notification: Notification
        public var envelope: JSONValue
    }

    static func field(sink: SinkKind, messageID: String) -> String { "\(sink.rawValue)|\(messageID)" }

    /// The hash value for a message read from `channel`.
    static func value(channel: Channel, message: String) -> String {
        JSONValue.object(["channel": .string(channel.eventType), "message": .string(message)]).jsonText
    }

    /// The entries of `sink`, oldest message first. Entries that can no longer be read are
    /// removed and reported through `logger`.
    public func entries(sink: SinkKind, logger: Logger) async throws -> [Entry] {
        let reply = try await redis.send(["HGETALL", key])
        guard case .array(let items) = reply else { return [] }
        var entries: [Entry] = []
        var unreadable: [String] = []
        var index = 0
        while index + 1 < items.count {
            defer { index += 2 }
            guard let field = items[index].string, field.hasPrefix(sink.rawValue + "|") else { continue }
            guard let text = items[index + 1].string, let stored = try? JSONValue.parse(text),
                  let channel = stored["channel"]?.stringValue.flatMap(Channel.init(eventType:)),
                  let message = stored["message"]?.stringValue,
                  let decoded = try? Message.decode(message, channel: channel),
                  let notification = Notification(decoded)
            else {
                unreadable.append(field)
                continue
            }
            entries.append(Entry(notification: notification, envelope: (try? JSONValue.parse(message)) ?? .null))
        }
        if !unreadable.isEmpty {
            logger.error("unreadable notifications removed from the outbox", metadata: ["alert.outbox.fields": "\(unreadable)"])
            _ = try? await redis.send(["HDEL", key] + unreadable)
        }
        return entries.sorted { $0.notification.timestamp < $1.notification.timestamp }
    }

    /// Removes the entries of `sink` for `messageIDs`.
    public func remove(sink: SinkKind, messageIDs: [String]) async throws {
        guard !messageIDs.isEmpty else { return }
        _ = try await redis.send(["HDEL", key] + messageIDs.map { Self.field(sink: sink, messageID: $0) })
    }
}
