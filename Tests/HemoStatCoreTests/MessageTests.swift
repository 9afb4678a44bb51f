import Foundation
@testable import HemoStatModel
@testable import HemoStatMonitor
@testable import HemoStatResponder
import Testing

@Suite struct MessageRoundTripTests {
    static let when = Timestamp.parse("2025-11-03T10:30:45.123456Z")!

    static var alert: HealthAlert {
        HealthAlert(
            containerID: "4f2a9c1d8e7b", containerName: "api", image: "shop/api:1.4", status: "running", healthStatus: "unhealthy",
            exitCode: 0, oomKilled: false, restartCount: 2, labels: ["com.example.team": "payments", "hemostat.enable": "true"],
            stoppedByOperator: false, startedAt: when.addingTimeInterval(-3600), finishedAt: nil,
            metrics: ContainerMetrics(
                cpuPercent: 92.5, memoryPercent: 45.25, memoryUsage: 241_172_480, memoryLimit: 536_870_912,
                networkRxBytes: 1_024, networkTxBytes: 2_048, blkioReadBytes: 4_096, blkioWriteBytes: 8_192, pids: 17),
            anomalies: [
                Anomaly(type: .highCPU, severity: .critical, value: 92.5, threshold: 85, message: "CPU above 85% for 3 samples"),
                Anomaly(type: .memoryGrowth, severity: .warning, value: 45.25, threshold: 80, projectedSecondsToLimit: 420.5),
            ],
            source: .poll, incidentID: "9d1c8a52-6f0e-4a43-9a8c-0d2b6e0f1a77", detectedAt: when)
    }

    func roundTrip<P: MessagePayload>(_ payload: P) throws -> Envelope<P> {
        let envelope = Envelope(agent: "test", host: "web-01", data: payload, timestamp: Self.when)
        let decoded = try Envelope<P>.decode(envelope.encode())
        #expect(decoded == envelope)
        #expect(try Envelope<P>.decode(envelope.encodedBytes()) == envelope)
        let any = try Message.decode(envelope.encode())
        #expect(any.id == envelope.id)
        #expect(any.channel == P.channel)
        #expect(any.encode() == envelope.encode())
        return decoded
    }

    @Test func healthAlert() throws {
        let decoded = try roundTrip(Self.alert)
        #expect(decoded.data.highestSeverity == .critical)
        var stopped = Self.alert
        stopped.metrics = nil
        stopped.status = "exited"
        stopped.exitCode = 137
        stopped.oomKilled = true
        stopped.stoppedByOperator = true
        stopped.finishedAt = Timestamp.normalized(Self.when)
        stopped.source = .event
        _ = try roundTrip(stopped)
    }

    @Test func remediationNeeded() throws {
        _ = try roundTrip(RemediationNeeded(
            container: "api", containerID: "4f2a9c1d8e7b", action: .updateResources,
            parameters: ActionParameters(memoryLimit: 1_073_741_824, cpus: 1.5),
            reason: "memory grows towards the limit", confidence: 0.85, rule: "rules/memory.lua:on_alert",
            analysisMethod: .rules, dryRun: true, incidentID: "inc-1", alertID: "alert-1"))
        _ = try roundTrip(RemediationNeeded(
            container: "api", containerID: "4f2a9c1d8e7b", action: .restart, reason: "unhealthy", confidence: 1,
            rule: "claude-sonnet", analysisMethod: .llm, dryRun: false, incidentID: "inc-2", alertID: "alert-2"))
        let withAlertFields = try roundTrip(RemediationNeeded(
            container: "api", containerID: "4f2a9c1d8e7b", action: .start, reason: "exited", confidence: 1,
            rule: "rules/crash.lua:on_alert", analysisMethod: .rules, dryRun: false, incidentID: "inc-3", alertID: "alert-3",
            detectedAt: Self.when, stoppedByOperator: false))
        #expect(withAlertFields.data.detectedAt == Self.when)
        #expect(withAlertFields.data.stoppedByOperator == false)
        #expect(withAlertFields.encode().contains(#""stopped_by_operator":false"#))
    }

