public import Foundation

/// How the analyzer reached its decision.
public enum AnalysisMethod: String, Sendable, Hashable, CaseIterable {
    /// A Lua rule decided.
    case rules
    /// The rules found the case ambiguous and an LLM decided.
    case llm
}

/// Details for actions that need them; every field is optional and only the ones the action
/// uses are read.
public struct ActionParameters: Sendable, Hashable {
    /// For `kill`: the signal name or number, e.g. `SIGTERM` or `9`.
    public var signal: String?
    /// For `update_resources`: the new memory limit in bytes.
    public var memoryLimit: Int?
    /// For `update_resources`: the new CPU limit in CPUs (1.5 = one and a half).
    public var cpus: Double?
    /// For `exec`: the command and its arguments; it must be on the responder's allowlist.
    public var command: [String]?
    /// For `stop` and `restart`: seconds to wait before killing.
    public var timeoutSeconds: Int?

    public init(signal: String? = nil, memoryLimit: Int? = nil, cpus: Double? = nil, command: [String]? = nil, timeoutSeconds: Int? = nil) {
        self.signal = signal
        self.memoryLimit = memoryLimit
        self.cpus = cpus
        self.command = command
        self.timeoutSeconds = timeoutSeconds
    }

    init(reader: ObjectReader) throws(MessageDecodingError) {
        signal = try reader.optionalString("signal")
        memoryLimit = try reader.optionalInt("memory_limit", minimum: 1)
        cpus = try reader.optionalDouble("cpus", range: 0.01...1024)
        command = try reader.optionalStringArray("command")
        timeoutSeconds = try reader.optionalInt("timeout_seconds", minimum: 0)
    }

    package var json: JSONValue {
        var o = ObjectBuilder()
        o.set("signal", signal)
        o.set("memory_limit", memoryLimit)
        o.set("cpus", cpus)
        o.set("command", command)
        o.set("timeout_seconds", timeoutSeconds)
        return o.value
    }
}

/// `hemostat:remediation_needed` (Analyzer -> Responder): act on a container.
public struct RemediationNeeded: ContainerPayload {
    public static let channel = Channel.remediationNeeded
    /// The Docker host of the container; nil when the message leaves it to its envelope's `host`.
    public var host: String?
    public var containerName: String { container }

    /// The container's name.
    public var container: String
    public var containerID: String
    public var action: RuleAction
    public var parameters: ActionParameters?
    /// Why, in a sentence.
    public var reason: String
    /// 0...1.
    public var confidence: Double
    /// The rule that decided (file:function for Lua rules, the model for LLM decisions).
    public var rule: String
    public var analysisMethod: AnalysisMethod
    /// When true the responder evaluates its safety gate but never touches the container.
    public var dryRun: Bool
    public var incidentID: String
    /// The `id` of the health alert message this answers.
    public var alertID: String
    /// When the monitor first saw the problem (the alert's `detected_at`), for time-to-fix.
    public var detectedAt: Date?
    /// The alert's `stopped_by_operator`: true, the responder leaves the container alone; false,
    /// the monitor saw the exit before ``detectedAt`` happen on its own, so its exit code is
    /// not taken for an operator's stop.
    public var stoppedByOperator: Bool?

    public init(
        container: String, containerID: String, action: RuleAction, parameters: ActionParameters? = nil,
        reason: String, confidence: Double, rule: String, analysisMethod: AnalysisMethod, dryRun: Bool,
        incidentID: String, alertID: String, detectedAt: Date? = nil, stoppedByOperator: Bool? = nil, host: String? = nil
    ) {
        self.host = host
        self.container = container
        self.containerID = containerID
        self.action = action
        self.parameters = parameters
        self.reason = reason
        self.confidence = confidence
        self.rule = rule
        self.analysisMethod = analysisMethod
        self.dryRun = dryRun
        self.incidentID = incidentID
        self.alertID = alertID
        self.detectedAt = detectedAt.map(Timestamp.normalized)
        self.stoppedByOperator = stoppedByOperator
    }

    /// When the alert said the monitor saw the container go down on its own: its `detected_at`.
    public var ownExitSeenBy: Date? {
        stoppedByOperator == false ? detectedAt : nil
    }

    public init(json: JSONValue, path: String) throws(MessageDecodingError) {
        try self.init(json: json, path: path, defaults: nil)
    }

    /// Reads a request as a script writes it too, with the contract's fields only:
    /// `container_id`, `incident_id` and `alert_id` may be absent (empty: the responder takes
    /// the id from its inspect; the message id; the request is then identified by its message
    /// id).
    public init(json: JSONValue, path: String, envelope: EnvelopeFields) throws(MessageDecodingError) {
        try self.init(json: json, path: path, defaults: envelope)
    }

