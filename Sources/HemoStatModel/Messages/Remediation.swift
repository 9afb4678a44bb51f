public import Foundation

/// How the analyzer reached its decision.
public enum AnalysisMethod: String, Sendable, Hashable, ContractEnum {
    /// A Lua rule decided.
    case rules
    /// The rules found the case ambiguous and an LLM decided.
    case llm
}

/// Details for actions that need them; every field is optional and only the ones the action
/// uses are read.
public struct ActionParameters: Sendable, Hashable, Codable {
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

    enum CodingKeys: String, CodingKey {
        case signal, memoryLimit = "memory_limit", cpus, command, timeoutSeconds = "timeout_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        signal = try c.decodeIfPresent(String.self, forKey: .signal)
        memoryLimit = try c.decodeIfPresent(Int.self, forKey: .memoryLimit, minimum: 1)
        cpus = try c.decodeIfPresent(Double.self, forKey: .cpus, in: 0.01...1024)
        command = try c.decodeIfPresent([String].self, forKey: .command)
        timeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .timeoutSeconds, minimum: 0)
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

    enum CodingKeys: String, CodingKey {
        case host, container, containerID = "container_id", action, parameters, reason, confidence, rule
        case analysisMethod = "analysis_method", dryRun = "dry_run", incidentID = "incident_id", alertID = "alert_id"
        case detectedAt = "detected_at", stoppedByOperator = "stopped_by_operator"
    }

    /// Read inside an envelope, a request may also come as a script writes it, with the
    /// contract's fields only: `container_id`, `incident_id` and `alert_id` may be absent
    /// (empty: the responder takes the id from its inspect; the message id; the request is then
    /// identified by its message id).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let envelope = decoder.envelope
        host = try c.decodeIfPresent(String.self, forKey: .host)
        container = try c.decode(String.self, forKey: .container, nonEmpty: true)
        containerID = envelope == nil ? try c.decode(String.self, forKey: .containerID, nonEmpty: true) : try c.decodeIfPresent(String.self, forKey: .containerID) ?? ""
        action = try c.decode(RuleAction.self, forKey: .action)
        parameters = try c.decodeIfPresent(ActionParameters.self, forKey: .parameters)
        reason = try c.decode(String.self, forKey: .reason)
        confidence = try c.decode(Double.self, forKey: .confidence, in: 0...1)
        rule = try c.decode(String.self, forKey: .rule, nonEmpty: true)
        analysisMethod = try c.decode(AnalysisMethod.self, forKey: .analysisMethod)
        dryRun = try c.decode(Bool.self, forKey: .dryRun)
        if let envelope {
            incidentID = try c.decodeNonEmptyIfPresent(String.self, forKey: .incidentID) ?? envelope.id
            alertID = try c.decodeIfPresent(String.self, forKey: .alertID) ?? ""
        } else {
            incidentID = try c.decode(String.self, forKey: .incidentID, nonEmpty: true)
            alertID = try c.decode(String.self, forKey: .alertID, nonEmpty: true)
        }
        detectedAt = try c.decodeIfPresent(Date.self, forKey: .detectedAt)
        stoppedByOperator = try c.decodeIfPresent(Bool.self, forKey: .stoppedByOperator)
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

    enum CodingKeys: String, CodingKey {
        case host, container, containerID = "container_id", reason, confidence, rule
        case analysisMethod = "analysis_method", incidentID = "incident_id", alertID = "alert_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        container = try c.decode(String.self, forKey: .container, nonEmpty: true)
        containerID = try c.decodeIfPresent(String.self, forKey: .containerID) ?? ""
        reason = try c.decode(String.self, forKey: .reason)
        confidence = try c.decode(Double.self, forKey: .confidence, in: 0...1)
        rule = try c.decode(String.self, forKey: .rule, nonEmpty: true)
        analysisMethod = try c.decode(AnalysisMethod.self, forKey: .analysisMethod)
        incidentID = try c.decode(String.self, forKey: .incidentID, nonEmpty: true)
        alertID = try c.decodeIfPresent(String.self, forKey: .alertID)
    }
}

/// The outcome of a remediation request.
public enum RemediationStatus: String, Sendable, Hashable, ContractEnum {
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
public struct RemediationResult: Sendable, Hashable, Codable {
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

    enum CodingKeys: String, CodingKey {
        case status, reason, retryAfterSeconds = "retry_after_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(RemediationStatus.self, forKey: .status)
        reason = try c.decode(String.self, forKey: .reason)
        retryAfterSeconds = try c.decodeIfPresent(Double.self, forKey: .retryAfterSeconds, in: .nonNegative)
    }
}

/// When each stage of an incident happened; every field is optional.
public struct RemediationTimings: Sendable, Hashable, Codable {
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

    enum CodingKeys: String, CodingKey {
        case detectedAt = "detected_at", decidedAt = "decided_at", startedAt = "started_at", finishedAt = "finished_at"
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

    enum CodingKeys: String, CodingKey {
        case host, container, containerID = "container_id", action, result, dryRun = "dry_run"
        case analysisMethod = "analysis_method", rule, incidentID = "incident_id", requestID = "request_id", timings
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        container = try c.decode(String.self, forKey: .container, nonEmpty: true)
        containerID = try c.decodeIfPresent(String.self, forKey: .containerID) ?? ""
        action = try c.decode(RuleAction.self, forKey: .action)
        result = try c.decode(RemediationResult.self, forKey: .result)
        dryRun = try c.decode(Bool.self, forKey: .dryRun)
        analysisMethod = try c.decode(AnalysisMethod.self, forKey: .analysisMethod)
        rule = try c.decode(String.self, forKey: .rule, nonEmpty: true)
        incidentID = try c.decode(String.self, forKey: .incidentID, nonEmpty: true)
        requestID = try c.decodeIfPresent(String.self, forKey: .requestID)
        timings = try c.decodeIfPresent(RemediationTimings.self, forKey: .timings)
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

    enum CodingKeys: String, CodingKey {
        case host, container, containerID = "container_id", severity, reason, action, rule
        case incidentID = "incident_id", analysisMethod = "analysis_method", alertID = "alert_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decodeIfPresent(String.self, forKey: .host)
        container = try c.decode(String.self, forKey: .container, nonEmpty: true)
        containerID = try c.decodeIfPresent(String.self, forKey: .containerID) ?? ""
        severity = try c.decode(Severity.self, forKey: .severity)
        reason = try c.decode(String.self, forKey: .reason)
        action = try c.decodeIfPresent(RuleAction.self, forKey: .action)
        rule = try c.decodeIfPresent(String.self, forKey: .rule)
        incidentID = try c.decode(String.self, forKey: .incidentID, nonEmpty: true)
        analysisMethod = try c.decodeIfPresent(AnalysisMethod.self, forKey: .analysisMethod)
        alertID = try c.decodeIfPresent(String.self, forKey: .alertID)
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

    enum CodingKeys: String, CodingKey {
        case sourceChannel = "source_channel", sourceID = "source_id", rawMessage = "raw_message", reason, consumer
        case incidentID = "incident_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sourceChannel = try c.decode(String.self, forKey: .sourceChannel, nonEmpty: true)
        sourceID = try c.decodeIfPresent(String.self, forKey: .sourceID)
        rawMessage = try c.decode(String.self, forKey: .rawMessage)
        reason = try c.decode(String.self, forKey: .reason)
        consumer = try c.decodeIfPresent(String.self, forKey: .consumer)
        incidentID = try c.decode(String.self, forKey: .incidentID, nonEmpty: true)
    }
}