    @Test func falseAlarm() throws {
        _ = try roundTrip(FalseAlarm(
            container: "batch", containerID: "77aa", reason: "scheduled job peaks every hour", confidence: 0.7,
            rule: "rules/batch.lua:on_alert", analysisMethod: .rules, incidentID: "inc-3", alertID: "alert-3"))
    }

    @Test func remediationComplete() throws {
        let timings = RemediationTimings(detectedAt: Self.when, decidedAt: Self.when.addingTimeInterval(1), startedAt: Self.when.addingTimeInterval(1.5), finishedAt: Self.when.addingTimeInterval(13.25))
        let decoded = try roundTrip(RemediationComplete(
            container: "api", containerID: "4f2a9c1d8e7b", action: .restart,
            result: RemediationResult(status: .success, reason: "running and healthy after restart"),
            dryRun: false, analysisMethod: .rules, rule: "rules/health.lua:on_alert", incidentID: "inc-4", requestID: "req-4", timings: timings))
        #expect(decoded.data.timings?.timeToFix == 13.25)
        _ = try roundTrip(RemediationComplete(
            container: "api", containerID: "4f2a9c1d8e7b", action: .restart,
            result: RemediationResult(status: .rejected, reason: "cooldown_active", retryAfterSeconds: 1800),
            dryRun: false, analysisMethod: .rules, rule: "r", incidentID: "inc-5"))
    }

    @Test func escalationAndDeadLetter() throws {
        _ = try roundTrip(Escalation(container: "api", containerID: "4f2a", severity: .critical, reason: "circuit breaker open after 3 failed restarts", action: .restart, rule: "r", incidentID: "inc-6"))
        _ = try roundTrip(DeadLetter(sourceChannel: Channel.healthAlert.rawValue, sourceID: "1700000000000-0", rawMessage: "{\"x\":1}", reason: "event_type: missing", consumer: "analyzer-1"))
    }

    @Test func encodingUsesContractFieldNames() throws {
        let text = Envelope(agent: "monitor", host: "web-01", data: Self.alert, id: "m-1", timestamp: Self.when).encode()
        #expect(text.hasPrefix(#"{"event_type":"health_alert","timestamp":"2025-11-03T10:30:45.123456Z","agent":"monitor","host":"web-01","id":"m-1","data":{"#))
        guard case .object(let message) = try JSONValue.parse(text), case .object(let data)? = message["data"],
              case .object(let metrics)? = data["metrics"], case .array(let anomalies)? = data["anomalies"],
              case .object(let anomaly)? = anomalies.last
        else {
            Issue.record("unexpected shape: \(text)")
            return
        }
        #expect(Set(data.keys) == [
            "container_id", "container_name", "image", "status", "health_status", "exit_code", "oom_killed", "restart_count",
            "labels", "stopped_by_operator", "started_at", "metrics", "anomalies", "source", "incident_id", "detected_at",
        ])
        #expect(Set(metrics.keys) == [
            "cpu_percent", "memory_percent", "memory_usage", "memory_limit", "network_rx_bytes", "network_tx_bytes",
            "blkio_read_bytes", "blkio_write_bytes", "pids",
        ])
        #expect(Set(anomaly.keys) == ["type", "severity", "value", "threshold", "projected_seconds_to_limit"])
        #expect(metrics["memory_limit"] == .integer(536_870_912))
    }

    @Test func channelNames() {
        #expect(Channel.allCases.map(\.rawValue) == [
            "hemostat:health_alert", "hemostat:remediation_needed", "hemostat:false_alarm",
            "hemostat:remediation_complete", "hemostat:escalation", "hemostat:container_recovered",
            "hemostat:dead_letter",
        ])
        #expect(Channel.healthAlert.eventType == "health_alert")
        #expect(Channel.falseAlarm.key(prefix: "staging:") == "staging:false_alarm")
        #expect(Channel(eventType: "remediation_complete") == .remediationComplete)
    }

    @Test func timestamps() throws {
        #expect(Timestamp.format(Timestamp.parse("1999-12-31T23:59:59Z")!) == "1999-12-31T23:59:59.000000Z")
        // Python's datetime.now(UTC).isoformat() and other offsets.
        #expect(Timestamp.parse("2025-11-03T10:30:45.123456+00:00") == Self.when)
        #expect(Timestamp.parse("2025-11-03T12:30:45.123456+02:00") == Self.when)
        #expect(Timestamp.format(Timestamp.parse("2024-02-29T00:00:00.5Z")!) == "2024-02-29T00:00:00.500000Z")
        #expect(Timestamp.parse("2025-02-29T00:00:00Z") == nil)
        #expect(Timestamp.parse("2025-11-03T10:30:45") == nil)
        #expect(Timestamp.parse("yesterday") == nil)
    }
}

