import HemoStatCore
public import HemoStatModel
public import HemoStatRules

/// What the analyzer publishes for one alert, and how it got there.
public struct AnalyzerDecision: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// Act: `remediation_needed`.
        case remediate(RemediationNeeded)
        /// Not a fault: `false_alarm`.
        case falseAlarm(FalseAlarm)
        /// A human must look: `escalation`.
        case escalate(Escalation)
        /// No rule had an opinion: nothing is published.
        case none
    }

    public var outcome: Outcome
    /// Which path decided: the rules, or the LLM for an ambiguous case.
    public var method: AnalysisMethod
    /// "Not yet": a `recheck` verdict, or an ambiguous verdict decided by a fallback that does
    /// nothing (no LLM answer). The analyzer evaluates the incident again as new samples arrive.
    public var notYet = false
    /// For a `recheck` verdict that asked for it: evaluate again at the latest this long after,
    /// new sample or not.
    public var recheckAfter: Duration?

    /// The reason of the message to publish, if any.
    public var reason: String {
        switch outcome {
        case .remediate(let p): p.reason
        case .falseAlarm(let p): p.reason
        case .escalate(let p): p.reason
        case .none: "no rule had an opinion"
        }
    }

    /// The rule that decided, if any.
    public var rule: String? {
        switch outcome {
        case .remediate(let p): p.rule
        case .falseAlarm(let p): p.rule
        case .escalate(let p): p.rule
        case .none: nil
        }
    }

    /// The `outcome` label of `hemostat_analyzer_decisions_total`.
    public var outcomeLabel: String {
        switch outcome {
        case .remediate: "remediate"
        case .falseAlarm: "false_alarm"
        case .escalate: "escalate"
        case .none: "none"
        }
    }

    /// Turns the decisive verdict (and, for an ambiguous one, what the LLM said) into the
    /// message to publish. No I/O.
    ///
    /// - An `ambiguous` verdict with an LLM answer: the answer decides (`analysis_method`
    ///   `llm`): a false alarm, `notify` as an escalation, otherwise the action.
    /// - An `ambiguous` verdict without one: its `fallback` verdict decides (`rules`) and the
    ///   reason says why the LLM was not used; with no fallback, a human is asked.
    /// - Parameters:
    ///   - llmLabel: `provider model`, named in the reason of LLM decisions.
    public static func make(
        alert: Envelope<HealthAlert>, verdict: RuleVerdict?, llm: LLMAdvisor.Outcome?, llmLabel: String? = nil
    ) -> AnalyzerDecision {
        guard let verdict else { return AnalyzerDecision(outcome: .none, method: .rules) }
        if verdict.kind == .recheck { return notYet(verdict, alert: alert, reason: "not decided yet: \(verdict.reason)") }
        guard verdict.kind == .ambiguous else {
            return AnalyzerDecision(outcome: outcome(for: verdict, alert: alert, method: .rules, reason: verdict.reason), method: .rules)
        }
        switch llm {
        case .answer(let answer, let cached)?:
            var who = "LLM"
            if let llmLabel { who += " (\(llmLabel)\(cached ? ", cached answer" : ""))" }
            let reason = "\(who): \(answer.reason) [rule \(verdict.rule) was ambiguous: \(verdict.reason)]"
            var decided = verdict
            decided.confidence = answer.confidence
            if answer.isFalseAlarm {
                decided.kind = .falseAlarm
                decided.action = .none
            } else if answer.action == .notify {
                decided.kind = .escalate
                decided.action = .notify
            } else {
                decided.kind = .act
                decided.action = answer.action
                decided.parameters = [:]
            }
            return AnalyzerDecision(outcome: outcome(for: decided, alert: alert, method: .llm, reason: reason), method: .llm)
        case .unavailable(let error)?:
            return fallback(verdict, alert: alert, cause: error.message)
        case nil:
            return fallback(verdict, alert: alert, cause: "no LLM configured")
        }
    }

    /// A verdict that waits for more evidence: told as a false alarm (nothing to do now), with
    /// the incident evaluated again.
    private static func notYet(_ verdict: RuleVerdict, alert: Envelope<HealthAlert>, reason: String) -> AnalyzerDecision {
        var decided = verdict
        decided.kind = .falseAlarm
        decided.action = .none
        var decision = AnalyzerDecision(outcome: outcome(for: decided, alert: alert, method: .rules, reason: reason), method: .rules)
        decision.notYet = true
        decision.recheckAfter = verdict.after.map { .milliseconds(Int64(($0 * 1000).rounded())) }
        return decision
    }

    private static func fallback(_ verdict: RuleVerdict, alert: Envelope<HealthAlert>, cause: String) -> AnalyzerDecision {
        if let fallback = verdict.fallback?.verdict, fallback.kind == .recheck {
            let reason = "not decided yet: \(fallback.reason) [rules fallback of \(verdict.rule), ambiguous: \(verdict.reason); LLM not used: \(cause)]"
            return notYet(fallback, alert: alert, reason: reason)
        }
        if let fallback = verdict.fallback?.verdict, fallback.kind != .ambiguous {
            var decided = fallback
            decided.dryRun = decided.dryRun || verdict.dryRun
            let reason = "\(fallback.reason) [rules fallback of \(verdict.rule), ambiguous: \(verdict.reason); LLM not used: \(cause)]"
            var decision = AnalyzerDecision(outcome: outcome(for: decided, alert: alert, method: .rules, reason: reason), method: .rules)
            decision.notYet = decided.kind == .falseAlarm
            return decision
        }
        var decided = verdict
        decided.kind = .escalate
        decided.action = .notify
        let reason = "needs a human: rule \(verdict.rule) found this ambiguous (\(verdict.reason)) and gave no fallback; LLM not used: \(cause)"
        return AnalyzerDecision(outcome: outcome(for: decided, alert: alert, method: .rules, reason: reason), method: .rules)
    }

    private static func outcome(for verdict: RuleVerdict, alert: Envelope<HealthAlert>, method: AnalysisMethod, reason: String) -> Outcome {
        let data = alert.data
        switch verdict.kind {
        case .act:
            return .remediate(RemediationNeeded(
                container: data.containerName, containerID: data.containerID, action: verdict.action,
                parameters: ActionParameters(verdict.parameters), reason: reason, confidence: clamp(verdict.confidence),
                rule: verdict.rule, analysisMethod: method, dryRun: verdict.dryRun, incidentID: data.incidentID,
                alertID: alert.id, detectedAt: data.detectedAt, stoppedByOperator: data.stoppedByOperator, host: alert.container.host))
        case .falseAlarm, .recheck:
            return .falseAlarm(FalseAlarm(
                container: data.containerName, containerID: data.containerID, reason: reason,
                confidence: clamp(verdict.confidence), rule: verdict.rule, analysisMethod: method,
                incidentID: data.incidentID, alertID: alert.id, host: alert.container.host))
        case .escalate, .ambiguous:
            return .escalate(Escalation(
                container: data.containerName, containerID: data.containerID,
                severity: max(data.highestSeverity ?? .warning, .warning), reason: reason, action: nil, rule: verdict.rule,
                incidentID: data.incidentID, analysisMethod: method, alertID: alert.id, host: alert.container.host))
        }
    }

    private static func clamp(_ confidence: Double) -> Double {
        confidence.isFinite ? min(1, max(0, confidence)) : 0
    }
}

extension ActionParameters {
    /// The parameters a rule gave (`params = {signal = "SIGTERM"}`); nil when there are none.
    init?(_ parameters: [String: JSONValue]) {
        guard !parameters.isEmpty else { return nil }
        self.init()
        signal = parameters["signal"].flatMap { $0.stringValue ?? $0.doubleValue.map { String(Int($0)) } }
        memoryLimit = parameters["memory_limit"]?.doubleValue.map { Int($0) }
        cpus = parameters["cpus"]?.doubleValue
        command = parameters["command"]?.arrayValue?.compactMap(\.stringValue)
        timeoutSeconds = parameters["timeout_seconds"]?.doubleValue.map { Int($0) }
    }
}
