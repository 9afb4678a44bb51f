import Foundation
public import HemoStatCore
public import HemoStatModel
import HemoStatRedis
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
        recoveryInterval: Duration? = nil
    ) {
        // Often enough that an action is taken over soon after its lease runs out.
        self.recoveryInterval = recoveryInterval ?? min(.seconds(15), max(.seconds(1), context.configuration.responder.lockTTL / 2))
        self.context = context
        self.engine = engine
        self.settings = context.configuration.responder
        self.dryRun = dryRun ?? settings.dryRun
        let own = own ?? OwnContainers.detect(configuration: context.configuration, environment: ProcessInfo.processInfo.environment)
        self.policy = ResponderPolicy(configuration: settings, own: own)
        let gatePolicy = SafetyPolicy(configuration: settings)
        self.liveGate = SafetyGate(redis: context.redis, policy: gatePolicy, keys: context.keys, dryRun: false, clock: context.gateClock)
        self.dryRunGate = SafetyGate(redis: context.redis, policy: gatePolicy, keys: context.keys, dryRun: true, clock: context.gateClock)
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
        // This host's requests only, as the router hands them over.
        let consumer = context.consumer(stream: context.keys.remediationRequests(host: context.hostID), group: Self.group, agent: Self.agent) { delivery in
            try await self.handle(delivery, spawn: continuation)
        }
        let router = RequestRouter(context: context, role: Self.agent)
        do {
            try await LegacyLayout.migrate(context: context, logger: logger)
        } catch {
            logger.warning("keys of the layout before hosts not migrated; tried again at the next start", metadata: ["error": "\(error)"])
        }
        logger.info("responder started", metadata: [
            "responder.dry_run": "\(dryRun)", "responder.concurrency": "\(settings.concurrency)", "host.id": "\(context.hostID)",
        ])
        await withDiscardingTaskGroup { group in
            group.addTask {
                do { try await router.run() } catch { self.logger.error("router stopped", metadata: ["error": "\(error)"]) }
            }
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
                    await self.retryDue(spawn: continuation)
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
                }
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    // A known host from the start and after Redis lost its data, so requests
                    // that name no host can be routed here.
                    _ = try? await self.context.redis.send(["ZADD", self.context.keys.hosts, String(self.context.clock.nowMilliseconds), self.context.hostID])
                    await self.recoverInterrupted()
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.recoveryInterval) }
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
        /// The container: this responder's host and the request's name.
        var target: ContainerRef { envelope.container }
    }

    /// The gate's request id: the analyzer's decision (`alert_id:action`) when it names its
    /// alert, else the message id.
    public static func requestID(for envelope: Envelope<RemediationNeeded>) -> String {
        envelope.data.alertID.isEmpty ? envelope.id : "\(envelope.data.alertID):\(envelope.data.action.rawValue)"
    }

    private func makeDraft(_ envelope: Envelope<RemediationNeeded>, dryRun: Bool, receivedAt: Date, readAt: ContinuousClock.Instant) -> Draft {
        let request = envelope.data
        var record = AuditRecord(
            kind: "remediation", time: receivedAt, host: envelope.container.host, container: request.container,
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
        let (envelope, text): (Envelope<RemediationNeeded>, String)
        switch try await read(delivery, receivedAt: receivedAt) {
        case .request(let request, let message): (envelope, text) = (request, message)
        case .done(let disposition): return disposition
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
        let snapshot: ContainerInspection?
        do {
            snapshot = try await engine.inspect(request.container)
        } catch {
            // Nothing was done: leave the entry pending so it is retried.
            log.warning("inspect failed; the request will be retried", metadata: ["error": "\(error)"])
            throw error
        }
        if draft.envelope.data.containerID.isEmpty, let id = snapshot?.id {
            draft.envelope.data.containerID = id  // a request written by hand may name the container only
        }
        if let refusal = policy.check(snapshot, command: command, name: request.container, ownExit: request.ownExitSeenBy) {
            try await refuse(&draft, refusal)
            return .ack
        }

        // 3. to 5.
        try await passGateAndAct(&draft, message: text, command: command, snapshot: snapshot, spawn: spawn)
        return .ack
    }

    /// What a stream entry holds: a request of this host, or what to do with the entry.
    enum ReadRequest {
        case request(Envelope<RemediationNeeded>, message: String)
        case done(BusDisposition)
    }

    /// Decodes a request; a malformed one, or one of another host, goes to the dead letters
    /// (an unknown action is audited first).
    private func read(_ delivery: BusDelivery, receivedAt: Date) async throws -> ReadRequest {
        guard let text = delivery.message else { return .done(.deadLetter(reason: "entry has no `message` field")) }
        let envelope: Envelope<RemediationNeeded>
        do {
            envelope = try Envelope<RemediationNeeded>.decode(text)
        } catch {
            if error.path == "data.action" {
                try await auditUnknownAction(text: text, reason: error.reason, receivedAt: receivedAt)
            }
            return .done(.deadLetter(reason: error.reason))
        }
        guard envelope.container.host == context.hostID else {
            // The router hands a host only its own requests; this one was put here by hand.
            return .done(.deadLetter(reason: "data.host: \(envelope.container.host) is not this responder's host (\(context.hostID))"))
        }
        return .request(envelope, message: text)
    }

    /// 3. The gate: an allowed live action is recorded as in flight in the same step. Then a dry
    /// run concludes at once, and a live action (4.) and its verification (5.) run in the
    /// background, holding a slot and the lock's lease until the result is published.
    private func passGateAndAct(
        _ draft: inout Draft, message: String, command: EngineCommand, snapshot: ContainerInspection?,
        spawn: AsyncStream<Job>.Continuation
    ) async throws {
        let request = draft.request
        await limit.acquire()
        var slotHeld = true
        defer { if slotHeld { limit.release() } }
        let gate = draft.dryRun ? dryRunGate : liveGate
        let record = InFlightAction(
            message: message, container: request.container, phase: .decided, decidedAt: context.clock.now, holder: consumerName)
        let decision = try await gate.acquire(
            container: draft.target, requestID: draft.requestID, action: request.action.rawValue, incidentID: request.incidentID,
            inFlight: draft.dryRun ? nil : (inFlightKey, record.json))
        draft.record.breakerState = decision.breakerState.rawValue
        draft.record.actionsInWindow = decision.actionsInWindow
        switch decision.verdict {
        case .duplicate(let previous):
            try await finishQuietly(&draft, gateDecision: "duplicate", reason: "request already decided (\(previous))")
            return
        case .rejected(let reason):
            try await gateRejected(&draft, reason: reason, decision: decision, down: snapshot.map { !$0.isRunning } ?? false)
            return
        case .allowed:
            break
        }
        draft.record.gateDecision = "allowed"
        recent.insert(draft.requestID)

        if draft.dryRun {
            let requestID = draft.requestID
            let target = draft.target
            await persist("dry-run gate completion") {
                try await gate.complete(container: target, requestID: requestID, outcome: .skipped)
            }
            let result = RemediationResult(status: .skipped, reason: "dry run: would \(command)")
            await conclude(&draft, result: result, issuedAt: nil)
            return
        }

        let finalDraft = draft
        slotHeld = false
        let job = Job { [self] in
            defer { self.limit.release() }
            await self.withLease(gate, container: finalDraft.target, requestID: finalDraft.requestID) {
                await self.carryOut(finalDraft, command: command, before: snapshot, record: record, gate: gate)
            }
        }
        if case .terminated = spawn.yield(job) {
            await job.run()
        }
    }

    /// Sends `command` to the engine, moving its in-flight record to `sent` before and to
    /// `confirmed` after, then verifies it, completes the gate and publishes the result. The
    /// caller holds the lock (and keeps its lease).
    private func carryOut(_ draft: Draft, command: EngineCommand, before: ContainerInspection?, record: InFlightAction, gate: SafetyGate) async {
        var draft = draft
        let request = draft.request
        var log = logger
        log[metadataKey: "container.name"] = .string(request.container)
        log[metadataKey: "incident.id"] = .string(request.incidentID)
        log[metadataKey: "remediation.action"] = .string(request.action.rawValue)

        let issuedAt = context.clock.now
        let issuedInstant = ContinuousClock.now
        draft.record.actionIssuedAt = issuedAt
        draft.record.requestToActionMs = Double((issuedInstant - draft.readAt).milliseconds)
        // Should the record not say `sent` (Redis unreachable), no command is sent: a record
        // that says `decided` is carried out by whoever takes it over.
        guard await move(record.moved(to: .sent, at: issuedAt, by: consumerName), requestID: draft.requestID) else {
            log.warning("could not mark the action as sent; it is left to be taken over")
            recent.remove(draft.requestID)  // this process may take it over too, once its lease runs out
            return
        }
        log.info("acting", metadata: ["remediation.command": "\(command)", "remediation.dry_run": "false"])
        let actionError: ContainerEngineError?
        switch await performWithinShutdownGrace(command, on: request.container) {
        case .done:
            actionError = nil
        case .failed(let error):
            actionError = error
        case .abandoned:
            log.warning("shutting down: the engine did not answer within responder.shutdown_grace; the action is handed back", metadata: [
                "responder.shutdown_grace_ms": "\(settings.shutdownGrace.milliseconds)",
            ])
            await handBack(draft, gate: gate)
            return
        }
        Timer(label: MetricNames.responderActionSeconds, dimensions: [("action", request.action.rawValue), ("stage", "issue")])
            .recordNanoseconds((ContinuousClock.now - issuedInstant).nanoseconds)

        if let actionError {
            let outcome: SafetyGate.Outcome = actionError.code == .notFound ? .skipped : .failed
            let status: RemediationStatus = actionError.code == .notFound ? .skipped : .failed
            log.warning("action failed", metadata: ["error": "\(actionError)"])
            await completeGate(&draft, gate: gate, outcome: outcome)
            await conclude(&draft, result: RemediationResult(status: status, reason: "\(command.name) failed: \(actionError.message)"), issuedAt: issuedAt)
            return
        }
        await move(record.moved(to: .confirmed, at: context.clock.now, by: consumerName), requestID: draft.requestID)
        await verifyAndConclude(draft, command: command, before: before, gate: gate, since: context.clock.now, issuedAt: issuedAt)
    }

    /// Verifies an action the engine carried out, completes the gate and publishes the result.
    private func verifyAndConclude(
        _ draft: Draft, command: EngineCommand, before: ContainerInspection?, gate: SafetyGate,
        since start: Date, issuedAt: Date?, note: String? = nil
    ) async {
        var draft = draft
        var watch = Verification(command: command, before: before, window: settings.verificationWindow)
        let suffix = note.map { ", \($0)" } ?? ""
        let outcome: SafetyGate.Outcome
        let result: RemediationResult
        switch await verify(&watch, container: draft.request.container, since: start) {
        case .success(let reason):
            outcome = .success
            result = RemediationResult(status: .success, reason: reason + suffix)
        case .ineffective(let reason):
            outcome = .ineffective
            result = RemediationResult(status: .ineffective, reason: reason + suffix)
        case .pending:
            logger.info("shutting down: the verification is handed back to the next responder of the host", metadata: [
                "container.name": "\(draft.request.container)", "incident.id": "\(draft.request.incidentID)",
            ])
            await handBack(draft, gate: gate)
            return
        }
        await completeGate(&draft, gate: gate, outcome: outcome)
        await conclude(&draft, result: result, issuedAt: issuedAt)
    }

    /// What became of an engine call.
    enum EngineAnswer: Sendable {
        case done
        case failed(ContainerEngineError)
        /// A shutdown began and the engine had not answered within `responder.shutdown_grace`
        /// (or the task was cancelled): whether the command took effect is unknown.
        case abandoned
    }

    /// Sends `command`; once a graceful shutdown begins, waits at most `responder.shutdown_grace`
    /// more for the engine's answer.
    private func performWithinShutdownGrace(_ command: EngineCommand, on name: String) async -> EngineAnswer {
        let engine = self.engine
        let grace = settings.shutdownGrace
        return await withTaskGroup(of: EngineAnswer?.self) { group in
            group.addTask {
                do {
                    try await engine.perform(command, on: name)
                    return .done
                } catch {
                    if Task.isCancelled { return .abandoned }
                    return .failed(error as? ContainerEngineError ?? ContainerEngineError(code: .failed, message: "\(error)"))
                }
            }
            group.addTask {
                // Nil when the call answered first (this task is then cancelled).
                do { try await gracefulShutdown() } catch { return nil }
                do { try await Task.sleep(for: grace) } catch { return nil }
                return .abandoned
            }
            for await answer in group {
                if let answer {
                    group.cancelAll()
                    return answer
                }
            }
            return .abandoned
        }
    }

    /// Leaves an action this responder cannot finish (it is stopping) to the next responder of
    /// the host: its in-flight record stays as it is, and the lock's lease ends now.
    private func handBack(_ draft: Draft, gate: SafetyGate) async {
        let target = draft.target
        let requestID = draft.requestID
        do {
            try await gate.handBack(container: target, requestID: requestID)
        } catch {
            logger.warning("could not end the lease of a handed-back action; it is taken over once the lease runs out", metadata: [
                "container.name": "\(target)", "error": "\(error)",
            ])
        }
        recent.remove(requestID)
        Counter(label: MetricNames.responderHandedBack).increment()
    }

    /// Runs `body` while renewing the lease of `requestID`'s lock on `container` every third
    /// of the lease, so the lock outlives a slow engine and a long verification, and runs out
    /// only once this responder stops.
    private func withLease(_ gate: SafetyGate, container: ContainerRef, requestID: String, _ body: () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let every = gate.policy.lockTTL / 3
                while true {
                    do { try await Task.sleep(for: every) } catch { return }
                    do {
                        if try await !gate.renew(container: container, requestID: requestID) { return }
                    } catch {
                        self.logger.warning("could not renew the lock's lease", metadata: ["container.name": "\(container)", "error": "\(error)"])
                    }
                }
            }
            await body()
            group.cancelAll()
        }
    }

    /// Watches the container until the verification decides, or shutdown interrupts (`.pending`).
    /// The window is measured on the context's clock, which a test may move.
    private func verify(_ verification: inout Verification, container: String, since start: Date) async -> Verification.Verdict {
        if verification.isImmediate { return verification.observe(nil, elapsed: .zero) }
        let clock = context.clock
        func elapsed() -> Duration { .milliseconds(Int64((clock.now.timeIntervalSince(start) * 1000).rounded())) }
        while true {
            let wait = min(settings.verificationInterval, max(.zero, verification.window - elapsed()))
            if wait > .zero {
                do { try await clock.sleep(for: wait) } catch { return .pending }
            }
            if Task.isCancelled || Task.isShuttingDownGracefully { return .pending }
            let snapshot: ContainerInspection?
            do {
                snapshot = try await engine.inspect(container)
            } catch {
                logger.warning("inspect during verification failed", metadata: ["container.name": "\(container)", "error": "\(error)"])
                if elapsed() > verification.window + settings.verificationInterval * 5 {
                    return .ineffective("the container could not be inspected to verify the action")
                }
                // Past the window no wait is left: look again after an interval, not at once.
                do { try await clock.sleep(for: settings.verificationInterval) } catch { return .pending }
                continue
            }
            let verdict = verification.observe(snapshot, elapsed: elapsed())
            if verdict != .pending { return verdict }
        }
    }

    // MARK: Actions whose responder stopped

    /// This host's in-flight records.
    var inFlightKey: String { context.keys.responderInFlight(host: context.hostID) }

    private var consumerName: String { context.consumerName(agent: Self.agent) }

    /// Replaces the request's in-flight record while it is still there; false when Redis could
    /// not be reached (or the record was concluded by another responder).
    @discardableResult
    private func move(_ record: InFlightAction, requestID: String) async -> Bool {
        let key = inFlightKey
        let reply = await persist("in-flight record", timeout: .seconds(10)) {
            try await self.context.redis.evalSHA(Self.moveScript, keys: [key], args: [requestID, record.json])
        }
        return reply?.integer == 1
    }

    /// Takes over the live actions of this host whose responder stopped before publishing
    /// their result (their record is in `responder:inflight:<host>` and their lock's lease ran
    /// out), and finishes each from the phase it reached:
    ///
    /// - `confirmed`, or `sent` and the engine recorded the command since: it happened; it is
    ///   verified and reported.
    /// - `decided`, or `sent` and the engine has no record of it: it never reached the engine;
    ///   it is carried out now (unless an operator put the container on hold, it no longer
    ///   applies, or someone else started the container meanwhile), then verified.
    func recoverInterrupted() async {
        let key = inFlightKey
        guard let reply = try? await context.redis.send(["HGETALL", key]), case .array(let items) = reply else { return }
        var index = 0
        while index + 1 < items.count {
            defer { index += 2 }
            guard let requestID = items[index].string, let text = items[index + 1].string else { continue }
            if recent.contains(requestID) { continue }  // this process is still at work on it
            guard let record = InFlightAction(json: text), let envelope = try? Envelope<RemediationNeeded>.decode(record.message) else {
                logger.error("unreadable in-flight record removed", metadata: ["remediation.request_id": "\(requestID)"])
                _ = try? await context.redis.send(["HDEL", key, requestID])
                continue
            }
            let taken: SafetyGate.TakeOver
            do {
                taken = try await liveGate.takeOver(container: envelope.container, requestID: requestID, inFlightKey: key)
            } catch {
                logger.warning("could not take over an interrupted action", metadata: ["error": "\(error)"])
                continue
            }
            switch taken {
            case .gone, .busy:
                continue
            case .superseded:
                var draft = interruptedDraft(envelope, record: record)
                await conclude(&draft, result: RemediationResult(
                    status: .skipped, reason: "superseded: a later action on the container was decided before this one was concluded"),
                    issuedAt: record.sentAt)
            case .taken(_, let heldFor):
                recent.insert(requestID)
                await withLease(liveGate, container: envelope.container, requestID: requestID) {
                    await self.resume(record, envelope: envelope, heldFor: heldFor)
                }
            }
        }
    }

    private func interruptedDraft(_ envelope: Envelope<RemediationNeeded>, record: InFlightAction) -> Draft {
        var draft = makeDraft(envelope, dryRun: false, receivedAt: context.clock.now, readAt: .now)
        draft.record.gateDecision = "allowed"
        draft.record.actionIssuedAt = record.sentAt
        return draft
    }

    /// Finishes an action taken over from a responder that stopped; this one holds the lock.
    private func resume(_ record: InFlightAction, envelope: Envelope<RemediationNeeded>, heldFor: Duration?) async {
        var draft = interruptedDraft(envelope, record: record)
        let request = envelope.data
        var log = logger
        log[metadataKey: "container.name"] = .string(request.container)
        log[metadataKey: "incident.id"] = .string(request.incidentID)
        log[metadataKey: "remediation.phase"] = .string(record.phase.rawValue)
        func finish(_ status: RemediationStatus, _ reason: String) async {
            await completeGate(&draft, gate: liveGate, outcome: .skipped)
            await conclude(&draft, result: RemediationResult(status: status, reason: reason), issuedAt: record.sentAt)
        }
        guard case .success(.act(let command)) = policy.screen(request) else {
            await finish(.skipped, "not carried out: the responder's configuration no longer allows this action")
            return
        }
        let engineActions: [String]
        let snapshot: ContainerInspection?
        do {
            engineActions = record.phase == .sent ? try await engine.actions(on: request.container, since: record.engineRecordSince) : []
            snapshot = try await engine.inspect(request.container)
        } catch {
            // Undecidable for now: the lease runs out and a later round tries again.
            log.warning("the engine could not be asked about an interrupted action; it is tried again later", metadata: ["error": "\(error)"])
            recent.remove(draft.requestID)
            return
        }
        if draft.envelope.data.containerID.isEmpty, let id = snapshot?.id { draft.envelope.data.containerID = id }
        switch record.assess(command, engineActions: engineActions, now: snapshot) {
        case .reached:
            log.info("interrupted action reached the engine; verifying it")
            await verifyAndConclude(
                draft, command: command, before: snapshot, gate: liveGate, since: context.clock.now, issuedAt: record.sentAt,
                note: "verified by \(consumerName) after the responder that sent it stopped")
        case .notReached:
            if let heldFor {
                await finish(.rejected, "held: an operator put the container on hold (\(Verification.seconds(heldFor)) left) before the action was carried out")
                return
            }
            if let refusal = policy.check(snapshot, command: command, name: request.container, ownExit: request.ownExitSeenBy) {
                await finish(refusal.status, "\(refusal.code): \(refusal.reason)")
                return
            }
            if command.startsContainer, let snapshot, snapshot.isRunning, let started = snapshot.startedAt, started > record.decidedAt {
                await finish(.skipped, "not carried out: the container was started again by someone else after the action was decided")
                return
            }
            log.info("interrupted action never reached the engine; carrying it out")
            await carryOut(draft, command: command, before: snapshot, record: record, gate: liveGate)
        }
    }

    // MARK: Outcomes

    private func completeGate(_ draft: inout Draft, gate: SafetyGate, outcome: SafetyGate.Outcome) async {
        let request = draft.request
        let requestID = draft.requestID
        let target = draft.target
        guard let completed = await persist("gate completion", {
            try await gate.completeWithRetry(container: target, requestID: requestID, outcome: outcome)
        }) else { return }
        if let retryIn = completed.retryIn, !draft.dryRun {
            await scheduleRetry(draft, in: retryIn)
        }
        draft.record.breakerState = completed.breaker.rawValue
        if completed.tripped {
            Counter(label: MetricNames.breakerTrips).increment()
            let escalation = Escalation(
                container: request.container, containerID: request.containerID, severity: .critical,
                reason: "circuit breaker opened: \(gate.policy.breakerThreshold) failed or ineffective remediations; HemoStat stops acting on this container until \(Verification.seconds(gate.policy.halfOpenAfter)) have passed or an operator runs `hemostat breaker reset \(draft.target)`",
                action: request.action, rule: request.rule, incidentID: request.incidentID, host: target.host)
            // One escalation per incident: when the analyzer escalated it already (a crash
            // loop), the breaker's opening is in the audit and the status, not told again.
            let escalated = context.keys.incidentEscalated(request.incidentID)
            let container = context.keys.containerEscalated(target)
            if (try? await context.redis.send(["EXISTS", escalated, container]).integer) ?? 0 > 0 {
                logger.info("breaker opened on a container already escalated; not told again", metadata: ["container.name": "\(target)"])
            } else {
                await persist("escalation") { try await self.context.publish(escalation, agent: Self.agent, host: target.host) }
                _ = try? await context.redis.pipeline([["SET", escalated, "1", "EX", "86400"], ["SET", container, "1", "EX", "3600"]])
            }
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
            requestID: draft.envelope.id, timings: timings, host: draft.target.host)
        let envelope = Envelope(agent: Self.agent, host: draft.target.host, data: complete, timestamp: finishedAt)
        // The audit trail first: whoever sees the result can find its record.
        draft.record.status = result.status.rawValue
        draft.record.reason = result.reason
        draft.record.retryAfterSeconds = result.retryAfterSeconds
        draft.record.finishedAt = finishedAt
        draft.record.time = finishedAt
        let record = draft.record
        // The result, the container's history and the end of the in-flight record are one
        // script, which publishes a request's result once however often it runs.
        let channel = context.keys.channel(.remediationComplete)
        let keys = [
            context.keys.responderResult(draft.requestID), channel, context.keys.remediation(draft.target), inFlightKey,
        ]
        let args = [
            envelope.encode(), String(context.bus.configuration.streamMaxLength), String(settings.historyLength), draft.requestID,
            String(liveGate.policy.requestMemory.milliseconds), channel,
        ]
        // Once started, the writes run to their end even if this task is cancelled (a shutdown).
        await Task {
            await self.persist("audit record") { try await self.audit.write(record) }
            await self.persist("remediation_complete") {
                try await self.context.redis.evalSHA(Self.publishResultScript, keys: keys, args: args)
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
        let repeated = try await gate.noteRefusal(container: draft.target, incidentID: request.incidentID, reason: refusal.code)
        if repeated {
            draft.record.reported = false
            draft.record.status = refusal.status.rawValue
            draft.record.reason = refusal.reason
            try await audit.write(draft.record)
            return
        }
        await conclude(&draft, result: RemediationResult(status: refusal.status, reason: "\(refusal.code): \(refusal.reason)"), issuedAt: nil)
    }

    /// - Parameter down: the container was not running when the request was read.
    private func gateRejected(_ draft: inout Draft, reason: GateRejection, decision: GateDecision, down: Bool) async throws {
        let request = draft.request
        draft.record.gateDecision = "rejected"
        draft.record.gateReason = reason.rawValue
        Counter(label: MetricNames.gateRejections, dimensions: [("reason", reason.rawValue)]).increment()
        if decision.escalate {
            let escalation = Escalation(
                container: request.container, containerID: request.containerID, severity: .critical,
                reason: "circuit breaker open: HemoStat is not acting on this container", action: request.action,
                rule: request.rule, incidentID: request.incidentID, host: draft.target.host)
            try await context.publish(escalation, agent: Self.agent, host: draft.target.host)
        }
        if !decision.repeatedRejection, !draft.dryRun {
            switch reason {
            case .cooldown:
                try await escalateRelapse(draft, retryAfter: decision.retryAfter)
            case .held, .rateLimited, .globalRateLimited:
                if down { try await escalateWaiting(draft, reason: reason, retryAfter: decision.retryAfter) }
            default:
                break
            }
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

    /// A fault back within the cooldown after a successful action: HemoStat will not act
    /// again yet, so a person is told once what came back, when, and when HemoStat may act.
    private func escalateRelapse(_ draft: Draft, retryAfter: Duration?) async throws {
        let request = draft.request
        let status = try await liveGate.status(container: draft.target)
        guard status.lastResult == SafetyGate.Outcome.success.rawValue, let actedAt = status.lastActionAt else { return }
        let escalated = context.keys.incidentEscalated(request.incidentID)
        guard try await context.redis.send(["SET", escalated, "1", "NX", "EX", "86400"]).string == "OK" else { return }
        let until = retryAfter.map { Timestamp.format(context.clock.now.addingTimeInterval($0.timeInterval)) } ?? "the end of the cooldown"
        let escalation = Escalation(
            container: request.container, containerID: request.containerID, severity: .critical,
            reason: "the fault came back within the cooldown: \(status.lastAction ?? "the last action") at \(Timestamp.format(actedAt)) succeeded, and now \(request.reason.isEmpty ? "it needs \(request.action.rawValue) again" : request.reason); HemoStat may act again at \(until)",
            action: request.action, rule: request.rule, incidentID: request.incidentID, host: draft.target.host)
        try await context.publish(escalation, agent: Self.agent, host: draft.target.host)
    }

    /// A container that is down and that HemoStat will not act on for now (a hold, a spent
    /// hourly budget): a person is told once per incident what it waits for and until when.
    private func escalateWaiting(_ draft: Draft, reason: GateRejection, retryAfter: Duration?) async throws {
        let request = draft.request
        let escalated = context.keys.incidentEscalated(request.incidentID)
        guard try await context.redis.send(["SET", escalated, "1", "NX", "EX", "86400"]).string == "OK" else { return }
        let until = retryAfter.map { Timestamp.format(context.clock.now.addingTimeInterval($0.timeInterval)) }
        let waiting: String
        switch reason {
        case .held: waiting = "it is on hold" + (until.map { " until \($0)" } ?? "")
        case .globalRateLimited: waiting = "the hourly action budget of all containers is spent" + (until.map { "; HemoStat may act again at \($0)" } ?? "")
        default: waiting = "its hourly action budget is spent" + (until.map { "; HemoStat may act again at \($0)" } ?? "")
        }
        let escalation = Escalation(
            container: request.container, containerID: request.containerID, severity: .critical,
            reason: "the container is down and HemoStat will not \(request.action.rawValue) it now: \(waiting)",
            action: request.action, rule: request.rule, incidentID: request.incidentID, host: draft.target.host)
        try await context.publish(escalation, agent: Self.agent, host: draft.target.host)
    }

    // MARK: Retries

    /// This host's retries: remediation requests to carry out again, scored by when (ms).
    var retryKey: String { context.keys.responderRetries(host: context.hostID) }

    /// Asks for `draft`'s action again after `delay` (a failed or ineffective attempt), as a
    /// request of its own.
    private func scheduleRetry(_ draft: Draft, in delay: Duration) async {
        var envelope = draft.envelope
        let stamp = "~retry-\(context.clock.nowMilliseconds)"
        envelope.id = String(envelope.id.split(separator: "~").first ?? Substring(envelope.id)) + stamp
        if !envelope.data.alertID.isEmpty {
            envelope.data.alertID = String(envelope.data.alertID.split(separator: "~").first ?? Substring(envelope.data.alertID)) + stamp
        }
        let due = context.clock.nowMilliseconds + delay.milliseconds
        let key = retryKey
        let text = envelope.encode()
        await persist("retry") { try await self.context.redis.send(["ZADD", key, String(due), text]) }
        logger.info("the action is tried again after a backoff", metadata: [
            "container.name": "\(draft.target)", "incident.id": "\(draft.request.incidentID)", "retry.in_ms": "\(delay.milliseconds)",
        ])
    }

    /// Carries out the retries that are due, unless the incident was escalated meanwhile.
    private func retryDue(spawn: AsyncStream<Job>.Continuation) async {
        let key = retryKey
        guard let due = try? await context.redis.send(["ZRANGEBYSCORE", key, "-inf", String(context.clock.nowMilliseconds), "LIMIT", "0", "10"]).array else { return }
        for text in due.compactMap(\.string) {
            // Claimed for a lease rather than removed: a responder that dies with it in hand
            // leaves it to the next look after the lease (the gate's idempotency by request id
            // keeps it from being done twice).
            let now = context.clock.nowMilliseconds
            let claimed = try? await context.redis.evalSHA(
                Self.claimRetryScript, keys: [key], args: [String(now), String(now + Self.retryLease.milliseconds), text])
            guard claimed?.integer == 1 else { continue }  // another responder took it
            if let envelope = try? Envelope<RemediationNeeded>.decode(text),
               (try? await context.redis.send([
                   "EXISTS", context.keys.incidentEscalated(envelope.data.incidentID), context.keys.containerEscalated(envelope.container),
               ]).integer) ?? 0 > 0 {
                logger.info("not tried again: a person was told about the container meanwhile", metadata: ["incident.id": "\(envelope.data.incidentID)"])
                _ = try? await context.redis.send(["ZREM", key, text])
                continue
            }
            do {
                _ = try await handle(BusDelivery(channel: key, streamID: "retry", message: text, deliveryCount: 1), spawn: spawn)
                await persist("retry taken") { try await self.context.redis.send(["ZREM", key, text]) }
            } catch {
                // Nothing was done (Redis or the engine did not answer): a little later.
                _ = try? await context.redis.send(["ZADD", key, String(context.clock.nowMilliseconds + 5000), text])
            }
        }
    }

    /// `notify`: nothing is changed; a human is asked to look.
    private func notify(_ draft: inout Draft) async throws {
        let request = draft.request
        draft.record.gateDecision = "not_asked"
        let escalation = Escalation(
            container: request.container, containerID: request.containerID, severity: .warning,
            reason: request.reason.isEmpty ? "the analyzer asks a human to look" : request.reason,
            action: .notify, rule: request.rule, incidentID: request.incidentID, host: draft.target.host)
        if !draft.dryRun {
            try await context.publish(escalation, agent: Self.agent, host: draft.target.host)
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

    /// How long a responder holds a retry it took before another may take it.
    static let retryLease: Duration = .seconds(60)

    /// `Lua/responder-claim-retry.lua`, `-publish-result.lua`, `-move-in-flight.lua`.
    private static let claimRetryScript = RedisScript(embedded: PackageResources.responder_claim_retry_lua)
    private static let publishResultScript = RedisScript(embedded: PackageResources.responder_publish_result_lua)
    private static let moveScript = RedisScript(embedded: PackageResources.responder_move_in_flight_lua)

    /// Retries a Redis write for up to a minute (an action already happened: its record must
    /// not be lost to a brief outage, and the request must not run again). Nil when it gave up.
    @discardableResult
    private func persist<T: Sendable>(_ what: String, timeout: Duration? = nil, _ operation: @Sendable () async throws -> T) async -> T? {
        var deadline = ContinuousClock.now + (timeout ?? persistFor)
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                return try await operation()
            } catch {
                // Stopping: what is not written is left to the next process (the in-flight
                // record stays), after at most the shutdown's grace.
                if Task.isShuttingDownGracefully { deadline = min(deadline, .now + settings.shutdownGrace) }
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