    private init(json: JSONValue, path: String, defaults envelope: EnvelopeFields?) throws(MessageDecodingError) {
        let reader = try ObjectReader(json, path: path)
        host = try reader.optionalString("host")
        container = try reader.string("container", nonEmpty: true)
        containerID = envelope == nil ? try reader.string("container_id", nonEmpty: true) : try reader.optionalString("container_id") ?? ""
        action = try reader.enumeration("action", RuleAction.self)
        parameters = try reader.optionalObject("parameters").map { (r) throws(MessageDecodingError) in try ActionParameters(reader: r) }
        reason = try reader.string("reason")
        confidence = try reader.double("confidence", range: 0...1)
        rule = try reader.string("rule", nonEmpty: true)
        analysisMethod = try reader.enumeration("analysis_method", AnalysisMethod.self)
        dryRun = try reader.bool("dry_run")
        if let envelope {
            incidentID = try reader.optionalString("incident_id").flatMap { $0.isEmpty ? nil : $0 } ?? envelope.id
            alertID = try reader.optionalString("alert_id") ?? ""
        } else {
            incidentID = try reader.string("incident_id", nonEmpty: true)
            alertID = try reader.string("alert_id", nonEmpty: true)
        }
        detectedAt = try reader.optionalDate("detected_at")
        stoppedByOperator = try reader.optionalBool("stopped_by_operator")
    }

    public var json: JSONValue {
        var o = ObjectBuilder()
        o.set("host", host)
        o.set("container", container)
        o.set("container_id", containerID)
        o.set("action", action.rawValue)
        o.set("parameters", parameters?.json)
        o.set("reason", reason)
        o.set("confidence", confidence)
        o.set("rule", rule)
        o.set("analysis_method", analysisMethod.rawValue)
        o.set("dry_run", dryRun)
        o.set("incident_id", incidentID)
        o.set("alert_id", alertID)
        o.set("detected_at", detectedAt)
        o.set("stopped_by_operator", stoppedByOperator)
        return o.value
    }
}

/// `hemostat:false_alarm` (Analyzer -> Alert): the alert needs no action.
public struct FalseAlarm: ContainerPayload {
    public static let channel = Channel.falseAlarm
    /// The Docker host of the container; nil when the message leaves it to its envelope's `host`.
    public var host: String?
    public var containerName: String { container }

    public var container: String
    public var containerID: String
    public var reason: String
    public var confidence: Double
    public var rule: String
    public var analysisMethod: AnalysisMethod
    public var incidentID: String
    /// The `id` of the health alert message this answers, when known.
    public var alertID: String?

    public init(
        container: String, containerID: String, reason: String, confidence: Double, rule: String,
        analysisMethod: AnalysisMethod, incidentID: String, alertID: String? = nil, host: String? = nil
    ) {
        self.host = host
        self.container = container
        self.containerID = containerID
        self.reason = reason
        self.confidence = confidence
        self.rule = rule
        self.analysisMethod = analysisMethod
        self.incidentID = incidentID
        self.alertID = alertID
    }

    public init(json: JSONValue, path: String) throws(MessageDecodingError) {
        let reader = try ObjectReader(json, path: path)
        host = try reader.optionalString("host")
        container = try reader.string("container", nonEmpty: true)
        containerID = try reader.optionalString("container_id") ?? ""
        reason = try reader.string("reason")
        confidence = try reader.double("confidence", range: 0...1)
        rule = try reader.string("rule", nonEmpty: true)
        analysisMethod = try reader.enumeration("analysis_method", AnalysisMethod.self)
        incidentID = try reader.string("incident_id", nonEmpty: true)
        alertID = try reader.optionalString("alert_id")
    }

    public var json: JSONValue {
        var o = ObjectBuilder()
        o.set("host", host)
        o.set("container", container)
        o.set("container_id", containerID)
        o.set("reason", reason)
        o.set("confidence", confidence)
        o.set("rule", rule)
        o.set("analysis_method", analysisMethod.rawValue)
        o.set("incident_id", incidentID)
        o.set("alert_id", alertID)
        return o.value
    }
}

/// The outcome of a remediation request.
public enum RemediationStatus: String, Sendable, Hashable, CaseIterable {
    /// The action ran and the fault did not come back within the verification window.
    case success
    /// The action itself failed (Docker error, timeout).
    case failed
    /// The action ran but the fault came back within the verification window.
    case ineffective
    /// The safety gate refused (cooldown, hourly limit, breaker open, protected container, ...).
    case rejected
    /// Nothing to do (dry run, container gone, stopped by an operator, duplicate request).
    case skipped
}

