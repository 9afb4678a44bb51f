import Foundation
import HemoStatRedis
import HemoStatRules
import Logging
import Metrics
public import ServiceLifecycle

/// The responder: reads `remediation_needed` (consumer group `responder`), decides with
/// ``ResponderPolicy`` and the ``SafetyGate``, acts through a ``RemediationEngine``, verifies,
/// and publishes `remediation_complete` (plus `escalation` when a human is needed).
///
/// Per request, in order: decode (an unknown action is audited and dead-lettered), screen the
/// request, inspect the container and check it, ask the gate (live or dry-run namespace),
/// issue the command (never in dry-run), then verify for `responder.verification_window` in
/// the background and complete the gate, which moves the breaker.
///
/// - The gate's request id is `alert_id:action`, so the same decision delivered or published
///   twice acts once; this process also remembers the ids it acted on.
/// - Verifications run concurrently, at most `responder.concurrency` actions at a time; the
///   consumer waits for a free slot before asking the gate.
/// - On graceful shutdown the request in hand is finished; a verification still running ends
///   early as `skipped` (the breaker does not move) once the action itself is done.
/// - Once an action is issued, nothing makes the request run again: Redis failures after that
///   point are retried for up to a minute and then logged.
public struct ResponderService: Service {
    public static let agent = "responder"
    public static let group = "responder"

    public let context: AgentContext
    /// Global dry-run (`--dry-run`, `RESPONDER_DRY_RUN`, `responder.dry_run`).
    public let dryRun: Bool
    public let policy: ResponderPolicy
    private let engine: any RemediationEngine
    private let settings: ResponderConfiguration
    private let liveGate: SafetyGate
    private let dryRunGate: SafetyGate
    private let audit: AuditLog
    private let limit: ConcurrencyLimit
    private let recent: RecentRequests
    private let logger: Logger
    private let persistFor: Duration
    /// How often actions left unconcluded by a responder that stopped are looked for.
    let recoveryInterval: Duration

    /// - Parameters:
    ///   - dryRun: overrides `responder.dry_run` when given (the CLI's `--dry-run`).
    ///   - own: HemoStat's own containers; by default ``OwnContainers/detect(configuration:environment:)``.
    public init(context: AgentContext, engine: any RemediationEngine, dryRun: Bool? = nil, own: OwnContainers? = nil) {
        self.init(context: context, engine: engine, dryRun: dryRun, own: own, persistFor: .seconds(60))
    }

    init(
        context: AgentContext, engine: any RemediationEngine, dryRun: Bool?, own: OwnContainers?, persistFor: Duration,
        recoveryInterval: Duration = .seconds(15)
    ) {
        self.recoveryInterval = recoveryInterval
        self.context = context
        self.engine = engine
        self.settings = context.configuration.responder
        self.dryRun = dryRun ?? settings.dryRun
        let own = own ?? OwnContainers.detect(configuration: context.configuration, environment: ProcessInfo.processInfo.environment)
        self.policy = ResponderPolicy(configuration: settings, own: own)
        let gatePolicy = SafetyPolicy(configuration: settings)
        self.liveGate = SafetyGate(redis: context.redis, policy: gatePolicy, keys: context.keys, dryRun: false, clock: context.clock)
        self.dryRunGate = SafetyGate(redis: context.redis, policy: gatePolicy, keys: context.keys, dryRun: true, clock: context.clock)
        var logger = context.logger
        logger[metadataKey: "agent"] = .string(Self.agent)
        self.logger = logger
        self.audit = AuditLog(redis: context.redis, keys: context.keys, file: settings.auditFile, stateDirectory: context.configuration.stateDirectory, logger: logger)
        self.limit = ConcurrencyLimit(settings.concurrency)
        self.recent = RecentRequests(memory: gatePolicy.requestMemory)
        self.persistFor = persistFor
    }

