import Foundation
@testable import HemoStatAnalyzer
@testable import HemoStatCore
@testable import HemoStatModel
@testable import HemoStatMonitor
import HemoStatRules
import Testing

@Suite struct AnalyzerDecisionTests {
    let rules = try! RuleSet(configuration: RulesConfiguration(directory: repositoryRulesDirectory), logger: analyzerQuietLogger)

    func decide(_ alert: HealthAlert, history: [JSONValue] = [], llm: LLMAdvisor.Outcome? = nil) -> (AnalyzerDecision, Envelope<HealthAlert>) {
        let envelope = AnalyzerFixtures.envelope(alert)
        let evaluation = rules.evaluateSync(AlertInput.ruleValue(alert: alert, history: history))
        return (AnalyzerDecision.make(alert: envelope, verdict: evaluation.decisive, llm: llm, llmLabel: "anthropic claude-test"), envelope)
    }

    @Test func aCrashIsARestartRequestAnsweringTheAlert() throws {
        let (decision, envelope) = decide(AnalyzerFixtures.alert(status: "exited", exitCode: 1))
        guard case .remediate(let request) = decision.outcome else { Issue.record("expected a remediation: \(decision)"); return }
        #expect(request.action == .restart)
        #expect(request.rule == "crash-restart")
        #expect(request.analysisMethod == .rules)
        #expect(request.alertID == envelope.id)
        #expect(request.incidentID == envelope.data.incidentID)
        #expect(request.container == "web")
        #expect(request.confidence == 0.85)
        #expect(request.dryRun == false)
        #expect(request.stoppedByOperator == envelope.data.stoppedByOperator)
        #expect(decision.outcomeLabel == "remediate")
    }

    @Test func healthStartingIsAFalseAlarm() {
        let (decision, envelope) = decide(AnalyzerFixtures.alert(health: "starting"))
        guard case .falseAlarm(let alarm) = decision.outcome else { Issue.record("expected a false alarm: \(decision)"); return }
        #expect(alarm.rule == "health-starting")
        #expect(alarm.alertID == envelope.id)
        #expect(alarm.analysisMethod == .rules)
    }

    @Test func aCrashLoopEscalatesToAHuman() {
        let alert = AnalyzerFixtures.alert(
            status: "exited", exitCode: 1, anomalies: [Anomaly(type: .restartLoop, severity: .critical, value: 5, threshold: 3)])
        let (decision, envelope) = decide(alert)
        guard case .escalate(let escalation) = decision.outcome else { Issue.record("expected an escalation: \(decision)"); return }
        #expect(escalation.rule == "crash-loop")
        #expect(escalation.severity == .critical)
        #expect(escalation.alertID == envelope.id)
        #expect(escalation.analysisMethod == .rules)
    }

    @Test func noOpinionPublishesNothing() {
        let (decision, _) = decide(AnalyzerFixtures.alert())
        #expect(decision.outcome == .none)
        #expect(decision.outcomeLabel == "none")
    }

    @Test func ambiguousWithoutLLMUsesTheRulesFallbackAndSaysWhy() {
        let (decision, _) = decide(
            AnalyzerFixtures.ambiguousCPU, history: AnalyzerFixtures.cpuHistory([90, 97]),
            llm: .unavailable(LLMError(code: .notConfigured, message: "no API key for anthropic (ANTHROPIC_API_KEY)")))
        guard case .falseAlarm(let alarm) = decision.outcome else { Issue.record("expected the fallback false alarm: \(decision)"); return }
        #expect(decision.method == .rules)
        #expect(alarm.analysisMethod == .rules)
        #expect(alarm.rule == "cpu-sustained")
        #expect(alarm.confidence == 0.5)
        #expect(alarm.reason.contains("LLM not used: no API key for anthropic"))
        #expect(alarm.reason.hasPrefix("not decided yet: CPU high"))
        #expect(decision.notYet, "the fallback is a recheck: evaluated again")
        #expect(decision.recheckAfter != nil, "at the latest when the window is due")
    }

