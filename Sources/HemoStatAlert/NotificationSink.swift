import Foundation
public import HemoStatCore
public import HemoStatModel
public import Logging
import Metrics
import ServiceLifecycle

/// Posts a JSON body to a URL; the one thing a notification sink needs from HTTP.
public protocol NotificationTransport: Sendable {
    /// POSTs `body` (JSON) to `url` and returns the status and, when present, the
    /// `Retry-After` header in seconds. Throws when no response arrived.
    func post(url: String, body: [UInt8]) async throws -> (status: Int, retryAfterSeconds: Double?)
}

/// Where notifications go: Slack or a generic webhook, each with its own queue, grouping and
/// retries, so a slow or failing endpoint delays nothing but itself.
public enum SinkKind: String, Sendable, Hashable {
    case slack
    case webhook
}

/// One destination's delivery loop.
///
/// ``enqueue(_:envelope:)`` never waits: items go into a bounded in-memory queue (the oldest
/// are kept when it is full, and drops are counted and logged). The loop groups repeats (see
/// ``NotificationGrouper``), sends, and retries with exponential backoff, honouring `429` with
/// `Retry-After`, up to ``RetryConfiguration/maxAttempts``; then it gives up and reports the
/// failure through `onGiveUp`. The URL is a secret and appears in no log line or error.
///
/// With an outbox, what was queued survives the process: the loop first sends what the outbox
/// holds for it, and removes an entry once it is delivered or given up. A graceful shutdown
/// ends the loop at once, with no further attempt: what is still undelivered stays in the
/// outbox for the next start.
public final class NotificationSink: Sendable {
    public let kind: SinkKind
    private let url: String
    private let transport: any NotificationTransport
    private let retry: RetryConfiguration
    private let groupingWindow: Duration
    private let dashboardURL: String?
    private let clock: any WallClock
    private let logger: Logger
    private let onGiveUp: @Sendable (Notification, String) async -> Void
    private let outbox: NotificationOutbox?
    private let stream: AsyncStream<Item>
    private let continuation: AsyncStream<Item>.Continuation

    enum Item: Sendable {
        case notification(Notification, envelope: JSONValue)
        case tick
    }