@Suite struct MessageCompatibilityTests {
    /// A health alert as a Python producer in the style of the original HemoStat writes it:
    /// `datetime.now(UTC).isoformat()` timestamps, `container_unhealthy` as event type, integer
    /// byte counts, extra fields the contract does not know.
    static let pythonStyleAlert = """
    {
      "event_type": "container_unhealthy",
      "timestamp": "2025-11-03T10:30:45.123456+00:00",
      "agent": "monitor",
      "host": "docker-host-1",
      "id": "0b0f8e1e-49c9-4f6c-a0e5-2b1f1b6f2a10",
      "data": {
        "container_id": "4f2a9c1d8e7b",
        "container_name": "hemostat-test-api",
        "image": "hemostat-test-api:latest",
        "status": "running",
        "health_status": "healthy",
        "exit_code": 0,
        "oom_killed": false,
        "restart_count": 0,
        "labels": {},
        "stopped_by_operator": false,
        "metrics": {
          "cpu_percent": 92.5, "memory_percent": 45, "memory_usage": 241172480, "memory_limit": 536870912,
          "network_rx_bytes": 0, "network_tx_bytes": 0, "blkio_read_bytes": 0, "blkio_write_bytes": 0,
          "pids": 4, "cache": 1024
        },
        "anomalies": [{"type": "high_cpu", "severity": "critical", "value": 92.5, "threshold": 85, "actual": 92.5}],
        "source": "poll",
        "incident_id": "inc-42",
        "detected_at": "2025-11-03T10:30:45+00:00",
        "issues": ["High CPU: 92.5%"]
      }
    }
    """

    @Test func decodesOriginalStyleMessage() throws {
        let message = try Envelope<HealthAlert>.decode(Self.pythonStyleAlert)
        #expect(message.eventType == "container_unhealthy")
        #expect(message.agent == "monitor")
        #expect(message.timestamp == Timestamp.parse("2025-11-03T10:30:45.123456Z"))
        #expect(message.data.metrics?.cpuPercent == 92.5)
        #expect(message.data.metrics?.memoryPercent == 45)
        #expect(message.data.anomalies == [Anomaly(type: .highCPU, severity: .critical, value: 92.5, threshold: 85)])
        #expect(message.incidentID == "inc-42")
        guard case .healthAlert(let same) = try Message.decode(Self.pythonStyleAlert) else {
            Issue.record("not read as a health alert")
            return
        }
        #expect(same == message)
    }

    /// What `redis-cli XADD hemostat:remediation_needed '*' message '{...}'` from a script carries.
    @Test func decodesHandWrittenRemediationRequest() throws {
        let text = #"{"event_type":"remediation_needed","timestamp":"2025-11-03T10:31:00Z","agent":"ops-script","host":"web-01","id":"manual-1","data":{"container":"api","container_id":"4f2a","action":"restart","reason":"manual","confidence":1,"rule":"manual","analysis_method":"rules","dry_run":true,"incident_id":"manual-1","alert_id":"none"}}"#
        let message = try Message.decode(text, channel: .remediationNeeded)
        guard case .remediationNeeded(let request) = message else {
            Issue.record("wrong kind")
            return
        }
        #expect(request.data.action == .restart)
        #expect(request.data.confidence == 1)
        #expect(request.data.parameters == nil)
    }
}

