public import Foundation
public import HemoStatModel
public import HemoStatRedis
public import Logging

/// One line of the audit trail: a remediation request and what became of it, or an operator
/// command and who ran it. Holds no secrets: no parameters beyond the action's own, no URLs.
public struct AuditRecord: Sendable, Hashable {
    /// `remediation` or `operator`.
    public var kind: String
    public var time: Date
    public var host: String
    public var container: String
    public var action: String
    public var incidentID: String?
    /// The gate's request id (`alert_id:action`, else the message id).
    public var requestID: String?
    /// The `id` of the remediation_needed message.
    public var messageID: String?
    public var rule: String?
    public var confidence: Double?
    public var analysisMethod: String?
    public var dryRun: Bool
    /// `allowed`, `rejected`, `duplicate`, or `not_asked` when a check before the gate ended it.
    public var gateDecision: String?
    public var gateReason: String?
    public var breakerState: String?
    public var actionsInWindow: Int?
    /// `success`, `failed`, `ineffective`, `rejected`, `skipped` (remediations); `done` or
    /// `failed` (operator commands).
    public var status: String
    public var reason: String
    public var retryAfterSeconds: Double?
    /// False for a repeated rejection of the same incident that was not published again.
    public var reported: Bool
    public var receivedAt: Date?
    public var actionIssuedAt: Date?
    public var finishedAt: Date?
    /// Milliseconds from reading the request to issuing the action.
    public var requestToActionMs: Double?
    /// Who ran an operator command (`SUDO_USER`, `USER`, or `uid:N`).
    public var who: String?
    /// The responder (consumer name) or the CLI that wrote the record.
    public var actor: String?

    public init(kind: String, time: Date, host: String, container: String, action: String, dryRun: Bool = false, status: String, reason: String) {
        self.kind = kind
        self.time = time
        self.host = host
        self.container = container
        self.action = action
        self.dryRun = dryRun
        self.status = status
        self.reason = reason
        self.reported = true
    }

    /// The record as one JSON object, as the stream and the file keep it.
    public var json: JSONValue { JSONValueEncoder().encode(self) }
}

extension AuditRecord: Encodable {
    enum CodingKeys: String, CodingKey {
        case kind, time, host, container, action, incidentID = "incident_id", requestID = "request_id", messageID = "message_id"
        case rule, confidence, analysisMethod = "analysis_method", dryRun = "dry_run", gate, result, reported, timings, who, actor
    }

    enum GateKeys: String, CodingKey {
        case decision, reason, breakerState = "breaker_state", actionsInWindow = "actions_in_window"
    }

    enum ResultKeys: String, CodingKey {
        case status, reason, retryAfterSeconds = "retry_after_seconds"
    }

    enum TimingKeys: String, CodingKey {
        case receivedAt = "received_at", actionIssuedAt = "action_issued_at", finishedAt = "finished_at", requestToActionMs = "request_to_action_ms"
    }