    /// The heartbeat announcing this responder, with `dry_run` for the dashboard.
    public func heartbeat(interval: Duration = .seconds(10)) -> AgentHeartbeat {
        AgentHeartbeat(agent: Self.agent, context: context, interval: interval, details: ["dry_run": .bool(dryRun)])
    }

    public func run() async throws {
        let (jobs, continuation) = AsyncStream.makeStream(of: Job.self)
        let consumer = context.consumer(channel: .remediationNeeded, group: Self.group, agent: Self.agent) { delivery in
            try await self.handle(delivery, spawn: continuation)
        }
        logger.info("responder started", metadata: ["responder.dry_run": "\(dryRun)", "responder.concurrency": "\(settings.concurrency)"])
        await withDiscardingTaskGroup { group in
            group.addTask {
                do {
                    try await consumer.run()
                } catch {
                    self.logger.error("consumer stopped", metadata: ["error": "\(error)"])
                }
                continuation.finish()
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    await self.concludeInterrupted()
                    try? await Task.sleep(for: self.recoveryInterval)
                }
            }
            for await job in jobs {
                group.addTask { await job.run() }
            }
        }
        logger.info("responder stopped")
    }

    struct Job: Sendable {
        let run: @Sendable () async -> Void
    }

    // MARK: Handling one request

    /// What is known about one request as it moves through the checks.
    struct Draft: Sendable {
        var envelope: Envelope<RemediationNeeded>
        var requestID: String
        var dryRun: Bool
        var receivedAt: Date
        var readAt: ContinuousClock.Instant
        var record: AuditRecord
        var request: RemediationNeeded { envelope.data }
    }

    /// The gate's request id: the analyzer's decision (`alert_id:action`) when it names its
    /// alert, else the message id.
    public static func requestID(for envelope: Envelope<RemediationNeeded>) -> String {
        envelope.data.alertID.isEmpty ? envelope.id : "\(envelope.data.alertID):\(envelope.data.action.rawValue)"
    }

    private func makeDraft(_ envelope: Envelope<RemediationNeeded>, dryRun: Bool, receivedAt: Date, readAt: ContinuousClock.Instant) -> Draft {
        let request = envelope.data
        var record = AuditRecord(
            kind: "remediation", time: receivedAt, host: context.hostID, container: request.container,
            action: request.action.rawValue, dryRun: dryRun, status: "", reason: "")
        record.incidentID = request.incidentID
        record.messageID = envelope.id
        record.rule = request.rule
        record.confidence = request.confidence
        record.analysisMethod = request.analysisMethod.rawValue
        record.receivedAt = receivedAt
        record.actor = context.consumerName(agent: Self.agent)
        var draft = Draft(
            envelope: envelope, requestID: Self.requestID(for: envelope), dryRun: dryRun,
            receivedAt: receivedAt, readAt: readAt, record: record)
        draft.record.requestID = draft.requestID
        return draft
    }

    func handle(_ delivery: BusDelivery, spawn: AsyncStream<Job>.Continuation) async throws -> BusDisposition {
        let readAt = ContinuousClock.now
        let receivedAt = context.clock.now
        guard let text = delivery.message else { return .deadLetter(reason: "entry has no `message` field") }
        let envelope: Envelope<RemediationNeeded>
        do {
            envelope = try Envelope<RemediationNeeded>.decode(text)
        } catch {
            if error.path == "data.action" {
                try await auditUnknownAction(text: text, reason: error.reason, receivedAt: receivedAt)
            }
            return .deadLetter(reason: error.reason)
        }
        let request = envelope.data
        var draft = makeDraft(envelope, dryRun: dryRun || request.dryRun, receivedAt: receivedAt, readAt: readAt)

        var log = logger
        log[metadataKey: "container.name"] = .string(request.container)
        log[metadataKey: "incident.id"] = .string(request.incidentID)
        log[metadataKey: "remediation.action"] = .string(request.action.rawValue)

        if recent.contains(draft.requestID) {
            try await finishQuietly(&draft, gateDecision: "duplicate", reason: "already handled by this responder")
            return .ack
        }

        // 1. The request alone.
        let command: EngineCommand
        switch policy.screen(request) {
        case .failure(let refusal):
            try await refuse(&draft, refusal)
            return .ack
        case .success(.notify):
            try await notify(&draft)
            return .ack
        case .success(.act(let planned)):
            command = planned
        }

        // 2. A fresh look at the container (read-only, also in dry-run).
        let snapshot: ContainerSnapshot?
        do {
            snapshot = try await engine.inspect(request.container)
        } catch {
            // Nothing was done: leave the entry pending so it is retried.
            log.warning("inspect failed; the request will be retried", metadata: ["error": "\(error)"])
            throw error
        }
        if let refusal = policy.check(snapshot, command: command, name: request.container) {
            try await refuse(&draft, refusal)
            return .ack
        }

        // 3. The gate.
        await limit.acquire()
        var slotHeld = true
        defer { if slotHeld { limit.release() } }
        let gate = draft.dryRun ? dryRunGate : liveGate
        let decision = try await gate.acquire(
            container: request.container, requestID: draft.requestID, action: request.action.rawValue, incidentID: request.incidentID)
        draft.record.breakerState = decision.breakerState.rawValue
        draft.record.actionsInWindow = decision.actionsInWindow
        switch decision.verdict {
        case .duplicate(let previous):
            try await finishQuietly(&draft, gateDecision: "duplicate", reason: "request already decided (\(previous))")
            return .ack
        case .rejected(let reason):
            try await gateRejected(&draft, reason: reason, decision: decision)
            return .ack
        case .allowed:
            break
        }
        draft.record.gateDecision = "allowed"
        recent.insert(draft.requestID)

        if draft.dryRun {
            let requestID = draft.requestID
            await persist("dry-run gate completion") {
                try await gate.complete(container: request.container, requestID: requestID, outcome: .skipped)
            }
            let result = RemediationResult(status: .skipped, reason: "dry run: would \(command)")
            await conclude(&draft, result: result, issuedAt: nil)
            return .ack
        }

        // 4. The action.
        let issuedAt = context.clock.now
        let issuedInstant = ContinuousClock.now
        draft.record.actionIssuedAt = issuedAt
        draft.record.requestToActionMs = Double((issuedInstant - readAt).milliseconds)
        log.info("acting", metadata: ["remediation.command": "\(command)", "remediation.dry_run": "false"])
        await noteInFlight(draft, message: text, issuedAt: issuedAt)
        let actionError: ContainerEngineError?
        do {
            try await engine.perform(command, on: request.container)
            actionError = nil
        } catch let error as ContainerEngineError {
            actionError = error
        } catch {
            actionError = ContainerEngineError(code: .failed, message: "\(error)")
        }
        Timer(label: MetricNames.responderActionSeconds, dimensions: [("action", request.action.rawValue), ("stage", "issue")])
            .recordNanoseconds((ContinuousClock.now - issuedInstant).nanoseconds)

        if let actionError {
            let outcome: SafetyGate.Outcome = actionError.code == .notFound ? .skipped : .failed
            let status: RemediationStatus = actionError.code == .notFound ? .skipped : .failed
            log.warning("action failed", metadata: ["error": "\(actionError)"])
            await completeGate(&draft, gate: gate, outcome: outcome)
            await conclude(&draft, result: RemediationResult(status: status, reason: "\(command.name) failed: \(actionError.message)"), issuedAt: issuedAt)
            return .ack
        }

        // 5. Verification, in the background, holding the slot until it is done.
        let verification = Verification(command: command, before: snapshot, window: settings.verificationWindow)
        let finalDraft = draft
        slotHeld = false
        let job = Job { [self] in
            defer { self.limit.release() }
            var draft = finalDraft
            var watch = verification
            let verdict = await self.verify(&watch, container: request.container, since: issuedInstant)
            let outcome: SafetyGate.Outcome
            let result: RemediationResult
            switch verdict {
            case .success(let reason):
                outcome = .success
                result = RemediationResult(status: .success, reason: reason)
            case .ineffective(let reason):
                outcome = .ineffective
                result = RemediationResult(status: .ineffective, reason: reason)
            case .pending:
                outcome = .skipped
                result = RemediationResult(status: .skipped, reason: "\(command.name) done; verification interrupted by shutdown")
            }
            await self.completeGate(&draft, gate: gate, outcome: outcome)
            await self.conclude(&draft, result: result, issuedAt: issuedAt)
        }
        if case .terminated = spawn.yield(job) {
            await job.run()
        }
        return .ack
    }

    /// Watches the container until the verification decides, or shutdown interrupts (`.pending`).
    private func verify(_ verification: inout Verification, container: String, since start: ContinuousClock.Instant) async -> Verification.Verdict {
        if verification.isImmediate { return verification.observe(nil, elapsed: .zero) }
        while true {
            let elapsed = ContinuousClock.now - start
            let wait = min(settings.verificationInterval, max(.zero, verification.window - elapsed))
            if wait > .zero {
                do { try await Task.sleep(for: wait) } catch { return .pending }
            }
            if Task.isCancelled || Task.isShuttingDownGracefully { return .pending }
            let snapshot: ContainerSnapshot?
            do {
                snapshot = try await engine.inspect(container)
            } catch {
                logger.warning("inspect during verification failed", metadata: ["container.name": "\(container)", "error": "\(error)"])
                if ContinuousClock.now - start > verification.window + settings.verificationInterval * 5 {
                    return .ineffective("the container could not be inspected to verify the action")
                }
                continue
            }
            let verdict = verification.observe(snapshot, elapsed: ContinuousClock.now - start)
            if verdict != .pending { return verdict }
        }
    }

    // MARK: Actions left unconcluded

    /// Records a live action about to be issued (`responder:inflight`), so that if this process
    /// stops before concluding it another responder can verify it and publish the result.
    private func noteInFlight(_ draft: Draft, message: String, issuedAt: Date) async {
        var record = ObjectBuilder()
        record.set("message", message)
        record.set("container", draft.request.container)
        record.set("issued_at", issuedAt)
        let text = record.value.jsonText
        do {
            _ = try await context.redis.send(["HSET", context.keys.responderInFlight, draft.requestID, text])
        } catch {
            logger.warning("could not record the action in flight; should this responder stop before verifying it, its result is not published", metadata: [
                "container.name": "\(draft.request.container)", "error": "\(error)",
            ])
        }
    }

    /// Concludes the live actions whose responder stopped before publishing their result: an
    /// entry of `responder:inflight` that this process is not verifying and whose container's
    /// gate lock no longer belongs to it (the lock outlives a verification by at least 30 s).
    /// The container is inspected once: its state now decides the result.
    func concludeInterrupted() async {
        let key = context.keys.responderInFlight
        guard let reply = try? await context.redis.send(["HGETALL", key]), case .array(let items) = reply else { return }
        var index = 0
        while index + 1 < items.count {
            defer { index += 2 }
            guard let requestID = items[index].string, let text = items[index + 1].string else { continue }
            if recent.contains(requestID) { continue }
            guard let document = try? JSONValue.parse(text), let message = document["message"]?.stringValue,
                  let container = document["container"]?.stringValue
            else {
                _ = try? await context.redis.send(["HDEL", key, requestID])
                continue
            }
            let lockKey = SafetyGate.lockKey(namespace: context.keys.gate, container: container)
            if let held = try? await context.redis.send(["GET", lockKey]).string,
               SafetyGate.lockHolder(held, nowMilliseconds: context.clock.nowMilliseconds) == Substring(requestID) {
                continue  // still being verified by the responder that acted
            }
            // One responder takes it.
            guard (try? await context.redis.send(["HDEL", key, requestID]).integer) == 1 else { continue }
            let issuedAt = document["issued_at"]?.stringValue.flatMap(Timestamp.parse)
            await conclude(interrupted: message, requestID: requestID, issuedAt: issuedAt)
        }
    }

    private func conclude(interrupted message: String, requestID: String, issuedAt: Date?) async {
        guard let envelope = try? Envelope<RemediationNeeded>.decode(message) else { return }
        recent.insert(requestID)
        var draft = makeDraft(envelope, dryRun: false, receivedAt: context.clock.now, readAt: .now)
        draft.record.gateDecision = "allowed"
        draft.record.actionIssuedAt = issuedAt
        let request = envelope.data
        guard case .success(.act(let command)) = policy.screen(request) else { return }
        let snapshot: ContainerSnapshot?
        do {
            snapshot = try await engine.inspect(request.container)
        } catch {
            logger.warning("inspect of an interrupted action failed; it is concluded as skipped", metadata: [
                "container.name": "\(request.container)", "error": "\(error)",
            ])
            await completeGate(&draft, gate: liveGate, outcome: .skipped)
            await conclude(&draft, result: RemediationResult(
                status: .skipped, reason: "\(command.name) done; the responder stopped before verifying it and the container could not be inspected"),
                issuedAt: issuedAt)
            return
        }
        var verification = Verification(command: command, before: snapshot, window: .zero)
        let outcome: SafetyGate.Outcome
        let result: RemediationResult
        switch verification.observe(snapshot, elapsed: .zero) {
        case .success(let reason):
            outcome = .success
            result = RemediationResult(status: .success, reason: "\(reason), seen after the responder that acted stopped")
        case .ineffective(let reason):
            outcome = .ineffective
            result = RemediationResult(status: .ineffective, reason: "\(reason), seen after the responder that acted stopped")
        case .pending:
            outcome = .skipped
            result = RemediationResult(status: .skipped, reason: "\(command.name) done; not verified")
        }
        await completeGate(&draft, gate: liveGate, outcome: outcome)
        await conclude(&draft, result: result, issuedAt: issuedAt)
    }

    // MARK: Outcomes

    private func completeGate(_ draft: inout Draft, gate: SafetyGate, outcome: SafetyGate.Outcome) async {
        let request = draft.request
        let requestID = draft.requestID
        guard let completed = await persist("gate completion", {
            try await gate.complete(container: request.container, requestID: requestID, outcome: outcome)
        }) else { return }
        draft.record.breakerState = completed.breaker.rawValue
        if completed.tripped {
            Counter(label: MetricNames.breakerTrips).increment()
            let escalation = Escalation(
                container: request.container, containerID: request.containerID, severity: .critical,
                reason: "circuit breaker opened: \(gate.policy.breakerThreshold) failed or ineffective remediations; HemoStat stops acting on this container until \(Verification.seconds(gate.policy.halfOpenAfter)) have passed or an operator runs `hemostat breaker reset \(request.container)`",
                action: request.action, rule: request.rule, incidentID: request.incidentID)
            await persist("escalation") { try await self.context.publish(escalation, agent: Self.agent) }
        }
    }

    /// Audits the result, publishes it, stores it in the container's history and counts it.
    private func conclude(_ draft: inout Draft, result: RemediationResult, issuedAt: Date?) async {
        let request = draft.request
        let finishedAt = context.clock.now
        let timings = RemediationTimings(detectedAt: request.detectedAt, decidedAt: draft.envelope.timestamp, startedAt: issuedAt, finishedAt: finishedAt)
        let complete = RemediationComplete(
            container: request.container, containerID: request.containerID, action: request.action, result: result,
            dryRun: draft.dryRun, analysisMethod: request.analysisMethod, rule: request.rule, incidentID: request.incidentID,
            requestID: draft.envelope.id, timings: timings)
        let envelope = Envelope(agent: Self.agent, host: context.hostID, data: complete, timestamp: finishedAt)
        // The audit trail first: whoever sees the result can find its record.
        draft.record.status = result.status.rawValue
        draft.record.reason = result.reason
        draft.record.retryAfterSeconds = result.retryAfterSeconds
        draft.record.finishedAt = finishedAt
        draft.record.time = finishedAt
        let record = draft.record
        let historyKey = context.keys.remediation(request.container)
        let historyLength = settings.historyLength
        var history: [[String]] = [
            ["LPUSH", historyKey, envelope.encode()],
            ["LTRIM", historyKey, "0", String(historyLength - 1)],
        ]
        if !draft.dryRun {
            // Concluded: no other responder is to conclude it again.
            history.append(["HDEL", context.keys.responderInFlight, draft.requestID])
        }
        // Once started, the writes run to their end even if this task is cancelled (a
        // shutdown): a result published without its in-flight record removed would be
        // published again by the responder that concludes interrupted actions.
        await Task { [history] in
            await self.persist("audit record") { try await self.audit.write(record) }
            await self.persist("remediation_complete") { try await self.context.bus.publish(envelope) }
            await self.persist("remediation history") {
                let replies = try await self.context.redis.pipeline(history)
                if let error = replies.compactMap(\.redisError).first { throw error }
            }
        }.value

        Counter(label: MetricNames.remediations, dimensions: [
            ("action", request.action.rawValue), ("status", result.status.rawValue), ("dry_run", String(draft.dryRun)),
        ]).increment()
        if issuedAt != nil {
            Timer(label: MetricNames.responderActionSeconds, dimensions: [("action", request.action.rawValue), ("stage", "verified")])
                .recordNanoseconds((ContinuousClock.now - draft.readAt).nanoseconds)
        }
        if result.status == .success, !draft.dryRun, let detectedAt = request.detectedAt {
            Timer(label: MetricNames.faultToFixedSeconds, dimensions: [("action", request.action.rawValue)])
                .recordNanoseconds(Int64(max(0, finishedAt.timeIntervalSince(detectedAt)) * 1e9))
        }
        var log = logger
        log[metadataKey: "container.name"] = .string(request.container)
        log[metadataKey: "incident.id"] = .string(request.incidentID)
        log.info("remediation \(result.status.rawValue)", metadata: [
            "remediation.action": "\(request.action.rawValue)", "remediation.reason": "\(result.reason)",
            "remediation.dry_run": "\(draft.dryRun)",
        ])
    }

    /// A refusal before the gate: reported once per incident and reason, always audited.
    private func refuse(_ draft: inout Draft, _ refusal: Refusal) async throws {
        let request = draft.request
        draft.record.gateDecision = "not_asked"
        draft.record.gateReason = refusal.code
        if refusal.status == .rejected {
            Counter(label: MetricNames.gateRejections, dimensions: [("reason", refusal.code)]).increment()
        }
        let gate = draft.dryRun ? dryRunGate : liveGate
        let repeated = try await gate.noteRefusal(container: request.container, incidentID: request.incidentID, reason: refusal.code)
        if repeated {
            draft.record.reported = false
            draft.record.status = refusal.status.rawValue
            draft.record.reason = refusal.reason
            try await audit.write(draft.record)
            return
        }
        await conclude(&draft, result: RemediationResult(status: refusal.status, reason: "\(refusal.code): \(refusal.reason)"), issuedAt: nil)
    }

    private func gateRejected(_ draft: inout Draft, reason: GateRejection, decision: GateDecision) async throws {
        let request = draft.request
        draft.record.gateDecision = "rejected"
        draft.record.gateReason = reason.rawValue
        Counter(label: MetricNames.gateRejections, dimensions: [("reason", reason.rawValue)]).increment()
        if decision.escalate {
            let escalation = Escalation(
                container: request.container, containerID: request.containerID, severity: .critical,
                reason: "circuit breaker open: HemoStat is not acting on this container", action: request.action,
                rule: request.rule, incidentID: request.incidentID)
            try await context.publish(escalation, agent: Self.agent)
        }
        let retry = decision.retryAfter.map { Double($0.milliseconds) / 1000 }
        if decision.repeatedRejection {
            draft.record.reported = false
            draft.record.status = RemediationStatus.rejected.rawValue
            draft.record.reason = reason.rawValue
            draft.record.retryAfterSeconds = retry
            try await audit.write(draft.record)
            return
        }
        await conclude(&draft, result: RemediationResult(status: .rejected, reason: Self.describe(reason), retryAfterSeconds: retry), issuedAt: nil)
    }

    /// `notify`: nothing is changed; a human is asked to look.
    private func notify(_ draft: inout Draft) async throws {
        let request = draft.request
        draft.record.gateDecision = "not_asked"
        let escalation = Escalation(
            container: request.container, containerID: request.containerID, severity: .warning,
            reason: request.reason.isEmpty ? "the analyzer asks a human to look" : request.reason,
            action: .notify, rule: request.rule, incidentID: request.incidentID)
        if !draft.dryRun {
            try await context.publish(escalation, agent: Self.agent)
        }
        recent.insert(draft.requestID)
        let reason = draft.dryRun ? "dry run: would escalate to a human" : "escalated to a human; the container was not changed"
        await conclude(&draft, result: RemediationResult(status: .skipped, reason: reason), issuedAt: nil)
    }

    /// A duplicate: audited, not published again.
    private func finishQuietly(_ draft: inout Draft, gateDecision: String, reason: String) async throws {
        draft.record.gateDecision = gateDecision
        draft.record.status = RemediationStatus.skipped.rawValue
        draft.record.reason = reason
        draft.record.reported = false
        try await audit.write(draft.record)
        logger.info("duplicate request ignored", metadata: [
            "container.name": "\(draft.request.container)", "remediation.request_id": "\(draft.requestID)",
        ])
    }

    private func auditUnknownAction(text: String, reason: String, receivedAt: Date) async throws {
        let json = try? JSONValue.parse(text)
        func field(_ path: String...) -> String? {
            var value = json
            for key in path {
                guard case .object(let object)? = value else { return nil }
                value = object[key]
            }
            if case .string(let s)? = value { return String(s.prefix(200)) }
            return nil
        }
        var record = AuditRecord(
            kind: "remediation", time: receivedAt, host: context.hostID, container: field("data", "container") ?? "",
            action: field("data", "action") ?? "", dryRun: dryRun, status: RemediationStatus.rejected.rawValue, reason: "unknown action: \(reason)")
        record.incidentID = field("data", "incident_id")
        record.messageID = field("id")
        record.rule = field("data", "rule")
        record.gateDecision = "not_asked"
        record.gateReason = "unknown_action"
        record.receivedAt = receivedAt
        record.actor = context.consumerName(agent: Self.agent)
        Counter(label: MetricNames.gateRejections, dimensions: [("reason", "unknown_action")]).increment()
        try await audit.write(record)
    }

    static func describe(_ rejection: GateRejection) -> String {
        switch rejection {
        case .held: "held: an operator put the container on hold"
        case .breakerOpen: "breaker_open: repeated remediations failed; a human must look"
        case .inFlight: "in_flight: another action on this container is in progress"
        case .cooldown: "cooldown: the container was acted on recently"
        case .rateLimited: "rate_limited: the container's hourly action budget is spent"
        case .globalRateLimited: "global_rate_limited: the hourly action budget of all containers is spent"
        }
    }

    /// Retries a Redis write for up to a minute (an action already happened: its record must
    /// not be lost to a brief outage, and the request must not run again). Nil when it gave up.
    @discardableResult
    private func persist<T: Sendable>(_ what: String, _ operation: @Sendable () async throws -> T) async -> T? {
        let deadline = ContinuousClock.now + persistFor
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                return try await operation()
            } catch {
                if error is CancellationError || Task.isCancelled || ContinuousClock.now + backoff > deadline {
                    logger.error("giving up writing \(what)", metadata: ["error": "\(error)"])
                    return nil
                }
                logger.warning("writing \(what) failed; retrying", metadata: ["error": "\(error)", "retry.in_ms": "\(backoff.milliseconds)"])
                // Not cancellable: the record of an action already taken is worth the wait.
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
    }
}
