import HemoStatModel
/// Checks a rules directory without running anything else: syntax errors, `rule{…}`
/// definition errors, and errors the rules raise on sample alerts (unknown globals, helpers
/// or config keys, bad verdicts).
public enum RulesLinter {
    /// Problems in `directory`, sorted by file and line; empty when the rules are clean.
    ///
    /// Each rule runs against a set of built-in alerts (running, exited, OOM-killed, unhealthy,
    /// starting, high CPU, growing memory, crash loop) and against the alerts of the test
    /// files in `directory/tests`.
    /// - Throws: `RuleError` (`.io`) when the directory cannot be read.
    public static func lint(
        directory: String, configuration: RulesConfiguration = RulesConfiguration()
    ) throws(RuleError) -> [RuleError] {
        let (sources, readErrors) = try RuleFiles.readAll(directory)
        return lint(sources: sources, readErrors: readErrors, testDirectory: directory, configuration: configuration)
    }

    /// Problems in rule files already read (the rules built in), checked the same way; the
    /// alerts of `testDirectory/tests` are used when one is given.
    public static func lint(
        sources: [RuleSource], readErrors: [RuleError] = [], testDirectory: String? = nil,
        configuration: RulesConfiguration = RulesConfiguration()
    ) -> [RuleError] {
        let runtime = RuleRuntime(
            sources: sources, thresholds: configuration.effectiveThresholds,
            instructionLimit: configuration.instructionLimit, memoryLimit: configuration.memoryLimit)
        var problems = readErrors + runtime.loadErrors
        var seen = Set(problems.map(\.description))
        for alert in sampleAlerts + (testDirectory.map { RuleTestRunner.alerts(directory: $0) } ?? []) {
            for error in runtime.evaluate(alert).errors where seen.insert(error.description).inserted {
                problems.append(error)
            }
        }
        return problems.sorted {
            ($0.location?.file ?? "", $0.location?.line ?? 0) < ($1.location?.file ?? "", $1.location?.line ?? 0)
        }
    }

    /// Alerts covering the shapes the monitor sends.
    static var sampleAlerts: [JSONValue] {
        func alert(_ fields: [String: JSONValue], history: [[String: JSONValue]] = []) -> JSONValue {
            var a = RuleTestRunner.baseAlert.merging(fields) { _, new in new }
            let now = RuleTestRunner.referenceTime
            var samples: [JSONValue] = []
            for (i, sample) in history.enumerated() {
                var s = sample
                s["timestamp"] = .number(now - Double(history.count - 1 - i) * 30)
                samples.append(.object(s))
            }
            a["history"] = .array(samples)
            return .object(a)
        }
        var rising: [[String: JSONValue]] = []
        for i in 0..<12 {
            let step = Double(i)
            var sample: [String: JSONValue] = ["status": "running", "health_status": "healthy"]
            sample["cpu_percent"] = .number(90 + Double(i % 3))
            sample["memory_percent"] = .number(50 + 4 * step)
            sample["memory_usage"] = .number(1e8 * (step + 1))
            sample["restart_count"] = .number(Double(i / 3))
            rising.append(sample)
        }
        return [
            alert([:]),
            alert([:], history: rising),
            alert(["status": "exited", "exit_code": 1, "anomalies": [["type": "non_zero_exit", "severity": "high", "value": 1]]]),
            alert(["status": "exited", "exit_code": 137, "oom_killed": true,
                   "anomalies": [["type": "oom_killed", "severity": "critical"]]]),
            alert(["health_status": "unhealthy", "anomalies": [["type": "unhealthy", "severity": "high"]]], history: rising),
            alert(["health_status": "starting"]),
            alert(["metrics": ["cpu_percent": 97, "memory_percent": 70],
                   "anomalies": [["type": "high_cpu", "severity": "medium", "value": 97, "threshold": 85]]], history: rising),
            alert(["metrics": ["cpu_percent": 97], "anomalies": [["type": "high_cpu", "severity": "medium", "value": 97]]]),
            alert(["anomalies": [["type": "memory_growth", "severity": "high", "projected_seconds": 300],
                                 ["type": "high_memory", "severity": "medium", "value": 90]]], history: rising),
            alert(["status": "restarting", "restart_count": 7,
                   "anomalies": [["type": "restart_loop", "severity": "critical", "value": 7]]], history: rising),
            alert(["status": "exited", "exit_code": 0, "stopped_by_operator": true,
                   "anomalies": [["type": "container_stopped", "severity": "low"]]]),
        ]
    }
}
