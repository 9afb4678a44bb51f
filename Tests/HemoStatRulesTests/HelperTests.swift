import HemoStatModel
import Testing
@testable import HemoStatRules

/// Each helper, called through a rule that reports the result as its reason.
@Suite struct HelperTests {
    func run(_ expression: String, _ a: JSONValue) -> String? {
        let e = ruleSet(["r/h.lua": "rule { name = 'h', when = function(a, h) return restart { reason = tostring(\(expression)) } end }"])
        let r = e.evaluateSync(a)
        #expect(r.errors.isEmpty, "\(r.errors)")
        return r.decisive?.reason
    }

    let cpu = alert(history: series("cpu_percent", [10, 20, 90, 95, 99]))

    @Test func sustained() {
        #expect(run("h.sustained('cpu_percent', '>=', 90, 60)", cpu) == "true")
        #expect(run("h.sustained('cpu_percent', '>=', 90, 61)", cpu) == "false")
        #expect(run("h.sustained('cpu_percent', '>=', 90, 0, 4)", cpu) == "false")
        #expect(run("select(2, h.sustained('cpu_percent', '>', 15, 10))", cpu) == "90")
    }

    @Test func streakAndCount() {
        #expect(run("h.streak('cpu_percent', '>', 50)", cpu) == "3")
        #expect(run("h.count('cpu_percent', '<', 50)", cpu) == "2")
        #expect(run("h.count('cpu_percent', '<', 50, 60)", cpu) == "0")
    }

    @Test func averagesAndExtremes() {
        #expect(run("h.avg('cpu_percent')", cpu) == "62.8")
        #expect(run("h.avg('cpu_percent', 30)", cpu) == "97.0")
        #expect(run("h.max('cpu_percent')", cpu) == "99")
        #expect(run("h.min('cpu_percent', 60)", cpu) == "90")
        #expect(run("h.latest('cpu_percent')", cpu) == "99")
        #expect(run("#h.samples(60)", cpu) == "3")
        #expect(run("h.avg('cpu_percent')", alert()) == "nil")
    }

    @Test func slopeAndTimeTo() {
        let mem = alert(history: series("memory_percent", [50, 53, 56, 59]))
        #expect(run("h.slope('memory_percent')", mem) == "0.1")
        #expect(run("h.time_to('memory_percent', 89)", mem) == "300.0")
        #expect(run("h.time_to('memory_percent', 50)", mem) == "0")
        let flat = alert(history: series("memory_percent", [50, 50, 50]))
        #expect(run("h.time_to('memory_percent', 90)", flat) == "nil")
    }

    @Test func countersAndTransitions() {
        let a = alert(history: [
            ["restart_count": 1, "status": "running"], ["restart_count": 2, "status": "exited"],
            ["restart_count": 0, "status": "running"], ["restart_count": 3, "status": "exited"],
        ])
        #expect(run("h.increase('restart_count')", a) == "4")
        #expect(run("h.increase('restart_count', 30)", a) == "3")
        #expect(run("h.changes('status', 'exited')", a) == "2")
        #expect(run("h.changes('status', 'exited', 30)", a) == "1")
    }

    @Test func labelsThresholdsAndAnomalies() {
        let a = alert([
            "labels": ["team": "pay", "hemostat.rules.cpu_percent": "95", "hemostat.critical": "yes", "n": "7"],
            "anomalies": [["type": "high_cpu", "value": 97]],
        ])
        #expect(run("h.label('team')", a) == "pay")
        #expect(run("h.label('missing', 'dflt')", a) == "dflt")
        #expect(run("h.label_number('n')", a) == "7")
        #expect(run("h.label_bool('hemostat.critical', false)", a) == "true")
        #expect(run("h.threshold('cpu_percent')", a) == "95")
        #expect(run("h.threshold('memory_percent')", a) == "80")
        #expect(run("h.anomaly('high_cpu').value", a) == "97")
        #expect(run("h.anomaly('oom_killed')", a) == "nil")
        #expect(run("h.now()", cpu) == "1700000120")
        #expect(run("config.cpu_percent", a) == "85")
    }

    @Test func badArgumentsPointAtTheRule() {
        let e = ruleSet(["r/h.lua": "rule { name = 'h', when = function(a, h)\n  local n = h.count('cpu_percent', '=>', 1)\nend }"])
        let error = e.evaluateSync(cpu).errors.first
        #expect(error?.location == SourceLocation(file: "r/h.lua", line: 2))
        #expect(error?.message.contains("unknown comparison") == true)
    }
}
