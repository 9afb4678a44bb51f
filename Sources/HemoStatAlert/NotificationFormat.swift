import Foundation
public import HemoStatModel

/// Turns a ``Notification`` into the body a sink expects.
public enum NotificationFormat {
    /// A Slack incoming-webhook body with Block Kit blocks: a header, the facts as fields, the
    /// reason, and a context line with the incident id and a dashboard link. `text` is the
    /// fallback shown in notifications.
    ///
    /// Text that containers control (names, reasons quoting health output) is escaped for
    /// Slack's mrkdwn (`&`, `<`, `>`), so it cannot inject links or mentions.
    public static func slack(_ n: Notification, dashboardURL: String?) -> JSONValue {
        let icon = switch n.severity {
        case .critical: "🔴"
        case .warning: "🟠"
        case .info: "🟢"
        }
        var title = "\(icon) \(n.title)"
        if n.repeatCount > 1 { title += " (×\(n.repeatCount))" }

        var fields: [JSONValue] = [
            field("Container", n.container),
            field("Host", n.host),
        ]
        if let action = n.action { fields.append(field("Action", action)) }
        if let result = n.result { fields.append(field("Result", result)) }
        if let decidedBy = decidedBy(n) { fields.append(field("Decided by", decidedBy)) }
        fields.append(field("Severity", n.severity.rawValue))
        if n.dryRun { fields.append(field("Mode", "DRY RUN — nothing was changed")) }
        if n.repeatCount > 1 { fields.append(field("Repeats", "\(n.repeatCount) times in the grouping window")) }

        var blocks: [JSONValue] = [
            .object(["type": "header", "text": .object(["type": "plain_text", "text": .string(escape(String(title.prefix(140)))), "emoji": true])]),
            .object(["type": "section", "fields": .array(Array(fields.prefix(10)))]),
        ]
        if !n.detail.isEmpty {
            blocks.append(.object(["type": "section", "text": mrkdwn(">" + escape(String(n.detail.prefix(2800))).replacingOccurrences(of: "\n", with: "\n>"))]))
        }
        var context = "incident `\(escape(n.incidentID))` · \(Timestamp.format(n.timestamp))"
        if let dashboardURL, !dashboardURL.isEmpty {
            context += " · <\(dashboardURL)|Open the dashboard>"
        }
        blocks.append(.object(["type": "context", "elements": .array([mrkdwn(context)])]))

        return .object([
            "text": .string(escape((n.dryRun ? "[DRY RUN] " : "") + n.title + (n.repeatCount > 1 ? " (×\(n.repeatCount))" : ""))),
            "blocks": .array(blocks),
        ])
    }

    /// The generic webhook body: the notification's facts plus the original envelope.
    public static func webhook(_ n: Notification, envelope: JSONValue, dashboardURL: String?) -> JSONValue {
        var object: [String: JSONValue] = [
            "event_type": .string(n.eventType),
            "container": .string(n.container),
            "host": .string(n.host),
            "severity": .string(n.severity.rawValue),
            "title": .string(n.title),
            "detail": .string(n.detail),
            "dry_run": .bool(n.dryRun),
            "incident_id": .string(n.incidentID),
            "timestamp": .string(Timestamp.format(n.timestamp)),
            "repeat_count": .integer(n.repeatCount),
            "message": envelope,
        ]
        if let action = n.action { object["action"] = .string(action) }
        if let result = n.result { object["result"] = .string(result) }
        if let rule = n.rule { object["rule"] = .string(rule) }
        if let method = n.analysisMethod { object["analysis_method"] = .string(method) }
        if let confidence = n.confidence { object["confidence"] = .number(confidence) }
        if let dashboardURL, !dashboardURL.isEmpty { object["dashboard_url"] = .string(dashboardURL) }
        return .object(object)
    }

    static func decidedBy(_ n: Notification) -> String? {
        guard let rule = n.rule else { return nil }
        var text = n.analysisMethod == "llm" ? "LLM (rule \(rule) was unsure)" : "rule \(rule)"
        if let confidence = n.confidence { text += String(format: ", confidence %.0f%%", confidence * 100) }
        return text
    }

    static func field(_ name: String, _ value: String) -> JSONValue {
        mrkdwn("*\(name)*\n\(escape(value))")
    }

    static func mrkdwn(_ text: String) -> JSONValue {
        .object(["type": "mrkdwn", "text": .string(text)])
    }

    /// Slack's three control characters in message text.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
