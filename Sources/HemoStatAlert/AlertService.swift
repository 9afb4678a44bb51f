import Foundation
public import HemoStatCore
public import HemoStatModel
import Logging
public import ServiceLifecycle

/// The alert agent: reads what the other agents decided and did, keeps the event log the
/// dashboard reads, and tells people through Slack and a generic webhook.
///
/// It reads `remediation_complete`, `false_alarm`, `escalation`, `container_recovered` and the
/// dead-letter stream, and
/// `health_alert` when `alert.include_health_alerts` is set, each through the consumer group
/// `alert`. Every message goes into the event log; the ones a sink is configured for (by event
/// type and `alert.min_severity`) are queued to it. Queuing never waits on a webhook, so a slow
/// endpoint never holds up the pipeline; the queue is kept in Redis (``NotificationOutbox``),
/// written in the same step as the event log, so a notification accepted is sent even when
/// the process stops first.
public struct AlertService: Service {
    public static let agentName = "alert"

    private let context: AgentContext
    private let eventLog: EventLog
    private let sinks: [(sink: NotificationSink, events: Set<Channel>)]
    private let outbox: NotificationOutbox
    private let logger: Logger

    /// - Parameter transport: how webhooks are posted (`HTTPNotificationTransport` in
    ///   production). Without a Slack or webhook URL configured, nothing is posted.
    public init(context: AgentContext, transport: any NotificationTransport) {
        self.context = context
        let alert = context.configuration.alert
        var logger = context.logger
        logger[metadataKey: "agent"] = .string(Self.agentName)
        self.logger = logger
        let eventLog = EventLog(redis: context.redis, keys: context.keys, capacity: alert.eventLogSize, ttl: alert.eventLogTTL)
        self.eventLog = eventLog
        let outbox = NotificationOutbox(redis: context.redis, key: context.keys.alertOutbox(consumer: context.consumerName(agent: Self.agentName)))
        self.outbox = outbox
        let onGiveUp: @Sendable (Notification, String) async -> Void = { notification, problem in
            let record: JSONValue = .object([
                "event_type": "notification_failed",
                "timestamp": .string(Timestamp.format(context.clock.now)),
                "agent": .string(Self.agentName),
                "host": .string(context.hostID),
                "id": .string(UUID().uuidString.lowercased()),
                "data": .object([
                    "container": .string(notification.container),
                    "incident_id": .string(notification.incidentID),
                    "notified_event_type": .string(notification.eventType),
                    "message_id": .string(notification.messageID),
                    "reason": .string(problem),
                ]),
            ])
            _ = try? await eventLog.append(eventType: "notification_failed", messageID: UUID().uuidString, json: record.jsonText)
        }
        var sinks: [(NotificationSink, Set<Channel>)] = []
        let targets: [(SinkKind, Secret?, [Channel])] = [
            (.slack, alert.slackWebhookURL, alert.slackEvents),
            (.webhook, alert.webhookURL, alert.webhookEvents),
        ]
        for (kind, url, events) in targets {
            guard let url else { continue }
            let sink = NotificationSink(
                kind: kind, url: url.reveal(), transport: transport, retry: alert.retry,
                groupingWindow: alert.groupingWindow, dashboardURL: alert.dashboardURL,
                clock: context.clock, logger: logger, outbox: outbox, onGiveUp: onGiveUp)
            sinks.append((sink, Set(events)))
        }
        self.sinks = sinks
    }

    /// The channels this agent reads.
    public var channels: [Channel] {
        var channels: [Channel] = [.remediationComplete, .falseAlarm, .escalation, .containerRecovered, .deadLetter]
        if context.configuration.alert.includeHealthAlerts { channels.append(.healthAlert) }
        return channels
    }

    public func run() async throws {
        logger.info("alert agent started", metadata: [
            "sinks": "\(sinks.map(\.sink.kind.rawValue))", "channels": "\(channels.map(\.eventType))",
        ])
        try await withThrowingDiscardingTaskGroup { group in
            for (sink, _) in sinks {
                group.addTask { await sink.run() }
            }
            for channel in channels {
                let consumer = context.consumer(channel: channel, group: Self.agentName, agent: Self.agentName) { delivery in
                    try await handle(delivery, channel: channel)
                }
                group.addTask { try await consumer.run() }
            }
        }
    }

    func handle(_ delivery: BusDelivery, channel: Channel) async throws -> BusDisposition {
        guard let text = delivery.message else { return .deadLetter(reason: "entry has no `message` field") }
        let message: Message
        do {
            message = try Message.decode(text, channel: channel)
        } catch {
            // The dead-letter stream keeps whatever arrives there; anything else malformed is
            // moved there with the reason.
            if channel == .deadLetter { return .ack }
            return .deadLetter(reason: error.reason)
        }
        let notification = Notification(message)
        let minimum = context.configuration.alert.minimumSeverity
        let targets = sinks.filter { sink, events in
            // Outcomes of actions are always told; severity filters the rest.
            guard let notification, events.contains(channel) else { return false }
            return channel == .remediationComplete || notification.severity >= minimum
        }.map(\.sink)
        let queued = targets.map { sink in
            (NotificationOutbox.field(sink: sink.kind, messageID: message.id), NotificationOutbox.value(channel: channel, message: text))
        }
        let isNew = try await eventLog.append(
            eventType: message.eventType, messageID: message.id, json: text,
            outbox: queued.isEmpty ? nil : (outbox.key, queued))
        guard isNew, let notification else { return .ack }
        let envelope = (try? JSONValue.parse(text)) ?? .null
        for sink in targets {
            sink.enqueue(notification, envelope: envelope)
        }
        return .ack
    }
}