    public init(
        kind: SinkKind, url: String, transport: any NotificationTransport, retry: RetryConfiguration,
        groupingWindow: Duration, dashboardURL: String?, clock: any WallClock, logger: Logger,
        queueCapacity: Int = 1000, outbox: NotificationOutbox? = nil,
        onGiveUp: @escaping @Sendable (Notification, String) async -> Void
    ) {
        self.outbox = outbox
        self.kind = kind
        self.url = url
        self.transport = transport
        self.retry = retry
        self.groupingWindow = groupingWindow
        self.dashboardURL = dashboardURL
        self.clock = clock
        var logger = logger
        logger[metadataKey: "sink"] = .string(kind.rawValue)
        self.logger = logger
        self.onGiveUp = onGiveUp
        (stream, continuation) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingOldest(queueCapacity))
    }

    /// Queues a notification; returns at once.
    public func enqueue(_ notification: Notification, envelope: JSONValue) {
        if case .dropped = continuation.yield(.notification(notification, envelope: envelope)) {
            logger.error("notification queue full; notification dropped", metadata: ["incident.id": "\(notification.incidentID)"])
            Counter(label: MetricNames.notifications, dimensions: [("sink", kind.rawValue), ("outcome", "dropped")]).increment()
        }
    }

    /// Delivers until a graceful shutdown or cancellation, which end it at once: nothing more
    /// is attempted, and what is undelivered stays in the outbox.
    public func run() async {
        let ticker = Task { [continuation] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                continuation.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        await cancelWhenGracefulShutdown { [self] in
            await withTaskCancellationHandler {
                await self.deliverLoop()
            } onCancel: { [continuation] in
                continuation.finish()
            }
        }
    }

    private func deliverLoop() async {
        for entry in await queuedBefore() {
            guard !Task.isCancelled else { return }
            if await deliver(entry.notification, envelope: entry.envelope) == .interrupted { return }
            await forget([entry.notification.messageID])
        }
        var grouper = NotificationGrouper(window: groupingWindow)
        var envelopes: [String: JSONValue] = [:]
        // Message ids folded into a group's coming summary, by group key.
        var folded: [String: [String]] = [:]
        for await item in stream {
            switch item {
            case .notification(let notification, let envelope):
                envelopes[notification.messageID] = envelope
                if let now = grouper.offer(notification, now: clock.now) {
                    if await deliver(now, envelope: envelope) == .interrupted { return }
                    await forget([now.messageID])
                } else {
                    folded[notification.groupKey, default: []].append(notification.messageID)
                    Counter(label: MetricNames.notifications, dimensions: [("sink", kind.rawValue), ("outcome", "grouped")]).increment()
                }
            case .tick:
                for summary in grouper.expire(now: clock.now) {
                    if await deliver(summary, envelope: envelopes[summary.messageID] ?? .null) == .interrupted { return }
                    await forget(folded.removeValue(forKey: summary.groupKey) ?? [summary.messageID])
                }
                if grouper.nextExpiry == nil {
                    envelopes.removeAll(keepingCapacity: true)
                    folded.removeAll(keepingCapacity: true)
                }
            }
        }
    }

    /// What the outbox holds for this sink from before this process; waits for Redis (until
    /// shutdown) rather than skip it.
    private func queuedBefore() async -> [NotificationOutbox.Entry] {
        guard let outbox else { return [] }
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                let entries = try await outbox.entries(sink: kind, logger: logger)
                if !entries.isEmpty {
                    logger.info("sending notifications left undelivered by the previous process", metadata: ["alert.outbox.count": "\(entries.count)"])
                }
                return entries
            } catch {
                logger.warning("could not read the outbox; retrying", metadata: ["error": "\(error)", "retry.in_ms": "\(backoff.milliseconds)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        return []
    }

    /// Removes delivered (or given up) notifications from the outbox. A failure only means they
    /// may be sent once more by the next process.
    private func forget(_ messageIDs: [String]) async {
        guard let outbox else { return }
        do {
            try await outbox.remove(sink: kind, messageIDs: messageIDs)
        } catch {
            logger.warning("could not remove delivered notifications from the outbox; the next start may send them again", metadata: [
                "error": "\(error)",
            ])
        }
    }

    enum Delivery: Equatable {
        /// Delivered, or given up and reported.
        case finished
        /// Cut short by a shutdown: neither delivered nor given up.
        case interrupted
    }

    private func deliver(_ notification: Notification, envelope: JSONValue) async -> Delivery {
        let body: JSONValue = switch kind {
        case .slack: NotificationFormat.slack(notification, dashboardURL: dashboardURL)
        case .webhook: NotificationFormat.webhook(notification, envelope: envelope, dashboardURL: dashboardURL)
        }
        let bytes = Array(body.jsonText.utf8)
        var backoff = retry.initialBackoff
        var lastProblem = "not attempted"
        for attempt in 1...max(1, retry.maxAttempts) {
            do {
                let (status, retryAfter) = try await transport.post(url: url, body: bytes)
                if (200..<300).contains(status) {
                    Counter(label: MetricNames.notifications, dimensions: [("sink", kind.rawValue), ("outcome", "sent")]).increment()
                    logger.debug("notification sent", metadata: ["incident.id": "\(notification.incidentID)", "attempt": "\(attempt)"])
                    return .finished
                }
                lastProblem = "HTTP status \(status)"
                if (400..<500).contains(status) && status != 429 && status != 408 {
                    break  // The request itself is wrong; repeating it will not help.
                }
                if status == 429, let retryAfter {
                    backoff = .milliseconds(Int64(min(retryAfter, retry.maxBackoff.timeInterval) * 1000))
                }
            } catch {
                if Task.isCancelled { return .interrupted }
                lastProblem = "\(error)"
            }
            if Task.isCancelled { return .interrupted }
            guard attempt < retry.maxAttempts else { break }
            logger.warning("notification not delivered; retrying", metadata: [
                "attempt": "\(attempt)", "problem": "\(lastProblem)", "retry.in_ms": "\(backoff.milliseconds)",
            ])
            do { try await Task.sleep(for: backoff) } catch { return .interrupted }
            backoff = min(backoff * 2, retry.maxBackoff)
        }
        Counter(label: MetricNames.notifications, dimensions: [("sink", kind.rawValue), ("outcome", "failed")]).increment()
        logger.error("notification given up", metadata: ["incident.id": "\(notification.incidentID)", "problem": "\(lastProblem)"])
        await onGiveUp(notification, lastProblem)
        return .finished
    }
}
