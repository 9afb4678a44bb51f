import Foundation
public import HemoStatCore
public import HemoStatModel
public import HemoStatRules
public import Logging
import Metrics
public import ServiceLifecycle

/// The analyzer: reads `health_alert` through the consumer group `analyzer`, lets the Lua
/// rules decide (the LLM only for cases they call ambiguous) and publishes
/// `remediation_needed`, `false_alarm` or `escalation`.
///
/// - Several analyzers share one stream: the consumer group hands each entry to one of them.
/// - A message that is not a valid health alert goes to the dead-letter stream.
/// - Alerts older than `analyzer.max_alert_age` are dropped with a log line (the monitor
///   announces a fault that persists again).
/// - The rules directory is watched (`analyzer.reload_interval`); `hemostat:rules:status` is
///   written at start, after each reload and every `analyzer.status_interval`.
/// - Published decisions carry `alert_id` (the alert's envelope id) so the responder can drop
///   redeliveries; a failed publish leaves the alert pending for a retry.
///
/// `run()` returns on graceful shutdown after the alert in hand is decided.
public struct AnalyzerService: Service {
    public static let agent = "analyzer"
    public static let group = "analyzer"

    public let context: AgentContext
    public let rules: RuleSet
    public let advisor: LLMAdvisor
    private let rechecks: Rechecks
    private let audit: AuditLog
    private let logger: Logger

    /// - Parameters:
    ///   - rules: by default loaded from `analyzer.rules_directory`.
    ///   - llmTransport: how LLM requests are sent; nil means no LLM is used whatever the
    ///     configuration says.
    /// - Throws: `RuleError` when the rules directory cannot be read.
    public init(context: AgentContext, rules: RuleSet? = nil, llmTransport: (any LLMTransport)? = nil) throws {
        var logger = context.logger
        logger[metadataKey: "agent"] = .string(Self.agent)
        let rules = try rules ?? Self.loadRules(context.configuration.analyzer, logger: logger)
        let llm = context.configuration.analyzer.llm
        let made: (client: (any LLMClient)?, reason: String) =
            llmTransport.map { LLMClients.make(configuration: llm, transport: $0) } ?? (nil, "no LLM configured")
        let advisor = LLMAdvisor(
            client: made.client, unconfiguredReason: made.reason, configuration: llm, redis: context.redis, keys: context.keys,
            clock: context.clock, logger: logger)
        self.init(context: context, rules: rules, advisor: advisor)
    }

    /// An analyzer with a given LLM advisor (tests, benchmarks).
    public init(context: AgentContext, rules: RuleSet, advisor: LLMAdvisor) {
        var logger = context.logger
        logger[metadataKey: "agent"] = .string(Self.agent)
        self.context = context
        self.rules = rules
        self.advisor = advisor
        self.rechecks = Rechecks(redis: context.redis, keys: context.keys)
        self.audit = AuditLog(redis: context.redis, keys: context.keys, file: nil, stateDirectory: context.configuration.stateDirectory, logger: logger)
        self.logger = logger
        if let client = advisor.client {
            logger.info("LLM enabled for ambiguous cases", metadata: ["llm.provider": "\(client.provider)", "llm.model": "\(client.model)"])
        }
    }

