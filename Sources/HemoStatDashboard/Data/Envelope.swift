import Foundation

/// One message of the contract as the dashboard reads it: `{event_type, timestamp, agent, data,
/// id, host}`. Unknown fields are kept in ``raw``.
struct Envelope: Sendable {
    var raw: JSONNode
    /// Stream entry id when read from a stream.
    var streamID: String?

    init?(_ text: String, streamID: String? = nil) {
        guard let value = JSONNode(parsing: text), value.object != nil else { return nil }
        raw = value
        self.streamID = streamID
    }

    init(raw: JSONNode, streamID: String? = nil) {
        self.raw = raw
        self.streamID = streamID
    }

    var eventType: String { raw["event_type"]?.string ?? "unknown" }
    var id: String? { raw["id"]?.string }
    var agent: String? { raw["agent"]?.string }
    var host: String? { raw["host"]?.string }
    var timestamp: String? { raw["timestamp"]?.string }
    var data: JSONNode { raw["data"] ?? .object([:]) }

    /// Milliseconds since the epoch: from the stream id when there is one, else the timestamp.
    var milliseconds: Int64 {
        if let streamID, let ms = StreamID.milliseconds(streamID) { return ms }
        if let ts = timestamp, let date = ISOTime.parse(ts) { return Int64(date.timeIntervalSince1970 * 1000) }
        return 0
    }

    var container: String? { data["container_name"]?.string ?? data["container"]?.string }
    var incidentID: String? { data["incident_id"]?.string }
    var action: String? { data["action"]?.string }
    var result: JSONNode? { data["result"] }
    var status: String? { result?["status"]?.string ?? data["status"]?.string }
    var dryRun: Bool { data["dry_run"]?.bool ?? false }
    var reason: String? { data["reason"]?.string ?? result?["reason"]?.string }
    var rule: String? { data["rule"]?.string ?? data["request"]?["rule"]?.string }
    var analysisMethod: String? { data["analysis_method"]?.string ?? data["request"]?["analysis_method"]?.string }

    /// One line an operator can read, built only from plain values (rendered as text).
    var summary: String {
        let name = container ?? "?"
        switch eventType {
        case "health_alert":
            var parts = ["\(name): \(data["status"]?.string ?? "?")"]
            if let health = data["health_status"]?.string, !health.isEmpty, health != "none" { parts.append("health \(health)") }
            if data["oom_killed"]?.bool == true { parts.append("OOM killed") }
            if let code = data["exit_code"]?.int, code != 0 { parts.append("exit \(code)") }
            let anomalies = (data["anomalies"]?.array ?? []).compactMap(Self.describeAnomaly)
            if !anomalies.isEmpty { parts.append(anomalies.joined(separator: ", ")) }
            return parts.joined(separator: ", ")
        case "remediation_needed":
            var s = "\(action ?? "act") \(name)"
            if let reason { s += ": \(reason)" }
            if let rule { s += " (rule \(rule))" }
            return s
        case "remediation_complete":
            var s = "\(action ?? "action") \(name): \(status ?? "?")"
            if let r = result?["reason"]?.string ?? data["reason"]?.string, !r.isEmpty { s += ", \(r)" }
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

    static func describeAnomaly(_ a: JSONNode) -> String? {
        guard let type = a["type"]?.string else { return nil }
        if let value = a["value"]?.double, let threshold = a["threshold"]?.double {
            return "\(type) \(Self.format(value)) > \(Self.format(threshold))"
        }
        return type
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e12 ? String(Int64(x)) : String(format: "%.1f", x)
    }

    /// The compact form the page lists: type, time, container, summary, ids, and the data.
    var listItem: JSONNode {
        .object([
            "event_type": .string(eventType),
            "id": .from(id),
            "stream_id": .from(streamID),
            "timestamp": .from(timestamp),
            "at": .number(Double(milliseconds)),
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
    static func milliseconds(_ id: String) -> Int64? {
        Int64(id.split(separator: "-", maxSplits: 1).first ?? "")
    }

    static func isValid(_ id: String) -> Bool {
        let parts = id.split(separator: "-", omittingEmptySubsequences: false)
        return (parts.count == 1 || parts.count == 2) && parts.allSatisfy { !$0.isEmpty && UInt64($0) != nil }
    }
}

enum ISOTime {
    static func parse(_ text: String) -> Date? {
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        if let d = try? withFraction.parse(text) { return d }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// A time given in a query: milliseconds since the epoch, or ISO-8601.
    static func parseQuery(_ text: String) -> Int64? {
        if let ms = Int64(text) { return ms }
        return parse(text).map { Int64($0.timeIntervalSince1970 * 1000) }
    }
}
