import Foundation
public import Logging
import Metrics

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
    private let stream: AsyncStream<Item>
    private let continuation: AsyncStream<Item>.Continuation

    enum Item: Sendable {
        case notification(Notification, envelope: JSONValue)
        case tick
    }

    public init(
        kind: SinkKind, url: String, transport: any NotificationTransport, retry: RetryConfiguration,
        groupingWindow: Duration, dashboardURL: String?, clock: any WallClock, logger: Logger,
        queueCapacity: Int = 1000,
        onGiveUp: @escaping @Sendable (Notification, String) async -> Void
    ) {
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

    /// Delivers until cancelled, then finishes what is queued, without further retries.
    public func run() async {
        let ticker = Task { [continuation] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                continuation.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        var grouper = NotificationGrouper(window: groupingWindow)
        var envelopes: [String: JSONValue] = [:]
        await withTaskCancellationHandler {
            for await item in stream {
                switch item {
                case .notification(let notification, let envelope):
                    envelopes[notification.messageID] = envelope
                    if let now = grouper.offer(notification, now: clock.now) {
                        await deliver(now, envelope: envelope)
                    } else {
                        Counter(label: MetricNames.notifications, dimensions: [("sink", kind.rawValue), ("outcome", "grouped")]).increment()
                    }
                case .tick:
                    for summary in grouper.expire(now: clock.now) {
                        await deliver(summary, envelope: envelopes[summary.messageID] ?? .null)
                    }
                    if grouper.nextExpiry == nil { envelopes.removeAll(keepingCapacity: true) }
                }
            }
        } onCancel: { [continuation] in
            continuation.finish()
        }
    }

    private func deliver(_ notification: Notification, envelope: JSONValue) async {
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
                    return
                }
                lastProblem = "HTTP status \(status)"
                if (400..<500).contains(status) && status != 429 && status != 408 {
                    break  // The request itself is wrong; repeating it will not help.
                }
                if status == 429, let retryAfter {
                    backoff = .milliseconds(Int64(min(retryAfter, retry.maxBackoff.timeInterval) * 1000))
                }
            } catch is CancellationError {
                lastProblem = "shutting down"
                break
            } catch {
                lastProblem = "\(error)"
            }
            guard attempt < retry.maxAttempts, !Task.isCancelled else { break }
            logger.warning("notification not delivered; retrying", metadata: [
                "attempt": "\(attempt)", "problem": "\(lastProblem)", "retry.in_ms": "\(backoff.milliseconds)",
            ])
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, retry.maxBackoff)
        }
        Counter(label: MetricNames.notifications, dimensions: [("sink", kind.rawValue), ("outcome", "failed")]).increment()
        logger.error("notification given up", metadata: ["incident.id": "\(notification.incidentID)", "problem": "\(lastProblem)"])
        await onGiveUp(notification, lastProblem)
    }
}
