import Foundation
import HemoStatModel

/// One message as the dashboard shows it: a lenient view over its JSON (`{event_type,
/// timestamp, agent, data, id, host}`), so that a message of an unknown kind, or one an agent
/// would refuse, is still listed. The contract's typed message is HemoStatModel's `Envelope`;
/// this view decodes nothing. Unknown fields are kept in ``raw``.
struct MessageView: Sendable {
    var raw: JSONValue
    /// Stream entry id when read from a stream.
    var streamID: String?

    init?(_ text: String, streamID: String? = nil) {
        guard let value = (try? JSONValue.parse(text)), value.objectValue != nil else { return nil }
        raw = value
        self.streamID = streamID
    }

    init(raw: JSONValue, streamID: String? = nil) {
        self.raw = raw
        self.streamID = streamID
    }

    var eventType: String { raw["event_type"]?.stringValue ?? "unknown" }
    var id: String? { raw["id"]?.stringValue }
    var agent: String? { raw["agent"]?.stringValue }
    var host: String? { raw["host"]?.stringValue }
    var timestamp: String? { raw["timestamp"]?.stringValue }
    var data: JSONValue { raw["data"] ?? .object([:]) }

    /// Milliseconds since the epoch: from the stream id when there is one, else the timestamp.
    var milliseconds: Int {
        if let streamID, let ms = StreamID.milliseconds(streamID) { return ms }
        if let ts = timestamp, let date = Timestamp.parse(ts) { return Int(date.timeIntervalSince1970 * 1000) }
        return 0
    }

    var container: String? { data["container_name"]?.stringValue ?? data["container"]?.stringValue }
    var incidentID: String? { data["incident_id"]?.stringValue }
    var action: String? { data["action"]?.stringValue }
    var result: JSONValue? { data["result"] }
    var status: String? { result?["status"]?.stringValue ?? data["status"]?.stringValue }
    var dryRun: Bool { data["dry_run"]?.boolValue ?? false }
    var reason: String? { data["reason"]?.stringValue ?? result?["reason"]?.stringValue }
    var rule: String? { data["rule"]?.stringValue ?? data["request"]?["rule"]?.stringValue }
    var analysisMethod: String? { data["analysis_method"]?.stringValue ?? data["request"]?["analysis_method"]?.stringValue }

    /// One line an operator can read, built only from plain values (rendered as text).
    var summary: String {
        let name = container ?? "?"
        switch eventType {
        case "health_alert":
            var parts = ["\(name): \(data["status"]?.stringValue ?? "?")"]
            if let health = data["health_status"]?.stringValue, !health.isEmpty, health != "none" { parts.append("health \(health)") }
            // An anomaly already said as OOM killed or an exit code is not said again.
            var said: Set<String> = []
            if data["oom_killed"]?.boolValue == true {
                parts.append("OOM killed")
                said.insert("oom_killed")
            }
            if let code = data["exit_code"]?.intValue, code != 0 {
                parts.append("exit \(code)")
                said.insert("non_zero_exit")
            }
            let anomalies = (data["anomalies"]?.arrayValue ?? [])
                .filter { !said.contains($0["type"]?.stringValue ?? "") }
                .compactMap(Self.describeAnomaly)
            if !anomalies.isEmpty { parts.append(anomalies.joined(separator: ", ")) }
            return parts.joined(separator: ", ")
        case "remediation_needed":
            var s = "\(action ?? "act") \(name)"
            if let reason { s += ": \(reason)" }
            if let rule { s += " (rule \(rule))" }
            return s
        case "remediation_complete":
            var s = "\(action ?? "action") \(name): \(status ?? "?")"
            if let r = result?["reason"]?.stringValue ?? data["reason"]?.stringValue, !r.isEmpty { s += ", \(r)" }
            return s
        case "false_alarm":
            return "false alarm on \(name)" + (reason.map { ": \($0)" } ?? "")
        case "escalation":
            return "escalated \(name)" + (reason.map { ": \($0)" } ?? "")
        case "container_recovered":
            return "\(name) recovered"
        default:
            return "\(eventType) \(name)"
        }
    }

    static func describeAnomaly(_ a: JSONValue) -> String? {
        guard let type = a["type"]?.stringValue else { return nil }
        if let value = a["value"]?.doubleValue, let threshold = a["threshold"]?.doubleValue {
            return "\(type) \(Self.format(value)) > \(Self.format(threshold))"
        }
        return type
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e12 ? String(Int(x)) : String(format: "%.1f", x)
    }

    /// The compact form the page lists: type, time, container, summary, ids, and the data.
    var listItem: JSONValue {
        .object([
            "event_type": .string(eventType),
            "id": .from(id),
            "stream_id": .from(streamID),
            "timestamp": .from(timestamp),
            "at": .integer(milliseconds),
            "agent": .from(agent),
            "host": .from(host),
            "container": .from(container),
            "incident_id": .from(incidentID),
            "summary": .string(summary),
            "data": data.redactingSecrets(),
        ])
    }
}

/// Redis stream ids: `<milliseconds>-<sequence>`.
enum StreamID {
    static func milliseconds(_ id: String) -> Int? {
        Int(id.split(separator: "-", maxSplits: 1).first ?? "")
    }

    static func isValid(_ id: String) -> Bool {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        return (parts.count == 1 || parts.count == 2) && parts.allSatisfy { !$0.isEmpty && UInt64($0) != nil }
    }
}
