// Rule evaluations per second with the default rules, on one thread.
//
//   swift run -c release HemoStatRulesBenchmark [RULES_DIR] [EVALUATIONS_PER_RUN] [RUNS]
//
// Each evaluation decodes one alert and its 10-sample history and runs every rule of the
// directory against it; the alerts rotate through a healthy container, sustained high CPU, a
// crash and an OOM kill. Prints the median of the runs.
import Foundation
import HemoStatModel
import HemoStatRules
import Logging

let arguments = CommandLine.arguments
let directory = arguments.count > 1 ? arguments[1] : "rules"
let perRun = arguments.count > 2 ? Int(arguments[2]) ?? 200_000 : 200_000
let runs = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5

// What the analyzer hands the rule set: the alert's `data` as JSON text and the container's
// `hemostat:stats:<container>` document (whose `history` the rules read), both as Redis
// returns them. Each evaluation decodes both.
func input(_ fields: [String: JSONValue], cpu: [Double]) -> RuleInput {
    var history: [JSONValue] = []
    for (i, value) in cpu.enumerated() {
        history.append([
            "timestamp": .number(1_700_000_000.125 + Double(i) * 30.0625),
            "cpu_percent": .number(value + 0.37),
            "memory_percent": .number(40.5 + Double(i) * 1.25),
            "memory_usage": .number(1e8 + Double(i) * 1e6),
            "restart_count": 0,
            "status": "running",
            "health_status": "healthy",
        ])
    }
    let metrics: JSONValue = [
        "cpu_percent": .number((cpu.last ?? 0) + 0.37), "memory_percent": 49.25, "memory_usage": 109_000_000,
        "memory_limit": 268_435_456, "network_rx_bytes": 1200, "network_tx_bytes": 800,
        "blkio_read_bytes": 0, "blkio_write_bytes": 4096, "pids": 5,
    ]
    var alert: [String: JSONValue] = [
        "container_id": "3f2a9c1b7d4e", "container_name": "web", "image": "nginx:1.27",
        "status": "running", "health_status": "healthy", "exit_code": 0, "oom_killed": false,
        "restart_count": 0, "stopped_by_operator": false, "source": "poll",
        "incident_id": "web-1700000270", "detected_at": "2023-11-14T22:17:50.125Z",
        "labels": ["com.docker.compose.service": "web", "com.docker.compose.project": "shop"],
        "metrics": metrics,
        "anomalies": [],
    ]
    alert.merge(fields) { _, new in new }
    let stats: JSONValue = [
        "container_id": "3f2a9c1b7d4e", "container_name": "web", "image": "nginx:1.27", "host": "bench",
        "status": alert["status"] ?? "running", "health_status": "healthy", "metrics": metrics,
        "anomalies": alert["anomalies"] ?? [], "updated_at": "2023-11-14T22:17:50.125Z",
        "history": .array(history),
    ]
    return RuleInput(alertJSON: JSONValue.object(alert).jsonText, history: .statsDocument(stats.jsonText))
}

let inputs: [RuleInput] = [
    input([:], cpu: [10, 12, 11, 13, 12, 10, 11, 12, 13, 12]),
    input(["anomalies": [["type": "high_cpu", "severity": "medium", "value": 97, "threshold": 85]]],
          cpu: [20, 30, 90, 92, 95, 96, 97, 97, 98, 97]),
    input(["status": "exited", "exit_code": 1,
           "anomalies": [["type": "non_zero_exit", "severity": "high", "value": 1]]],
          cpu: [10, 12, 11, 13, 12, 10, 11, 12, 13, 0]),
    input(["status": "exited", "exit_code": 137, "oom_killed": true,
           "anomalies": [["type": "oom_killed", "severity": "critical"]]],
          cpu: [10, 12, 11, 13, 12, 10, 11, 12, 13, 0]),
]

let rules: RuleSet
do {
    rules = try RuleSet(
        configuration: RulesConfiguration(directory: directory),
        logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
} catch {
    print("\(error)")
    exit(1)
}
let status = rules.status
guard status.loadErrors.isEmpty, !status.rules.isEmpty else {
    print("rules did not load: \(status.loadErrors.map(\.description))")
    exit(1)
}

// Warm up the state and the caches.
var decided = 0
for i in 0..<10_000 where rules.evaluateSync(inputs[i % inputs.count]).decisive != nil { decided += 1 }

var rates: [Double] = []
for _ in 0..<runs {
    let clock = ContinuousClock()
    let start = clock.now
    for i in 0..<perRun where rules.evaluateSync(inputs[i % inputs.count]).decisive != nil { decided += 1 }
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    rates.append(Double(perRun) / seconds)
}
rates.sort()
let median = rates[rates.count / 2]
let command = "swift run -c release HemoStatRulesBenchmark \(directory) \(perRun) \(runs)"
print(String(format: "%.0f alerts/s through all %d rules on one thread (%.0f single-rule evaluations/s; median of %d runs of %d; min %.0f, max %.0f)",
             median, status.rules.count, median * Double(status.rules.count), runs, perRun, rates.first ?? 0, rates.last ?? 0))
let alertBytes = inputs.map { $0.alert.utf8.count }.reduce(0, +) / inputs.count
let statsBytes = inputs.map { input -> Int in
    if case .statsDocument(let text?) = input.history { return text.utf8.count }
    return 0
}.reduce(0, +) / inputs.count
print("input: alert JSON \(alertBytes) bytes and stats document \(statsBytes) bytes on average, decoded by every evaluation")
print("command: \(command)")