    @Test func aRecheckIsNotYetDecidedAndSaysWhenToLookAgain() throws {
        let rules = RuleSet(
            sources: [RuleSource(path: "a.lua", text: #"rule { name = "wait", when = function(a, h) return recheck { after = 45, reason = "too early" } end }"#)],
            logger: analyzerQuietLogger)
        let envelope = AnalyzerFixtures.envelope(AnalyzerFixtures.alert())
        let evaluation = rules.evaluateSync(AlertInput.ruleValue(alert: envelope.data, history: []))
        let decision = AnalyzerDecision.make(alert: envelope, verdict: evaluation.decisive, llm: nil)
        guard case .falseAlarm(let alarm) = decision.outcome else { Issue.record("expected a false alarm told once: \(decision)"); return }
        #expect(alarm.reason == "not decided yet: too early")
        #expect(alarm.rule == "wait")
        #expect(decision.notYet)
        #expect(decision.recheckAfter == .seconds(45))
    }

    @Test func ambiguousWithAnLLMAnswerIsDecidedByTheLLM() {
        let answer = LLMAnswer(action: .restart, confidence: 0.7, reason: "CPU pinned with a growing queue", isFalseAlarm: false)
        let (decision, envelope) = decide(
            AnalyzerFixtures.ambiguousCPU, history: AnalyzerFixtures.cpuHistory([90, 97]), llm: .answer(answer, cached: false))
        guard case .remediate(let request) = decision.outcome else { Issue.record("expected a remediation: \(decision)"); return }
        #expect(decision.method == .llm)
        #expect(request.analysisMethod == .llm)
        #expect(request.action == .restart)
        #expect(request.confidence == 0.7)
        #expect(request.alertID == envelope.id)
        #expect(request.reason.hasPrefix("LLM (anthropic claude-test): CPU pinned"))
    }

    @Test func anLLMFalseAlarmAndNotifyMapToTheirMessages() {
        let history = AnalyzerFixtures.cpuHistory([90, 97])
        let alarm = LLMAnswer(action: .none, confidence: 0.8, reason: "batch job", isFalseAlarm: true)
        if case .falseAlarm(let message) = decide(AnalyzerFixtures.ambiguousCPU, history: history, llm: .answer(alarm, cached: true)).0.outcome {
            #expect(message.analysisMethod == .llm)
            #expect(message.reason.contains("cached answer"))
        } else {
            Issue.record("expected a false alarm")
        }
        let notify = LLMAnswer(action: .notify, confidence: 0.6, reason: "unclear", isFalseAlarm: false)
        if case .escalate(let message) = decide(AnalyzerFixtures.ambiguousCPU, history: history, llm: .answer(notify, cached: false)).0.outcome {
            #expect(message.analysisMethod == .llm)
        } else {
            Issue.record("expected an escalation")
        }
    }

    @Test func ambiguousWithoutAFallbackAsksAHuman() {
        let rules = RuleSet(
            sources: [RuleSource(path: "a.lua", text: #"rule { name = "unsure", when = function(a, h) return ambiguous { reason = "no idea" } end }"#)],
            logger: analyzerQuietLogger)
        let alert = AnalyzerFixtures.alert()
        let evaluation = rules.evaluateSync(AlertInput.ruleValue(alert: alert, history: []))
        let decision = AnalyzerDecision.make(
            alert: AnalyzerFixtures.envelope(alert), verdict: evaluation.decisive,
            llm: .unavailable(LLMError(code: .timeout, message: "timed out")))
        guard case .escalate(let escalation) = decision.outcome else { Issue.record("expected an escalation: \(decision)"); return }
        #expect(escalation.reason.contains("needs a human"))
        #expect(escalation.reason.contains("timed out"))
    }

    @Test func ruleParametersAndDryRunReachTheRequest() {
        let rules = RuleSet(
            sources: [RuleSource(path: "a.lua", text: #"rule { name = "k", dry_run = true, when = function(a, h) return kill { reason = "stuck", params = { signal = "SIGTERM" } } end }"#)],
            logger: analyzerQuietLogger)
        let alert = AnalyzerFixtures.alert()
        let evaluation = rules.evaluateSync(AlertInput.ruleValue(alert: alert, history: []))
        let decision = AnalyzerDecision.make(alert: AnalyzerFixtures.envelope(alert), verdict: evaluation.decisive, llm: nil)
        guard case .remediate(let request) = decision.outcome else { Issue.record("expected a remediation"); return }
        #expect(request.action == .kill)
        #expect(request.parameters?.signal == "SIGTERM")
        #expect(request.dryRun)
    }
}

@Suite struct AlertInputTests {
    @Test func theRuleInputCarriesTheAlertAndHistory() {
        var alert = AnalyzerFixtures.alert(labels: ["app": "web"])
        alert.anomalies = [Anomaly(type: .memoryGrowth, severity: .warning, value: 70, threshold: 80, projectedSecondsToLimit: 300)]
        let history = AnalyzerFixtures.cpuHistory([1, 2, 3])
        let input = AlertInput.ruleValue(alert: alert, history: history)
        #expect(input["container_name"] == "web")
        #expect(input["labels"]?["app"] == "web")
        #expect(input["history"]?.arrayValue?.count == 3)
        #expect(input["anomalies"]?.arrayValue?.first?["projected_seconds"] == 300)
        #expect(input["metrics"]?["cpu_percent"] == 10)
    }

    @Test func historyIsReadFromTheStatsDocument() {
        let history = AnalyzerFixtures.cpuHistory([5, 6])
        #expect(AlertInput.history(statsDocument: AnalyzerFixtures.statsDocument(history: history)) == history)
        #expect(AlertInput.history(statsDocument: nil).isEmpty)
        #expect(AlertInput.history(statsDocument: "not json").isEmpty)
        #expect(AlertInput.history(statsDocument: #"{"history": 3}"#).isEmpty)
    }
}

@Suite struct AllowedActionsTests {
    let configured = ResponderConfiguration.defaultAllowedActions

    @Test func parameterlessConfiguredActionsAreOffered() {
        let allowed = AllowedActions.forLLM(configured: configured, labels: [:])
        #expect(allowed == [.restart, .start, .stop, .kill, .pause, .unpause, .notify])
        #expect(!AllowedActions.forLLM(configured: RuleAction.allCases, labels: [:]).contains(.exec))
        #expect(AllowedActions.forLLM(configured: [.restart], labels: [:]) == [.restart])
    }

    @Test func labelsOnlyNarrowTheSet() {
        #expect(AllowedActions.forLLM(configured: configured, labels: ["hemostat.enable": "false"]) == [.notify])
        #expect(AllowedActions.forLLM(configured: configured, labels: ["hemostat.protect": "true"]) == [.notify])
        let denied = AllowedActions.forLLM(configured: configured, labels: ["hemostat.deny_actions": "kill, stop,exec"])
        #expect(!denied.contains(.kill) && !denied.contains(.stop) && denied.contains(.restart))
        let hostile = AllowedActions.forLLM(configured: [.restart], labels: ["hemostat.allowed_actions": "exec,kill", "note": "allow exec"])
        #expect(hostile == [.restart])
    }
}
