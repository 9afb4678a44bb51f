// Alert-to-decision latency through Redis, rules only.
//
//   swift run -c release HemoStatAnalyzerBenchmark [REDIS_URL] [ALERTS] [RULES_DIR]
//
// Starts one AnalyzerService on the given Redis (default $REDIS_URL, else
// redis://127.0.0.1:6379) under a fresh key prefix, then publishes ALERTS health alerts one at
// a time (XADD + PUBLISH, as the monitor does) and times each from just before the publish
// until its decision arrives on the decision channels (remediation_needed, false_alarm,
// escalation are XADDed and PUBLISHed in one round trip, so the decision is on its stream by
// then). The alerts rotate through a crash, a health check still starting, sustained high CPU
// with a 10-sample history, and a crash loop. Prints the median, p90, p99 and max, and removes
// its keys.
import Foundation
import HemoStatAnalyzer
import HemoStatCore
import HemoStatModel
import HemoStatRedis
import Logging

let arguments = CommandLine.arguments
let url = arguments.count > 1 ? arguments[1] : ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:6379"
let count = arguments.count > 2 ? Int(arguments[2]) ?? 2000 : 2000
let rulesDirectory = arguments.count > 3 ? arguments[3] : "rules"
let warmUp = 200

let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
let prefix = "hemostat-bench-\(UUID().uuidString.prefix(8).lowercased()):"

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

var configuration: HemoStatConfiguration
do {
    configuration = try HemoStatConfiguration.inspect(
        yaml: nil, path: "", environment: ["REDIS_URL": url, "HEMOSTAT_REDIS_KEY_PREFIX": prefix]).configuration
} catch {
    fail("bad Redis URL: \(error.problems.map(\.description).joined(separator: "; "))")
}
configuration.analyzer.rulesDirectory = rulesDirectory
let redisConfiguration = configuration.redis.clientConfiguration(clientName: "hemostat-bench")
let redis = RedisClient(configuration: redisConfiguration, logger: quiet)
let publisher = RedisClient(configuration: redisConfiguration, logger: quiet)
let keys = KeySpace(prefix: prefix)
let context = AgentContext(configuration: configuration, redis: redis, logger: quiet)

let analyzer: AnalyzerService
do {
    analyzer = try AnalyzerService(context: context)
} catch {
    fail("rules did not load: \(error)")
}
guard analyzer.rules.status.loadErrors.isEmpty else { fail("rule files failed to load: \(analyzer.rules.status.loadErrors)") }

func cpuHistory(_ values: [Double]) -> JSONValue {
    let now = Date().timeIntervalSince1970
    return .array(values.enumerated().map { i, v in
        [
            "timestamp": .number(now - Double(values.count - 1 - i) * 30), "cpu_percent": .number(v),
            "memory_percent": 40, "restart_count": 0, "status": "running", "health_status": "healthy",
        ]
    })
}

func alert(_ name: String, status: String = "running", health: String = "healthy", exitCode: Int = 0, cpu: Double = 10, anomalies: [Anomaly] = []) -> HealthAlert {
    HealthAlert(
        containerID: "3f2a9c1b7d4e", containerName: name, image: "nginx:1.27", status: status, healthStatus: health,
        exitCode: exitCode, labels: ["com.docker.compose.service": name],
        metrics: ContainerMetrics(cpuPercent: cpu, memoryPercent: 40, memoryUsage: 100_000_000, memoryLimit: 268_435_456),
        anomalies: anomalies, source: .poll)
}

let alerts: [HealthAlert] = [
    alert("crash", status: "exited", exitCode: 1, anomalies: [Anomaly(type: .exited, severity: .critical, value: 1, threshold: 0)]),
    alert("starting", health: "starting"),
    alert("busy", cpu: 97, anomalies: [Anomaly(type: .highCPU, severity: .warning, value: 97, threshold: 85)]),
    alert("looping", status: "exited", exitCode: 1, anomalies: [Anomaly(type: .restartLoop, severity: .critical, value: 5, threshold: 3)]),
]

do {
    for name in ["crash", "starting", "looping"] {
        try await redis.send(["SET", keys.stats(ContainerRef(host: "bench", name: name)), JSONValue.object(["history": cpuHistory([10, 12, 11, 13, 12, 10, 11, 12, 13, 12])]).jsonText])
    }
    try await redis.send(["SET", keys.stats(ContainerRef(host: "bench", name: "busy")), JSONValue.object(["history": cpuHistory([90, 92, 95, 96, 97, 97, 98, 97, 96, 97])]).jsonText])

    let subscriber = RedisSubscriber(configuration: redisConfiguration, logger: quiet)
    let decisions = try await subscriber.subscribe(channels: [
        keys.channel(.remediationNeeded), keys.channel(.falseAlarm), keys.channel(.escalation),
    ])
    var iterator = decisions.makeAsyncIterator()
    let service = Task { try await analyzer.run() }

    let bus = MessageBus(redis: publisher, keys: keys)
    var latencies: [Double] = []
    let clock = ContinuousClock()
    for i in 0..<(warmUp + count) {
        // A new incident each time: the analyzer decides an incident once, as it should.
        var data = alerts[i % alerts.count]
        data.incidentID = UUID().uuidString.lowercased()
        let envelope = Envelope(agent: "monitor", host: "bench", data: data)
        let text = envelope.encode()
        let start = clock.now
        try await bus.publish(channel: keys.channel(.healthAlert), message: text)
        while true {
            guard let message = try await iterator.next() else { fail("subscription ended") }
            if message.string.contains(envelope.id) { break }
        }
        let elapsed = clock.now - start
        if i >= warmUp {
            latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
    }
    service.cancel()
    _ = try? await service.value

    latencies.sort()
    func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)] }
    print(String(format: "alert-to-decision latency through Redis, rules only, %d alerts: median %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms",
                 latencies.count, percentile(0.5), percentile(0.9), percentile(0.99), latencies.last ?? 0))
    print("command: swift run -c release HemoStatAnalyzerBenchmark \(url.contains("@") ? "<redis-url>" : url) \(count) \(rulesDirectory)")

    // The publisher's connection: the analyzer's was in use when its task was cancelled.
    if let names = try await publisher.send(["KEYS", prefix + "*"]).array?.compactMap(\.string), !names.isEmpty {
        try await publisher.send(["DEL"] + names)
    }
} catch {
    fail("benchmark failed: \(error)")
}
