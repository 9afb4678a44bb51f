// Messages read and written per second, on one thread: what each agent does with every message
// it consumes or publishes.
//
//   swift build -c release --product HemoStatMessagesBenchmark
//   .build/release/HemoStatMessagesBenchmark [MESSAGES_PER_RUN] [RUNS]
//
// Each run reads MESSAGES_PER_RUN health alerts (the analyzer's input, 2 anomalies, metrics and
// labels) and as many remediation_complete messages from their JSON bytes, and writes each back
// to text. Prints the median of the runs for reading and for writing.
import Foundation
import HemoStatModel

let arguments = CommandLine.arguments
let perRun = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
let runs = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5

let detected = Date(timeIntervalSince1970: 1_800_000_000.125)
let alert = Envelope(agent: "monitor", host: "web-01", data: HealthAlert(
    containerID: "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4", containerName: "shop-web-1", image: "nginx:1.27",
    status: "exited", healthStatus: "none", exitCode: 137, oomKilled: true, restartCount: 2,
    labels: ["com.docker.compose.service": "web", "com.docker.compose.project": "shop", "hemostat.policy": "restart"],
    stoppedByOperator: false, startedAt: detected.addingTimeInterval(-3600), finishedAt: detected,
    metrics: ContainerMetrics(cpuPercent: 12.5, memoryPercent: 99.8, memoryUsage: 267_000_000, memoryLimit: 268_435_456, networkRxBytes: 1200, networkTxBytes: 800, pids: 5),
    anomalies: [
        Anomaly(type: .nonZeroExit, severity: .critical, value: 137, threshold: 0, message: "exited with code 137"),
        Anomaly(type: .oomKilled, severity: .critical, value: 1, threshold: 0, message: "killed by the kernel for exceeding its memory limit"),
    ],
    source: .event, incidentID: "7d1c2b3a-4e5f-6789-abcd-ef0123456789", detectedAt: detected
))
let complete = Envelope(agent: "responder", host: "web-01", data: RemediationComplete(
    container: "shop-web-1", containerID: "3f2a9c1b7d4e", action: .restart,
    result: RemediationResult(status: .success, reason: "running for the whole verification window"), dryRun: false,
    analysisMethod: .rules, rule: "oom.lua:oom_killed", incidentID: "7d1c2b3a-4e5f-6789-abcd-ef0123456789",
    requestID: "a1b2c3d4", timings: RemediationTimings(detectedAt: detected, decidedAt: detected.addingTimeInterval(0.004), startedAt: detected.addingTimeInterval(0.006), finishedAt: detected.addingTimeInterval(30.2))
))
let alertBytes = alert.encodedBytes()
let completeBytes = complete.encodedBytes()

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

var reads: [Double] = []
var writes: [Double] = []
var checksum = 0
for _ in 0..<runs {
    reads.append(try seconds {
        for _ in 0..<perRun {
            checksum &+= try Envelope<HealthAlert>.decode(alertBytes).data.restartCount
            checksum &+= try Envelope<RemediationComplete>.decode(completeBytes).data.incidentID.utf8.count
        }
    })
    writes.append(seconds {
        for _ in 0..<perRun {
            checksum &+= alert.encode().utf8.count
            checksum &+= complete.encode().utf8.count
        }
    })
}
let messages = Double(perRun * 2)
print("messages per run: \(Int(messages)) (health_alert \(alertBytes.count) bytes, remediation_complete \(completeBytes.count) bytes), runs: \(runs)")
print("read:  median \(String(format: "%.3f", median(reads))) s, \(Int(messages / median(reads))) messages/s")
print("write: median \(String(format: "%.3f", median(writes))) s, \(Int(messages / median(writes))) messages/s")
print("checksum \(checksum)")
