import Foundation
@testable import HemoStatCore
@testable import HemoStatModel
import HemoStatRedis
import HemoStatTestSupport
import Logging
import Synchronization
import Testing

/// The bus against the real Redis: streams with consumer groups, pub/sub, reclaim, dead letters.
@Suite(.enabled(if: TestEnvironment.integration))
struct MessageBusTests {
    let configuration: RedisConfiguration
    let redis: RedisClient
    let channel = "\(TestEnvironment.uniquePrefix("bus")):health_alert"

    init() throws {
        configuration = try RedisConfiguration(url: try TestEnvironment.redisURL())
        redis = RedisClient(configuration: configuration)
    }

    func fastBus() -> MessageBus {
        var bus = BusConfiguration()
        bus.blockTime = .milliseconds(100)
        bus.reclaimMinIdle = .milliseconds(300)
        bus.reclaimInterval = .milliseconds(100)
        bus.maxDeliveries = 3
        return MessageBus(redis: redis, configuration: bus)
    }

    /// Runs a consumer until `done` holds or the deadline passes, then stops it.
    func consume(_ bus: MessageBus, consumer: String, until done: @escaping @Sendable () async -> Bool, handler: @escaping BusConsumer.Handler) async throws {
        let member = BusConsumer(
            channel: channel, group: "g", consumer: consumer, bus: bus,
            reader: RedisClient(configuration: configuration), logger: Logger(label: "test"), handler: handler)
        let task = Task { try await member.run() }
        _ = await holds(done)
        task.cancel()
        try await task.value
    }

    @Test func publishedMessagesReachTheStreamAndPubSub() async throws {
        let bus = fastBus()
        let subscriber = RedisSubscriber(configuration: configuration)
        let stream = try await subscriber.subscribe(channels: [channel])
        try await bus.publish(channel: channel, message: #"{"n":1}"#)
        var iterator = stream.makeAsyncIterator()
        let live = try await iterator.next()
        #expect(live?.string == #"{"n":1}"#)
        let entries = try await redis.xrange(channel)
        #expect(entries.map { $0[field: "message"] } == [#"{"n":1}"#])
    }

    @Test func messagesPublishedWhileNoConsumerRunsAreHandledLater() async throws {
        let bus = fastBus()
        for n in 0..<5 { try await bus.publish(channel: channel, message: #"{"n":\#(n)}"#) }
        let seen = Mutex<[String]>([])
        // Done once the last entry is acknowledged too (the ack follows the handler's return).
        let redis = self.redis, channel = self.channel
        try await consume(bus, consumer: "c1", until: {
            guard seen.withLock({ $0.count }) == 5 else { return false }
            return (try? await redis.xpending(stream: channel, group: "g").count) == 0
        }) { delivery in
            seen.withLock { $0.append(delivery.message ?? "") }
            return .ack
        }
        #expect(seen.withLock { $0 } == (0..<5).map { #"{"n":\#($0)}"# })
        #expect(try await redis.xpending(stream: channel, group: "g").count == 0)
    }

    @Test func entriesLeftByADeadConsumerAreClaimedByAnother() async throws {
        let bus = fastBus()
        _ = try await redis.xgroupCreate(stream: channel, group: "g", startID: "0", mkstream: true)
        try await bus.publish(channel: channel, message: "{}")
        // A consumer reads the entry and dies before acknowledging it.
        let taken = try await redis.xreadgroup(group: "g", consumer: "dead", streams: [(channel, ">")], count: 10)
        #expect(taken.count == 1)

        let handledBy = Mutex<[String]>([])
        try await consume(bus, consumer: "alive", until: { !handledBy.withLock { $0.isEmpty } }) { delivery in
            handledBy.withLock { $0.append(delivery.streamID) }
            return .ack
        }
        #expect(handledBy.withLock { $0 } == [taken[0].id])
        #expect(try await redis.xpending(stream: channel, group: "g").count == 0)
    }

    @Test func undecodableAndRepeatedlyFailingEntriesGoToTheDeadLetterStream() async throws {
        let bus = fastBus()
        try await bus.publish(channel: channel, message: "not json")
        try await redis.xadd(channel, fields: [("other", "field")])
        try await bus.publish(channel: channel, message: "poison")
        let before = try await redis.xlen(Channel.deadLetter.rawValue)

        let attempts = Mutex(0)
        try await consume(bus, consumer: "c", until: {
            // Done once nothing is pending any more.
            attempts.withLock { $0 } >= 3
        }) { delivery in
            switch delivery.message {
            case "not json": return .deadLetter(reason: "event_type: missing")
            default:
                attempts.withLock { $0 += 1 }
                throw TestEnvironmentError(message: "handler failure")
            }
        }
        // Let the consumer see the poison message past maxDeliveries.
        let redis = redis, channel = channel
        try await consume(bus, consumer: "c", until: {
            (try? await redis.xpending(stream: channel, group: "g").count) == 0
        }) { _ in throw TestEnvironmentError(message: "still failing") }
        let letters = try await redis.xrange(Channel.deadLetter.rawValue).suffix(from: before).filter { $0[field: "channel"] == channel }
        let reasons = Set(letters.compactMap { $0[field: "reason"] })
        #expect(reasons.contains("event_type: missing"))
        #expect(reasons.contains("entry has no `message` field"))
        #expect(reasons.contains("not handled after 3 deliveries"))
        #expect(try await redis.xpending(stream: channel, group: "g").count == 0)
    }
}
