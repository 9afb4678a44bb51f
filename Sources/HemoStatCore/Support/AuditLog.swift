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

    public var json: JSONValue {
        var o = ObjectBuilder()
        o.set("kind", kind)
        o.set("time", time)
        o.set("host", host)
        o.set("container", container)
        o.set("action", action)
        o.set("incident_id", incidentID)
        o.set("request_id", requestID)
        o.set("message_id", messageID)
        o.set("rule", rule)
        o.set("confidence", confidence)
        o.set("analysis_method", analysisMethod)
        o.set("dry_run", dryRun)
        var gate = ObjectBuilder()
        gate.set("decision", gateDecision)
        gate.set("reason", gateReason)
        gate.set("breaker_state", breakerState)
        gate.set("actions_in_window", actionsInWindow)
        if !gate.fields.isEmpty { o["gate"] = gate.value }
        var result = ObjectBuilder()
        result.set("status", status)
        result.set("reason", reason)
        result.set("retry_after_seconds", retryAfterSeconds)
        o["result"] = result.value
        o.set("reported", reported)
        var timings = ObjectBuilder()
        timings.set("received_at", receivedAt)
        timings.set("action_issued_at", actionIssuedAt)
        timings.set("finished_at", finishedAt)
        timings.set("request_to_action_ms", requestToActionMs)
        if !timings.fields.isEmpty { o["timings"] = timings.value }
        o.set("who", who)
        o.set("actor", actor)
        return o.value
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