/// What happened to one remediation request.
public struct RemediationResult: Sendable, Hashable {
    public var status: RemediationStatus
    /// Why, in a sentence (or a short code such as `cooldown_active`).
    public var reason: String
    /// For rejections that lift by themselves: seconds until a retry could pass the gate.
    public var retryAfterSeconds: Double?

    public init(status: RemediationStatus, reason: String, retryAfterSeconds: Double? = nil) {
        self.status = status
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// When each stage of an incident happened; every field is optional.
public struct RemediationTimings: Sendable, Hashable {
    /// The monitor saw the problem.
    public var detectedAt: Date?
    /// The analyzer decided.
    public var decidedAt: Date?
    /// The responder began the action.
    public var startedAt: Date?
    /// The action (and its verification, if any) ended.
    public var finishedAt: Date?

    public init(detectedAt: Date? = nil, decidedAt: Date? = nil, startedAt: Date? = nil, finishedAt: Date? = nil) {
        self.detectedAt = detectedAt.map(Timestamp.normalized)
        self.decidedAt = decidedAt.map(Timestamp.normalized)
        self.startedAt = startedAt.map(Timestamp.normalized)
        self.finishedAt = finishedAt.map(Timestamp.normalized)
    }

    /// Seconds from detection to the end of the action, when both are known.
    public var timeToFix: Double? {
        guard let detectedAt, let finishedAt else { return nil }
        return finishedAt.timeIntervalSince(detectedAt)
    }
}

/// `hemostat:remediation_complete` (Responder -> Alert): what the responder did, or why not.
public struct RemediationComplete: ContainerPayload {
    public static let channel = Channel.remediationComplete
    /// The Docker host of the container; nil when the message leaves it to its envelope's `host`.
    public var host: String?
    public var containerName: String { container }

    public var container: String
    public var containerID: String
    public var action: RuleAction
    public var result: RemediationResult
    public var dryRun: Bool
    public var analysisMethod: AnalysisMethod
    public var rule: String
    public var incidentID: String
    /// The `id` of the remediation_needed message this answers, when known.
    public var requestID: String?
    public var timings: RemediationTimings?

    public init(
        container: String, containerID: String, action: RuleAction, result: RemediationResult, dryRun: Bool,
        analysisMethod: AnalysisMethod, rule: String, incidentID: String, requestID: String? = nil, timings: RemediationTimings? = nil, host: String? = nil
    ) {
        self.host = host
        self.container = container
        self.containerID = containerID
        self.action = action
        self.result = result
        self.dryRun = dryRun
        self.analysisMethod = analysisMethod
        self.rule = rule
        self.incidentID = incidentID
        self.requestID = requestID
        self.timings = timings
    }

    public init(json: JSONValue, path: String) throws(MessageDecodingError) {
        let reader = try ObjectReader(json, path: path)
        host = try reader.optionalString("host")
        container = try reader.string("container", nonEmpty: true)
        containerID = try reader.optionalString("container_id") ?? ""
        action = try reader.enumeration("action", RuleAction.self)
        let r = try reader.object("result")
        result = RemediationResult(
            status: try r.enumeration("status", RemediationStatus.self),
            reason: try r.string("reason"),
            retryAfterSeconds: try r.optionalDouble("retry_after_seconds", range: 0...Double.greatestFiniteMagnitude)
        )
        dryRun = try reader.bool("dry_run")
        analysisMethod = try reader.enumeration("analysis_method", AnalysisMethod.self)
        rule = try reader.string("rule", nonEmpty: true)
        incidentID = try reader.string("incident_id", nonEmpty: true)
        requestID = try reader.optionalString("request_id")
        if let t = try reader.optionalObject("timings") {
            timings = RemediationTimings(
                detectedAt: try t.optionalDate("detected_at"),
                decidedAt: try t.optionalDate("decided_at"),
                startedAt: try t.optionalDate("started_at"),
                finishedAt: try t.optionalDate("finished_at")
            )
        } else {
            timings = nil
        }
    }

    public var json: JSONValue {
        var o = ObjectBuilder()
        o.set("host", host)
        o.set("container", container)
        o.set("container_id", containerID)
        o.set("action", action.rawValue)
        var r = ObjectBuilder()
        r.set("status", result.status.rawValue)
        r.set("reason", result.reason)
        r.set("retry_after_seconds", result.retryAfterSeconds)
        o["result"] = r.value
        o.set("dry_run", dryRun)
        o.set("analysis_method", analysisMethod.rawValue)
        o.set("rule", rule)
        o.set("incident_id", incidentID)
        o.set("request_id", requestID)
        if let timings {
            var t = ObjectBuilder()
            t.set("detected_at", timings.detectedAt)
            t.set("decided_at", timings.decidedAt)
            t.set("started_at", timings.startedAt)
            t.set("finished_at", timings.finishedAt)
            o["timings"] = t.value
        }
        return o.value
    }
}

/// `hemostat:escalation`: a human must look. Sent when the breaker opens, a budget is spent, or
/// an action cannot be taken safely.
public struct Escalation: ContainerPayload {
    public static let channel = Channel.escalation
    /// The Docker host of the container; nil when the message leaves it to its envelope's `host`.
    public var host: String?
    public var containerName: String { container }

    public var container: String
    public var containerID: String
    public var severity: Severity
    /// Why a human is needed, in a sentence.
    public var reason: String
    /// The action that was wanted, when there was one.
    public var action: RuleAction?
    public var rule: String?
    public var incidentID: String
    /// How the analyzer reached the escalation, when the analyzer sent it.
    public var analysisMethod: AnalysisMethod?
    /// The `id` of the health alert message this answers, when the analyzer sent it.
    public var alertID: String?

    public init(
        container: String, containerID: String, severity: Severity, reason: String, action: RuleAction? = nil, rule: String? = nil,
        incidentID: String, analysisMethod: AnalysisMethod? = nil, alertID: String? = nil, host: String? = nil
    ) {
        self.host = host
        self.container = container
        self.containerID = containerID
        self.severity = severity
        self.reason = reason
        self.action = action
        self.rule = rule
        self.incidentID = incidentID
        self.analysisMethod = analysisMethod
        self.alertID = alertID
    }

    public init(json: JSONValue, path: String) throws(MessageDecodingError) {
        let reader = try ObjectReader(json, path: path)
        host = try reader.optionalString("host")
        container = try reader.string("container", nonEmpty: true)
        containerID = try reader.optionalString("container_id") ?? ""
        severity = try reader.enumeration("severity", Severity.self)
        reason = try reader.string("reason")
        action = reader.optionalValue("action") == nil ? nil : try reader.enumeration("action", RuleAction.self)
        rule = try reader.optionalString("rule")
        incidentID = try reader.string("incident_id", nonEmpty: true)
        analysisMethod = reader.optionalValue("analysis_method") == nil ? nil : try reader.enumeration("analysis_method", AnalysisMethod.self)
        alertID = try reader.optionalString("alert_id")
    }

    public var json: JSONValue {
        var o = ObjectBuilder()
        o.set("host", host)
        o.set("container", container)
        o.set("container_id", containerID)
        o.set("severity", severity.rawValue)
        o.set("reason", reason)
        o.set("action", action?.rawValue)
        o.set("rule", rule)
        o.set("incident_id", incidentID)
        o.set("analysis_method", analysisMethod?.rawValue)
        o.set("alert_id", alertID)
        return o.value
    }
}

/// `hemostat:dead_letter`: a message a consumer could not read or process.
public struct DeadLetter: MessagePayload {
    public static let channel = Channel.deadLetter

    /// The channel the message came from (full name, e.g. `hemostat:health_alert`).
    public var sourceChannel: String
    /// The stream entry id or message id of the original, when known.
    public var sourceID: String?
    /// The original message text, cut to 64 KiB.
    public var rawMessage: String
    /// The decoding or processing error (`MessageDecodingError.reason`).
    public var reason: String
    /// The consumer that gave up on it.
    public var consumer: String?
    /// The original's incident id when it had one, else a fresh one.
    public var incidentID: String

    public init(sourceChannel: String, sourceID: String? = nil, rawMessage: String, reason: String, consumer: String? = nil, incidentID: String = UUID().uuidString.lowercased()) {
        self.sourceChannel = sourceChannel
        self.sourceID = sourceID
        self.rawMessage = rawMessage.utf8.count > Self.maximumRawBytes
            ? String(decoding: rawMessage.utf8.prefix(Self.maximumRawBytes), as: UTF8.self) : rawMessage
        self.reason = reason
        self.consumer = consumer
        self.incidentID = incidentID
    }

    static let maximumRawBytes = 65_536

    public init(json: JSONValue, path: String) throws(MessageDecodingError) {
        let reader = try ObjectReader(json, path: path)
        sourceChannel = try reader.string("source_channel", nonEmpty: true)
        sourceID = try reader.optionalString("source_id")
        rawMessage = try reader.string("raw_message")
        reason = try reader.string("reason")
        consumer = try reader.optionalString("consumer")
        incidentID = try reader.string("incident_id", nonEmpty: true)
    }

    public var json: JSONValue {
        var o = ObjectBuilder()
        o.set("source_channel", sourceChannel)
        o.set("source_id", sourceID)
        o.set("raw_message", rawMessage)
        o.set("reason", reason)
        o.set("consumer", consumer)
        o.set("incident_id", incidentID)
        return o.value
    }
}