@Suite struct OriginalContractTests {
    /// A health alert as the original HemoStat's monitor sends it: the contract's fields only,
    /// severities named low, medium and high.
    static let originalAlert = """
    {"event_type":"health_alert","timestamp":"2025-11-03T10:30:45Z","agent":"monitor","host":"web-01","id":"orig-1",
     "data":{"container_id":"4f2a9c1d8e7b","container_name":"api","image":"shop/api:1.4","status":"running","health_status":"healthy",
      "exit_code":0,"oom_killed":false,"restart_count":0,
      "metrics":{"cpu_percent":92.5,"memory_percent":45.2,"memory_usage":241172480,"memory_limit":536870912,"network_rx_bytes":1024,
       "network_tx_bytes":2048,"blkio_read_bytes":4096,"blkio_write_bytes":8192},
      "anomalies":[{"type":"high_cpu","severity":"medium","value":92.5,"threshold":85},{"type":"restart_loop","severity":"HIGH"},
       {"type":"container_stopped","severity":"low","value":1,"threshold":0}],
      "source":"poll"}}
    """

    @Test func anAlertOfTheOriginalContractIsReadWithDefaults() throws {
        let alert = try Envelope<HealthAlert>.decode(Self.originalAlert)
        #expect(alert.data.incidentID == "orig-1", "an incident named after the message")
        #expect(alert.data.detectedAt == Timestamp.parse("2025-11-03T10:30:45Z"))
        #expect(alert.data.stoppedByOperator == nil && alert.data.labels.isEmpty, "not said: how it went down is unknown")
        #expect(alert.data.metrics?.pids == 0)
        #expect(alert.data.anomalies.map(\.severity) == [.warning, .critical, .info])
        #expect(alert.data.anomalies[1].value == 0 && alert.data.anomalies[1].threshold == 0)
        #expect(alert.container == ContainerRef(host: "web-01", name: "api"))
    }

