import Foundation
public import HemoStatRedis
public import Logging
public import ServiceLifecycle

/// A member of a consumer group on one channel: reads, hands each entry to a handler, and
/// acknowledges it only after the handler returns.
///
/// - Entries are delivered at least once. A handler that throws leaves its entry pending; it is
///   delivered again (to this or another member) once it has been idle for
///   ``BusConfiguration/reclaimMinIdle``, and after ``BusConfiguration/maxDeliveries`` attempts
///   it goes to the dead-letter stream. Handlers must therefore be idempotent by message id.
/// - On start the consumer first re-reads its own pending entries (those it read but did not
///   acknowledge before it stopped), then new ones; every ``BusConfiguration/reclaimInterval``
///   it claims entries left pending by members that died.
/// - The group is created at the start of the stream if it does not exist, so messages
///   published while no consumer was running are not lost.
///
/// It reads on its own Redis connection, since `XREADGROUP BLOCK` holds the connection while
/// it waits. On graceful shutdown it finishes the entry in hand and returns.
public struct BusConsumer: Service {
    public typealias Handler = @Sendable (BusDelivery) async throws -> BusDisposition

    public let channel: String
    public let group: String
    public let consumer: String
    private let bus: MessageBus
    private let reader: RedisClient
    private let handler: Handler
    private let logger: Logger

    /// - Parameters:
    ///   - bus: used for acknowledgements and dead letters.
    ///   - reader: a client on a connection of its own, used only for blocking reads.
    ///   - consumer: this member's name; keep it stable across restarts (host and agent) so a
    ///     restarted member picks up what it had in hand.
    public init(channel: String, group: String, consumer: String, bus: MessageBus, reader: RedisClient, logger: Logger, handler: @escaping Handler) {
        self.channel = channel
        self.group = group
        self.consumer = consumer
        self.bus = bus
        self.reader = reader
        self.handler = handler
        var logger = logger
        logger[metadataKey: "bus.channel"] = .string(channel)
        logger[metadataKey: "bus.group"] = .string(group)
        self.logger = logger
    }

    public func run() async throws {
        let configuration = bus.configuration
        var backoff = Duration.milliseconds(200)
        var groupReady = false
        var ownPendingDone = false
        var lastReclaim = ContinuousClock.now - configuration.reclaimInterval

        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if !groupReady {
                    try await bus.redis.xgroupCreate(stream: channel, group: group, startID: "0", mkstream: true)
                    groupReady = true
                }
                if !ownPendingDone {
                    // Entries this member read before it stopped, oldest first.
                    let entries = try await reader.xreadgroup(
                        group: group, consumer: consumer, streams: [(channel, "0")], count: configuration.batchSize)
                    try await handle(entries, redelivered: true)
                    if entries.isEmpty { ownPendingDone = true }
                    continue
                }
                if ContinuousClock.now - lastReclaim >= configuration.reclaimInterval {
                    lastReclaim = .now
                    try await reclaim()
                }
                // A graceful shutdown ends the blocked read at once. Entries the server handed
                // over in that instant stay pending for this member and are read again first
                // thing when it starts next.
                let entries = try await cancelWhenGracefulShutdown { [reader, group, consumer, channel] in
                    try await reader.xreadgroup(
                        group: group, consumer: consumer, streams: [(channel, ">")],
                        count: configuration.batchSize, block: configuration.blockTime)
                }
                try await handle(entries, redelivered: false)
                backoff = .milliseconds(200)
            } catch is CancellationError {
                return
            } catch {
                if let redisError = error as? RedisError, redisError.serverCode == "NOGROUP" {
                    // The stream was deleted under us: make the group again.
                    groupReady = false
                }
                logger.warning("bus read failed; retrying", metadata: [
                    "error": "\(error)", "retry.in_ms": "\(backoff.milliseconds)",
                ])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    /// Claims entries idle past the threshold from members presumed dead and handles them.
    private func reclaim() async throws {
        var start = "0-0"
        repeat {
            let (next, entries, deleted) = try await bus.redis.xautoclaim(
                stream: channel, group: group, consumer: consumer,
                minIdle: bus.configuration.reclaimMinIdle, start: start, count: bus.configuration.batchSize)
            if !deleted.isEmpty {
                logger.warning("pending entries were trimmed from the stream before anyone handled them", metadata: [
                    "bus.lost": "\(deleted.count)",
                ])
            }
            if !entries.isEmpty {
                logger.info("claimed entries left pending by another consumer", metadata: ["bus.claimed": "\(entries.count)"])
            }
            try await handle(entries, redelivered: true)
            start = next
        } while start != "0-0" && !Task.isCancelled
    }

    private func handle(_ entries: [RedisStreamEntry], redelivered: Bool) async throws {
        guard !entries.isEmpty else { return }
        var deliveries: [String: Int] = [:]
        if redelivered, let first = entries.first?.id, let last = entries.last?.id {
            let pending = try await bus.redis.xpending(
                stream: channel, group: group, start: first, end: last, count: entries.count)
            for entry in pending { deliveries[entry.id] = entry.deliveryCount }
        }
        for entry in entries {
            if entry.isDeleted {
                // Trimmed from the stream while pending: nothing left to hand over.
                try await bus.redis.xack(channel, group: group, ids: [entry.id])
                continue
            }
            let delivery = BusDelivery(
                channel: channel, streamID: entry.id, message: entry[field: MessageBus.messageField],
                deliveryCount: deliveries[entry.id] ?? 1)
            try await dispatch(delivery)
        }
    }

    private func dispatch(_ delivery: BusDelivery) async throws {
        let configuration = bus.configuration
        if delivery.deliveryCount > configuration.maxDeliveries {
            try await bus.deadLetter(delivery, group: group, reason: "not handled after \(configuration.maxDeliveries) deliveries")
            try await bus.redis.xack(channel, group: group, ids: [delivery.streamID])
            logger.error("entry moved to the dead-letter stream after repeated failures", metadata: ["bus.entry": "\(delivery.streamID)"])
            return
        }
        guard delivery.message != nil else {
            try await bus.deadLetter(delivery, group: group, reason: "entry has no `message` field")
            try await bus.redis.xack(channel, group: group, ids: [delivery.streamID])
            return
        }
        let disposition: BusDisposition
        do {
            disposition = try await handler(delivery)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // Left pending: claimed and retried after reclaimMinIdle.
            logger.error("handler failed; the entry stays pending and will be retried", metadata: [
                "bus.entry": "\(delivery.streamID)", "error": "\(error)",
            ])
            return
        }
        if case .deadLetter(let reason) = disposition {
            try await bus.deadLetter(delivery, group: group, reason: reason)
            logger.warning("entry rejected to the dead-letter stream", metadata: [
                "bus.entry": "\(delivery.streamID)", "reason": "\(reason)",
            ])
        }
        try await bus.redis.xack(channel, group: group, ids: [delivery.streamID])
    }
}