    /// The gate's answer under `gate` and the timings under `timings`, each left out when it
    /// has nothing to say; the outcome under `result`.
    public func encode(to encoder: any Encoder) throws {
        var o = encoder.container(keyedBy: CodingKeys.self)
        try o.encode(kind, forKey: .kind)
        try o.encode(time, forKey: .time)
        try o.encode(host, forKey: .host)
        try o.encode(container, forKey: .container)
        try o.encode(action, forKey: .action)
        try o.encodeIfPresent(incidentID, forKey: .incidentID)
        try o.encodeIfPresent(requestID, forKey: .requestID)
        try o.encodeIfPresent(messageID, forKey: .messageID)
        try o.encodeIfPresent(rule, forKey: .rule)
        try o.encodeIfPresent(confidence, forKey: .confidence)
        try o.encodeIfPresent(analysisMethod, forKey: .analysisMethod)
        try o.encode(dryRun, forKey: .dryRun)
        if gateDecision != nil || gateReason != nil || breakerState != nil || actionsInWindow != nil {
            var gate = o.nestedContainer(keyedBy: GateKeys.self, forKey: .gate)
            try gate.encodeIfPresent(gateDecision, forKey: .decision)
            try gate.encodeIfPresent(gateReason, forKey: .reason)
            try gate.encodeIfPresent(breakerState, forKey: .breakerState)
            try gate.encodeIfPresent(actionsInWindow, forKey: .actionsInWindow)
        }
        var result = o.nestedContainer(keyedBy: ResultKeys.self, forKey: .result)
        try result.encode(status, forKey: .status)
        try result.encode(reason, forKey: .reason)
        try result.encodeIfPresent(retryAfterSeconds, forKey: .retryAfterSeconds)
        try o.encode(reported, forKey: .reported)
        if receivedAt != nil || actionIssuedAt != nil || finishedAt != nil || requestToActionMs != nil {
            var timings = o.nestedContainer(keyedBy: TimingKeys.self, forKey: .timings)
            try timings.encodeIfPresent(receivedAt, forKey: .receivedAt)
            try timings.encodeIfPresent(actionIssuedAt, forKey: .actionIssuedAt)
            try timings.encodeIfPresent(finishedAt, forKey: .finishedAt)
            try timings.encodeIfPresent(requestToActionMs, forKey: .requestToActionMs)
        }
        try o.encodeIfPresent(who, forKey: .who)
        try o.encodeIfPresent(actor, forKey: .actor)
    }
}

/// Writes audit records to the `hemostat:audit` stream (field `record`, JSON) and, when
/// configured, appends them to a JSON Lines file.
public struct AuditLog: Sendable {
    public static let recordField = "record"
    /// The stream is trimmed to about this many records.
    public static let streamMaxLength = 100_000

    private let redis: RedisClient
    private let stream: String
    private let file: AuditFile?
    private let logger: Logger

    /// - Parameter file: a JSON Lines file to append to; a relative path is taken relative to
    ///   `stateDirectory`. The file is opened on first write and created if missing.
    public init(redis: RedisClient, keys: KeySpace, file: String?, stateDirectory: String, logger: Logger) {
        self.redis = redis
        self.stream = keys.audit
        self.logger = logger
        if let file, !file.isEmpty {
            let path = file.hasPrefix("/") ? file : (stateDirectory as NSString).appendingPathComponent(file)
            self.file = AuditFile(path: path)
        } else {
            self.file = nil
        }
    }

    /// Writes one record. Throws when the stream write fails; a file problem is logged (the
    /// stream is the record of truth).
    public func write(_ record: AuditRecord) async throws {
        let text = record.json.jsonText
        if let file {
            do {
                try await file.append(text)
            } catch {
                logger.error("audit file not written", metadata: ["audit.path": "\(file.path)", "error": "\(error)"])
            }
        }
        _ = try await redis.send(["XADD", stream, "MAXLEN", "~", String(Self.streamMaxLength), "*", Self.recordField, text])
    }
}

/// An append-only JSON Lines file written on a serial queue of its own (file I/O blocks).
final class AuditFile: @unchecked Sendable {
    // @unchecked Sendable: `handle` is only touched on `queue`, a serial queue; `path` is immutable.
    let path: String
    private let queue = DispatchQueue(label: "hemostat.audit-file")
    private var handle: FileHandle?

    init(path: String) {
        self.path = path
    }

    deinit {
        try? handle?.close()
    }

    func append(_ line: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async {
                do {
                    if self.handle == nil {
                        let directory = (self.path as NSString).deletingLastPathComponent
                        if !directory.isEmpty {
                            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                        }
                        if !FileManager.default.fileExists(atPath: self.path) {
                            _ = FileManager.default.createFile(atPath: self.path, contents: nil, attributes: [.posixPermissions: 0o640])
                        }
                        guard let opened = FileHandle(forWritingAtPath: self.path) else {
                            throw CocoaError(.fileWriteNoPermission)
                        }
                        try opened.seekToEnd()
                        self.handle = opened
                    }
                    try self.handle?.write(contentsOf: Data((line + "\n").utf8))
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
