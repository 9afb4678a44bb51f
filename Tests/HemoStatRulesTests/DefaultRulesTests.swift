import HemoStatModel
import Testing
@testable import HemoStatRules

@Suite struct DefaultRulesTests {
    let rules: RuleSet

    init() throws {
        rules = try RuleSet(configuration: RulesConfiguration(directory: defaultRulesDirectory), logger: quietLogger)
        #expect(rules.status.loadErrors.isEmpty)
    }

    @Test func shippedTestFilesPass() throws {
        let outcome = try RuleTestRunner.run(directory: defaultRulesDirectory)
        #expect(outcome.loadErrors.isEmpty)
        #expect(outcome.results.count >= 15)
        for result in outcome.results {
            #expect(result.passed, "\(result.location) \(result.name): \(result.differences)")
        }
    }

    @Test func lintIsClean() throws {
        #expect(try RulesLinter.lint(directory: defaultRulesDirectory).isEmpty)
    }

    @Test func crashIsRestarted() {
        let d = rules.evaluateSync(alert(["status": "exited", "exit_code": 2])).decisive
        #expect(d?.kind == .act)
        #expect(d?.action == .restart)
        #expect(d?.rule == "crash-restart")
    }

    @Test func oomKillIsRestarted() {
        let r = rules.evaluateSync(alert(["status": "exited", "exit_code": 137, "oom_killed": true]))
        #expect(r.decisive?.rule == "oom-restart")
        #expect(r.decisive?.action == .restart)
        #expect(r.matches.map(\.rule) == ["oom-restart", "crash-restart"])
    }

    @Test func unhealthyIsRestarted() {
        let d = rules.evaluateSync(alert(["health_status": "unhealthy"])).decisive
        #expect(d?.rule == "unhealthy-restart")
        #expect(d?.action == .restart)
    }

    @Test func crashLoopEscalates() {
        let history = series("restart_count", [0, 1, 2, 3, 4])
        let d = rules.evaluateSync(alert(["status": "exited", "exit_code": 1, "restart_count": 4], history: history)).decisive
        #expect(d?.kind == .escalate)
        #expect(d?.rule == "crash-loop")
    }

    @Test func sustainedCPUIsRestartedASpikeIsAFalseAlarmAndABeginningIsNotYetDecided() {
        let anomaly: JSONValue = [["type": "high_cpu", "severity": "medium", "value": 97]]
        let sustained = alert(["anomalies": anomaly], history: series("cpu_percent", [90, 91, 95, 96, 97, 97]))
        #expect(rules.evaluateSync(sustained).decisive?.action == .restart)
        let spike = alert(["anomalies": anomaly], history: series("cpu_percent", [10, 12, 97, 96, 12, 10]))
        let d = rules.evaluateSync(spike).decisive
        #expect(d?.kind == .falseAlarm)
        #expect(d?.rule == "cpu-sustained")
        // High now, but not for the window yet: not decided (evaluated again as samples come,
        // and at the latest when the window is due).
        let starting = alert(["anomalies": anomaly], history: series("cpu_percent", [10, 12, 11, 10, 12, 97]))
        let notYet = rules.evaluateSync(starting).decisive
        #expect(notYet?.kind == .ambiguous && notYet?.fallback?.verdict.kind == .recheck)
        #expect(notYet?.fallback?.verdict.after == 120, "one sample: the whole 120 s window is still to come")
    }

    @Test func memoryGrowthRestartsBeforeOOM() {
        let history = series("memory_percent", [60, 64, 68, 72, 76, 80, 84])
        let d = rules.evaluateSync(alert(["anomalies": [["type": "high_memory", "severity": "medium"]]], history: history)).decisive
        #expect(d?.rule == "memory-growth")
        #expect(d?.action == .restart)
    }

    @Test func healthStartingIsNotAFault() {
        let d = rules.evaluateSync(alert(["health_status": "starting"])).decisive
        #expect(d?.kind == .falseAlarm)
        #expect(d?.rule == "health-starting")
    }

    @Test func operatorStopIsLeftAlone() {
        let d = rules.evaluateSync(alert(["status": "exited", "exit_code": 137, "stopped_by_operator": true])).decisive
        #expect(d?.kind == .falseAlarm)
        #expect(d?.rule == "operator-stop")
    }

    @Test func thresholdsComeFromConfiguration() throws {
        let strict = try RuleSet(
            configuration: RulesConfiguration(directory: defaultRulesDirectory, thresholds: ["cpu_percent": 99]),
            logger: quietLogger)
        let a = alert(["anomalies": [["type": "high_cpu", "severity": "medium"]]], history: series("cpu_percent", [90, 91, 95, 96, 97, 97]))
        #expect(strict.evaluateSync(a).decisive?.kind == .falseAlarm)
    }
}