    @Test func whatCannotBeUnderstoodIsStillRejected() {
        let unknownSeverity = Self.originalAlert.replacingOccurrences(of: #""severity":"low""#, with: #""severity":"sometimes""#)
        #expect(throws: MessageDecodingError.self) { try Envelope<HealthAlert>.decode(unknownSeverity) }
        let noName = Self.originalAlert.replacingOccurrences(of: #""container_name":"api","#, with: "")
        #expect(throws: MessageDecodingError.self) { try Envelope<HealthAlert>.decode(noName) }
    }
}

@Suite struct MessageValidationTests {
    static let valid = Envelope(
        agent: "analyzer", host: "web-01",
        data: RemediationNeeded(
            container: "api", containerID: "4f2a", action: .restart, reason: "unhealthy", confidence: 0.9, rule: "r",
            analysisMethod: .rules, dryRun: false, incidentID: "inc", alertID: "a"),
        id: "m-1", timestamp: Date(timeIntervalSince1970: 1_700_000_000))

    /// The valid request with one change made to its JSON.
    func mutated(_ change: (inout [String: JSONValue], inout [String: JSONValue]) -> Void) -> String {
        guard case .object(let message) = Self.valid.json, case .object(var data)? = message["data"] else { return "" }
        var changedMessage = message
        change(&changedMessage, &data)
        if changedMessage["data"] == message["data"] { changedMessage["data"] = .object(data) }
        return JSONValue.object(changedMessage).jsonText
    }

    func rejection(_ text: String) -> MessageDecodingError? {
        do {
            _ = try Envelope<RemediationNeeded>.decode(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func validMessagePasses() {
        #expect(rejection(mutated { _, _ in }) == nil)
    }

    @Test func missingEnvelopeField() {
        let error = rejection(mutated { message, _ in message["event_type"] = nil })
        #expect(error?.reason == "event_type: missing")
        #expect(error?.code == .missingField)
        #expect(error?.path == "event_type")
    }

    @Test func missingDataField() {
        #expect(rejection(mutated { _, data in data["container"] = nil })?.reason == "data.container: missing")
        #expect(rejection(mutated { _, data in data["dry_run"] = nil })?.reason == "data.dry_run: missing")
    }

    @Test func aRequestWithTheContractsFieldsOnlyIsRead() throws {
        // As a script writes it: no container_id, incident_id or alert_id.
        let text = mutated { _, data in
            data["container_id"] = nil
            data["incident_id"] = nil
            data["alert_id"] = nil
        }
        let request = try Envelope<RemediationNeeded>.decode(text)
        #expect(request.data.incidentID == "m-1", "the incident is named after the message")
        #expect(request.data.alertID.isEmpty && request.data.containerID.isEmpty)
        #expect(ResponderService.requestID(for: request) == "m-1")
        #expect(request.container == ContainerRef(host: "web-01", name: "api"), "no data.host: the envelope's host")
        let named = try Envelope<RemediationNeeded>.decode(mutated { _, data in data["host"] = "web-02" })
        #expect(named.container == ContainerRef(host: "web-02", name: "api"))
    }

    @Test func wrongTypes() {
        let error = rejection(mutated { _, data in data["confidence"] = "high" })
        #expect(error?.reason == "data.confidence: expected a number, found a string")
        #expect(error?.code == .wrongType)
        #expect(rejection(mutated { _, data in data["dry_run"] = "false" })?.reason == "data.dry_run: expected a boolean, found a string")
        #expect(rejection(mutated { message, _ in message["data"] = [1, 2] })?.reason == "data: expected an object, found an array")
        #expect(rejection(mutated { _, data in data["parameters"] = ["command": ["sh", 1]] })?.reason
            == "data.parameters.command[1]: expected a string, found a number")
    }

    @Test func nestedMetricsPath() throws {
        guard case .object(var message) = try JSONValue.parse(MessageCompatibilityTests.pythonStyleAlert),
              case .object(var data)? = message["data"], case .object(var metrics)? = data["metrics"]
        else {
            Issue.record("fixture is not an object")
            return
        }
        metrics["cpu_percent"] = "92.5"
        data["metrics"] = .object(metrics)
        message["data"] = .object(data)
        #expect(throws: MessageDecodingError(code: .wrongType, path: "data.metrics.cpu_percent", reason: "data.metrics.cpu_percent: expected a number, found a string")) {
            try Envelope<HealthAlert>.decode(JSONValue.object(message).jsonText)
        }
        data["metrics"] = nil
        data["anomalies"] = [["type": "high_cpu", "severity": "banana", "value": 1, "threshold": 1]]
        message["data"] = .object(data)
        let error = #expect(throws: MessageDecodingError.self) { try Envelope<HealthAlert>.decode(JSONValue.object(message).jsonText) }
        #expect(error?.reason == #"data.anomalies[0].severity: expected one of info, warning, critical (or low, medium, high), found "banana""#)
    }

    @Test func unknownEnumValues() {
        let action = rejection(mutated { _, data in data["action"] = "reboot" })
        #expect(action?.code == .invalidValue)
        #expect(action?.reason.hasPrefix(#"data.action: unknown value "reboot"; expected one of restart, start"#) == true)
        #expect(rejection(mutated { _, data in data["analysis_method"] = "magic" })?.path == "data.analysis_method")
    }

    @Test func outOfRangeAndEmpty() {
        #expect(rejection(mutated { _, data in data["confidence"] = 1.5 })?.reason == "data.confidence: must be between 0 and 1, found 1.5")
        #expect(rejection(mutated { _, data in data["container"] = "" })?.reason == "data.container: must not be empty")
        #expect(rejection(mutated { message, _ in message["timestamp"] = "last tuesday" })?.path == "timestamp")
    }

    @Test func unknownFieldsAreTolerated() {
        let text = mutated { message, data in
            message["trace_id"] = "abc"
            data["extra"] = ["nested": true]
        }
        #expect(rejection(text) == nil)
    }

    @Test func wrongEventTypeForChannel() {
        let error = rejection(mutated { message, _ in message["event_type"] = "health_alert" })
        #expect(error?.code == .unknownEventType)
        #expect(throws: MessageDecodingError.self) { try Message.decode(mutated { message, _ in message["event_type"] = "nope" }) }
    }

    @Test func invalidJSON() {
        for text in ["", "{", #"{"a":1,}"#, "[1] 2", #"{"a":"\ud800"}"#, #"{"a":01}"#] {
            #expect(rejection(text)?.code == .invalidJSON, "\(text)")
        }
        let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(rejection(deep)?.code == .invalidJSON)
    }

    @Test func jsonStringsRoundTrip() throws {
        let value: JSONValue = ["s": "quote \" backslash \\ newline \n tab \t nul \u{0} emoji 🩸", "n": -0.5, "i": -12, "b": false, "z": nil]
        #expect(try JSONValue.parse(value.jsonText) == value)
        #expect(try JSONValue.parse(#""\u00e9\ud83e\ude78""#) == "é🩸")
    }
}
