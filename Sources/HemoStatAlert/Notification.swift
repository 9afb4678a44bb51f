public import Foundation
public import HemoStatModel

/// What a person is told about one message: the facts an on-call engineer needs, independent of
/// where it is sent (Slack, a generic webhook).
public struct Notification: Sendable, Hashable {
    /// The message's `event_type` (`remediation_complete`, `escalation`, …).
    public var eventType: String
    public var container: String
    public var host: String
    public var severity: Severity
    /// One line: what happened.
    public var title: String
    /// The longer explanation (reason, anomalies).
    public var detail: String
    public var action: String?
    /// The remediation's result status, for `remediation_complete`.
    public var result: String?
    public var rule: String?
    /// `rules` or `llm`.
    public var analysisMethod: String?
    public var confidence: Double?
    public var dryRun: Bool
    public var incidentID: String
    public var messageID: String
    public var timestamp: Date
    /// How many messages of this container and event type this notification stands for.
    public var repeatCount: Int = 1

    /// The grouping key: the same container and event type are grouped, different containers
    /// never are.
    public var groupKey: String { "\(host)|\(container)|\(eventType)" }
}

extension Notification {
    /// The notification for a message, or nil for messages people are not notified about
    /// (remediation requests: their outcome is what matters).
    public init?(_ message: Message) {
        switch message {
        case .healthAlert(let m):
            let alert = m.data
            let kinds = alert.anomalies.map(\.type.rawValue)
            self.init(
                eventType: m.eventType, container: alert.containerName, host: m.host,
                severity: alert.highestSeverity ?? .warning,
                title: "\(alert.containerName) is unwell: \(kinds.isEmpty ? alert.status : kinds.joined(separator: ", "))",
                detail: alert.anomalies.map { anomaly in
                    anomaly.message ?? "\(anomaly.type.rawValue): \(Self.number(anomaly.value)) (threshold \(Self.number(anomaly.threshold)))"
                }.joined(separator: "\n"),
                action: nil, result: nil, rule: nil, analysisMethod: nil, confidence: nil,
                dryRun: false, incidentID: alert.incidentID, messageID: m.id, timestamp: m.timestamp)
        case .remediationNeeded:
            return nil
        case .falseAlarm(let m):
            let alarm = m.data
            self.init(
                eventType: m.eventType, container: alarm.container, host: m.host, severity: .info,
                title: "False alarm on \(alarm.container): no action taken",
                detail: alarm.reason, action: nil, result: nil, rule: alarm.rule,
                analysisMethod: alarm.analysisMethod.rawValue, confidence: alarm.confidence,
                dryRun: false, incidentID: alarm.incidentID, messageID: m.id, timestamp: m.timestamp)
        case .remediationComplete(let m):
            let done = m.data
            let severity: Severity = switch done.result.status {
            case .success, .skipped: .info
            case .rejected: .warning
            case .failed, .ineffective: .critical
            }
            let verb = done.dryRun ? "would \(done.action.rawValue)" : done.action.rawValue
            self.init(
                eventType: m.eventType, container: done.container, host: m.host, severity: severity,
                title: "\(done.dryRun ? "[DRY RUN] " : "")\(done.container): \(verb) — \(done.result.status.rawValue)",
                detail: done.result.reason, action: done.action.rawValue, result: done.result.status.rawValue,
                rule: done.rule, analysisMethod: done.analysisMethod.rawValue, confidence: nil,
                dryRun: done.dryRun, incidentID: done.incidentID, messageID: m.id, timestamp: m.timestamp)
        case .escalation(let m):
            let escalation = m.data
            self.init(
                eventType: m.eventType, container: escalation.container, host: m.host, severity: escalation.severity,
                title: "\(escalation.container) needs a human",
                detail: escalation.reason, action: escalation.action?.rawValue, result: nil,
                rule: escalation.rule, analysisMethod: nil, confidence: nil,
                dryRun: false, incidentID: escalation.incidentID, messageID: m.id, timestamp: m.timestamp)
        case .containerRecovered(let m):
            let recovered = m.data
            let kinds = recovered.resolvedAnomalies.map(\.rawValue).joined(separator: ", ")
            self.init(
                eventType: m.eventType, container: recovered.containerName, host: m.host, severity: .info,
                title: "\(recovered.containerName) recovered",
                detail: "\(kinds.isEmpty ? "incident" : kinds) resolved after \(Self.number(recovered.durationSeconds.rounded())) s; now \(recovered.status)",
                action: nil, result: nil, rule: nil, analysisMethod: nil, confidence: nil,
                dryRun: false, incidentID: recovered.incidentID, messageID: m.id, timestamp: m.timestamp)
        case .deadLetter(let m):
            self.init(
                eventType: m.eventType, container: "-", host: m.host, severity: .warning,
                title: "A message on \(m.data.sourceChannel) could not be handled",
                detail: m.data.reason, action: nil, result: nil, rule: nil, analysisMethod: nil,
                confidence: nil, dryRun: false, incidentID: m.data.incidentID, messageID: m.id, timestamp: m.timestamp)
        }
    }

    static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.1f", value)
    }
}