    public func run() async throws {
        let consumer = context.consumer(channel: .healthAlert, group: Self.group, agent: Self.agent) { delivery in
            try await self.handle(delivery)
        }
        await writeStatus()
        let router = RequestRouter(context: context, role: Self.agent)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await rules.watch(every: context.configuration.analyzer.reloadInterval) { _ in
                    await self.writeStatus()
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: context.configuration.analyzer.statusInterval)
                    if Task.isCancelled { break }
                    await self.writeStatus()
                }
            }
            // Requests are routed here too, so they reach their host even while no responder runs.
            group.addTask { try await router.run() }
            // Incidents whose verdict was "not yet", looked at again as samples arrive.
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    await self.recheckDue()
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.recheckLook) }
                }
            }
            // The consumer returns on graceful shutdown, after the alert in hand; the rest follow.
            try await consumer.run()
            group.cancelAll()
        }
        await writeStatus()
    }

    /// Decides one delivery from the `health_alert` stream and publishes the decision.
    ///
    /// - Returns: `.deadLetter` for a message that is not a health alert, `.ack` otherwise.
    /// - Throws: when Redis fails (reading history, publishing); the entry stays pending.
    public func handle(_ delivery: BusDelivery) async throws -> BusDisposition {
        let started = ContinuousClock.now
        let alert: Envelope<HealthAlert>
        do {
            alert = try Envelope<HealthAlert>.decode(delivery.message ?? "")
        } catch {
            Counter(label: MetricNames.deadLetters, dimensions: [("channel", Channel.healthAlert.eventType)]).increment()
            return .deadLetter(reason: error.reason)
        }
        var logger = logger
        logger[metadataKey: "container.name"] = .string(alert.data.containerName)
        logger[metadataKey: "incident.id"] = .string(alert.data.incidentID)
        logger[metadataKey: "alert.id"] = .string(alert.id)

        let age = context.clock.now.timeIntervalSince(alert.timestamp)
        if age > context.configuration.analyzer.maxAlertAge.timeInterval {
            logger.info("stale alert dropped", metadata: ["alert.age_s": "\(Int(age))"])
            Counter(label: MetricNames.analyzerDecisions, dimensions: [("method", "rules"), ("outcome", "stale")]).increment()
            return .ack
        }

        var decision = try await decide(alert, logger: logger)
        // Each decision concerns the alert's host, whichever host this analyzer runs on. The
        // incident's host is kept for requests that scripts send about it without naming one.
        let host = alert.container.host
        try await context.redis.send(["SET", context.keys.incidentHost(alert.data.incidentID), host, "EX", "86400"])
        if decision.notYet, context.configuration.analyzer.recheckFor > .zero {
            // Not yet decided: looked at again with each new sample. The verdict is told once;
            // a reminder of the same incident only refreshes what is looked at.
            let incident = alert.data.incidentID
            let waiting = try await rechecks.contains(incident)
            let now = context.clock.nowMilliseconds
            try await rechecks.schedule(
                incident, alert: text(of: delivery), sample: try await sampleTime(alert.container) ?? "",
                until: now + context.configuration.analyzer.recheckFor.milliseconds, next: now + Self.recheckLook.milliseconds,
                at: decision.recheckAfter.map { now + $0.milliseconds })
            await auditEvaluation(alert, decision, status: "not_yet")
            if waiting {
                logger.info("incident still not decided; evaluated again with the next samples")
                return .ack
            }
            if case .falseAlarm(var payload) = decision.outcome {
                let minutes = Int(context.configuration.analyzer.recheckFor.timeInterval / 60)
                if let after = decision.recheckAfter {
                    payload.reason += "; evaluated again with each new sample and in \(after.components.seconds) s, for up to \(minutes) min"
                } else {
                    payload.reason += "; evaluated again with each new sample for up to \(minutes) min"
                }
                decision.outcome = .falseAlarm(payload)
            }
        }
        try await publish(decision, alert: alert, logger: logger)
        Counter(label: MetricNames.analyzerDecisions, dimensions: [("method", decision.method.rawValue), ("outcome", decision.outcomeLabel)])
            .increment()
        Metrics.Timer(label: MetricNames.analyzerDecisionSeconds, dimensions: [("method", decision.method.rawValue)])
            .recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        return .ack
    }

    /// The rules of `configuration.rulesLocation`: a directory, watched for edits, or the rules
    /// built in.
    static func loadRules(_ configuration: AnalyzerConfiguration, logger: Logger) throws(RuleError) -> RuleSet {
        switch configuration.rulesLocation {
        case .directory: try RuleSet(configuration: configuration.rules, logger: logger)
        case .builtIn: RuleSet(sources: DefaultRules.sources, configuration: configuration.rules, logger: logger)
        }
    }

    /// How often incidents waiting for their verdict are looked at (a new sample is needed
    /// before one is evaluated again).
    static let recheckLook: Duration = .seconds(1)

    private func text(of delivery: BusDelivery) -> String { delivery.message ?? "" }

    /// The `updated_at` of the container's stats document: which sample the rules saw.
    private func sampleTime(_ container: ContainerRef) async throws -> String? {
        guard let text = try await context.redis.send(["GET", context.keys.stats(container)]).string,
              let document = try? JSONValue.parse(text) else { return nil }
        return document["updated_at"]?.stringValue
    }

    /// One evaluation in the audit stream (kind `evaluation`, status `decided` or `not_yet`).
    private func auditEvaluation(_ alert: Envelope<HealthAlert>, _ decision: AnalyzerDecision, status: String) async {
        var record = AuditRecord(
            kind: "evaluation", time: context.clock.now, host: alert.container.host, container: alert.data.containerName,
            action: decision.outcomeLabel, status: status, reason: decision.reason)
        record.incidentID = alert.data.incidentID
        record.messageID = alert.id
        record.rule = decision.rule
        record.analysisMethod = decision.method.rawValue
        record.actor = context.consumerName(agent: Self.agent)
        do {
            try await audit.write(record)
        } catch {
            logger.warning("evaluation not audited", metadata: ["error": "\(error)"])
        }
    }

    /// Looks at the incidents due for another evaluation.
    func recheckDue() async {
        let now = context.clock.nowMilliseconds
        let due: [Rechecks.Pending]
        do {
            due = try await rechecks.claimDue(now: now, lease: 30_000)
        } catch {
            logger.warning("incidents waiting for a verdict could not be read", metadata: ["error": "\(error)"])
            return
        }
        for pending in due {
            do {
                try await recheck(pending, now: now)
            } catch {
                // Claimed for 30 s: looked at again once that passes.
                logger.warning("an incident waiting for its verdict could not be evaluated", metadata: [
                    "incident.id": "\(pending.incidentID)", "error": "\(error)",
                ])
            }
        }
    }

    /// Evaluates a waiting incident again when a new sample of its container is there, and
    /// publishes the decision once one is reached.
    private func recheck(_ pending: Rechecks.Pending, now: Int64) async throws {
        var log = logger
        log[metadataKey: "incident.id"] = .string(pending.incidentID)
        guard var alert = try? Envelope<HealthAlert>.decode(pending.alert) else {
            try await rechecks.finish(pending.incidentID)
            return
        }
        log[metadataKey: "container.name"] = .string(alert.data.containerName)
        if now > pending.until {
            log.info("incident still not decided after analyzer.recheck_for; no more evaluations")
            try await rechecks.finish(pending.incidentID)
            return
        }
        guard let text = try await context.redis.send(["GET", context.keys.stats(alert.container)]).string,
              let document = try? JSONValue.parse(text), let sample = document["updated_at"]?.stringValue else {
            log.info("container gone; no more evaluations")
            try await rechecks.finish(pending.incidentID)
            return
        }
        let current = Set((document["anomalies"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue })
        if current.isDisjoint(with: alert.data.anomalies.map(\.type.rawValue)) {
            log.info("the fault is gone; no more evaluations")
            try await rechecks.finish(pending.incidentID)
            return
        }
        let next = now + Self.recheckLook.milliseconds
        let asked = pending.at.map { now >= $0 } ?? false
        guard sample != pending.sample || asked else {
            try await rechecks.again(pending, sample: sample, evaluated: false, next: next, at: pending.at)
            return
        }
        // The same incident, evaluated over the history as it is now.
        alert.id = "\(alert.id)-r\(pending.evaluations)"
        alert.timestamp = context.clock.now
        let decision = try await decide(alert, logger: log)
        if decision.notYet {
            await auditEvaluation(alert, decision, status: "not_yet")
            try await rechecks.again(
                pending, sample: sample, evaluated: true, next: next, at: decision.recheckAfter.map { now + $0.milliseconds })
            return
        }
        log.info("incident decided on a later sample", metadata: [
            "analyzer.outcome": "\(decision.outcomeLabel)", "analyzer.evaluations": "\(pending.evaluations + 1)",
        ])
        await auditEvaluation(alert, decision, status: "decided")
        try await publish(decision, alert: alert, logger: log)
        try await rechecks.finish(pending.incidentID)
        Counter(label: MetricNames.analyzerDecisions, dimensions: [("method", decision.method.rawValue), ("outcome", decision.outcomeLabel)])
            .increment()
    }

    /// Publishes a decision about `alert`.
    private func publish(_ decision: AnalyzerDecision, alert: Envelope<HealthAlert>, logger: Logger) async throws {
        let host = alert.container.host
        switch decision.outcome {
        case .remediate(let payload): try await context.publish(payload, agent: Self.agent, host: host)
        case .falseAlarm(let payload):
            try await context.publish(payload, agent: Self.agent, host: host)
            Counter(label: MetricNames.falseAlarms).increment()
        case .escalate(let payload):
            // One escalation per incident: the monitor's reminders of a fault still there are
            // decided again, and a person who was told (by this rule, another, or the
            // responder's breaker) needs telling once.
            let sent = context.keys.incidentEscalated(payload.incidentID)
            if try await context.redis.send(["EXISTS", sent]).integer == 1 {
                logger.info("the incident was escalated already; not repeated", metadata: ["rules.rule": "\(payload.rule ?? "-")"])
            } else if try await breakerOpen(alert.container) {
                // The responder's breaker opened on the container and said so: HemoStat has
                // stopped acting on it, which is what this escalation would ask for.
                logger.info("the breaker is open and was escalated; not repeated", metadata: ["rules.rule": "\(payload.rule ?? "-")"])
            } else {
                try await context.publish(payload, agent: Self.agent, host: host)
                _ = try await context.redis.pipeline([
                    ["SET", sent, "1", "EX", "86400"], ["SET", context.keys.containerEscalated(alert.container), "1", "EX", "3600"],
                ])
            }
        case .none: logger.debug("no rule had an opinion; nothing published")
        }
    }

    /// Whether the live gate's breaker is open on `container` (its opening was escalated).
    private func breakerOpen(_ container: ContainerRef) async throws -> Bool {
        let gate = SafetyGate(
            redis: context.redis, policy: SafetyPolicy(configuration: context.configuration.responder), keys: context.keys,
            dryRun: false, clock: context.gateClock)
        return try await gate.status(container: container).breakerState == .open
    }

    /// Evaluates the rules on `alert` with the container's history and consults the LLM for an
    /// ambiguous verdict. Reads Redis (history, LLM cache and budget); publishes nothing.
    public func decide(_ alert: Envelope<HealthAlert>, logger: Logger? = nil) async throws -> AnalyzerDecision {
        let logger = logger ?? self.logger
        let stats = try await context.redis.send(["GET", context.keys.stats(alert.container)]).string
        let evaluation = await rules.evaluate(AlertInput.ruleInput(alert: alert.data, statsDocument: stats))
        for error in evaluation.errors {
            Counter(label: MetricNames.ruleErrors, dimensions: [("kind", error.code.rawValue)]).increment()
            logger.warning("rule failed and was skipped", metadata: [
                "rules.rule": "\(error.rule ?? "?")", "rules.location": "\(error.location?.description ?? "")",
                "rules.error": "\(error.message)",
            ])
        }
        var llm: LLMAdvisor.Outcome?
        if let verdict = evaluation.decisive, verdict.kind == .ambiguous {
            let allowed = AllowedActions.forLLM(
                configured: context.configuration.responder.allowedActions, labels: alert.data.labels)
            let history = AlertInput.history(statsDocument: stats)
            let advisor = self.advisor
            let data = alert.data
            // A shutdown does not wait for the LLM: the question is dropped and the alert left
            // pending, so the next analyzer decides it (the rules' fallback is not taken for it).
            let outcome = await cancelWhenGracefulShutdown {
                await advisor.advise(alert: data, verdict: verdict, history: history, allowed: allowed)
            }
            if Task.isShuttingDownGracefully || Task.isCancelled, case .unavailable = outcome {
                throw CancellationError()
            }
            llm = outcome
        }
        let decision = AnalyzerDecision.make(alert: alert, verdict: evaluation.decisive, llm: llm, llmLabel: advisor.label)
        logger.debug("alert decided", metadata: [
            "analyzer.outcome": "\(decision.outcomeLabel)", "analyzer.method": "\(decision.method.rawValue)",
            "rules.rule": "\(evaluation.decisive?.rule ?? "-")",
        ])
        return decision
    }

    /// Writes `hemostat:rules:status`; failures are logged.
    public func writeStatus() async {
        let document = rules.status.document(host: context.hostID, now: context.clock.now)
        do {
            try await context.redis.send(["SET", context.keys.rulesStatus, document.jsonText])
        } catch {
            logger.warning("rules status not written", metadata: ["error": "\(error)"])
        }
    }
}
