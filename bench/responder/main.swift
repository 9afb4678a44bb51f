// Responder benchmarks against a real Redis:
//   1. safety-gate decisions per second (one EVALSHA each), from 1 and from 8 connections;
//   2. request-to-action-issued latency through the whole responder: XADD of a
//      remediation_needed, XREADGROUP, decode, checks, inspect, gate, until the engine is
//      asked to act (an in-memory engine, so the engine's own restart time is not counted).
//
// swift run -c release ResponderBench [--redis URL] [--decisions N] [--requests N]
// The Redis URL defaults to $HEMOSTAT_BENCH_REDIS_URL, then $HEMOSTAT_TEST_REDIS_URL.
// Keys live under a fresh prefix and are deleted afterwards.

import Foundation
import HemoStatCore
import HemoStatModel
import HemoStatRedis
import HemoStatResponder
import Logging
import Synchronization

struct Options {
    var redisURL = ProcessInfo.processInfo.environment["HEMOSTAT_BENCH_REDIS_URL"]
        ?? ProcessInfo.processInfo.environment["HEMOSTAT_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"
    var decisions = 20_000
    var requests = 1_000

    init() {
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let arg = args.next() {
            switch arg {
            case "--redis": redisURL = args.next() ?? redisURL
            case "--decisions": decisions = args.next().flatMap(Int.init) ?? decisions
            case "--requests": requests = args.next().flatMap(Int.init) ?? requests
            default:
                FileHandle.standardError.write(Data("unknown argument \(arg)\n".utf8))
                exit(2)
            }
        }
    }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
    return sorted[min(sorted.count - 1, max(0, rank))]
}

func settings(for url: String, prefix: String) throws -> RedisSettings {
    var settings = RedisSettings(keyPrefix: prefix)
    if url.hasPrefix("unix://") {
        settings.socketPath = String(url.dropFirst("unix://".count))
    } else if let components = URLComponents(string: url) {
        settings.host = components.host ?? "127.0.0.1"
        settings.port = components.port ?? 6379
    }
    return settings
}

func cleanUp(_ redis: RedisClient, prefix: String) async {
    var cursor = "0"
    repeat {
        guard case .array(let parts)? = try? await redis.send(["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"]),
              parts.count == 2, let next = parts[0].string, case .array(let found) = parts[1] else { return }
        let names = found.compactMap(\.string)
        if !names.isEmpty { _ = try? await redis.send(["UNLINK"] + names) }
        cursor = next
    } while cursor != "0"
}

func gateDecisions(options: Options, prefix: String, connections: Int) async throws -> Double {
    let settings = try settings(for: options.redisURL, prefix: prefix)
    var policy = SafetyPolicy()
    policy.cooldown = .zero
    policy.maxActionsPerContainer = 1_000_000
    policy.maxActionsGlobal = 0
    let keys = KeySpace(prefix: prefix)
    let clients = (0..<connections).map { _ in RedisClient(configuration: settings.clientConfiguration(clientName: "bench")) }
    let gates = clients.map { SafetyGate(redis: $0, policy: policy, keys: keys, dryRun: false) }
    // Load the script once outside the measurement.
    for gate in gates { _ = try await gate.acquire(container: ContainerRef(host: "bench", name: "warm"), requestID: UUID().uuidString, action: "restart", incidentID: "w") }
    let perConnection = options.decisions / connections
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (index, gate) in gates.enumerated() {
            group.addTask {
                for n in 0..<perConnection {
                    // A different container each time: every decision is a full allowed path
                    // (all checks, then lock, counters and request id written).
                    _ = try await gate.acquire(container: ContainerRef(host: "bench", name: "c\(index)-\(n)"), requestID: "r\(index)-\(n)", action: "restart", incidentID: "i")
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = (ContinuousClock.now - start).timeInterval
    for client in clients { client.close() }
    return Double(perConnection * connections) / elapsed
}

/// An engine whose inspect answers at once and which records when each action was issued.
final class StampingEngine: RemediationEngine {
    let inner = InMemoryRemediationEngine()
    let issued = Mutex<[String: Date]>([:])

    func inspect(_ container: String) async throws -> ContainerInspection? {
        try await inner.inspect(container)
    }

    func perform(_ command: EngineCommand, on container: String) async throws {
        let now = Date()
        issued.withLock { $0[container] = now }
        try await inner.perform(command, on: container)
    }

    func actions(on container: String, since: Date) async throws -> [String] {
        try await inner.actions(on: container, since: since)
    }
}

func requestToAction(options: Options, prefix: String) async throws -> [Double] {
    let settings = try settings(for: options.redisURL, prefix: prefix)
    let responderSettings = ResponderConfiguration(
        cooldown: .zero, maxActionsPerHour: 1_000_000, globalMaxActionsPerHour: 0,
        verificationWindow: .milliseconds(50), concurrency: 64, verificationInterval: .milliseconds(25))
    let configuration = HemoStatConfiguration(hostID: "bench", stateDirectory: NSTemporaryDirectory(), redis: settings, responder: responderSettings)
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let redis = RedisClient(configuration: settings.clientConfiguration(clientName: "bench-responder"))
    var bus = BusConfiguration()
    bus.blockTime = .milliseconds(500)
    let context = AgentContext(configuration: configuration, redis: redis, busConfiguration: bus, logger: logger)
    let engine = StampingEngine()
    for n in 0..<options.requests + 20 { engine.inner.add(name: "svc-\(n)", status: "exited", exitCode: 1) }
    let service = ResponderService(context: context, engine: engine, dryRun: false, own: OwnContainers())
    let publisher = MessageBus(redis: RedisClient(configuration: settings.clientConfiguration(clientName: "bench-publisher")), keys: context.keys)

    let running = Task { try await service.run() }
    var latencies: [Double] = []
    for n in 0..<options.requests + 20 {
        let name = "svc-\(n)"
        let envelope = Envelope(agent: "bench", host: "bench", data: RemediationNeeded(
            container: name, containerID: "id-\(n)", action: .restart, reason: "bench", confidence: 1, rule: "bench",
            analysisMethod: .rules, dryRun: false, incidentID: "inc-\(n)", alertID: "alert-\(n)"))
        let sent = Date()
        try await publisher.publish(envelope)
        let deadline = ContinuousClock.now + .seconds(5)
        while engine.issued.withLock({ $0[name] }) == nil {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .microseconds(200))
        }
        // The first 20 warm up connections and scripts.
        if n >= 20, let at = engine.issued.withLock({ $0[name] }) {
            latencies.append(at.timeIntervalSince(sent) * 1000)
        }
    }
    running.cancel()
    _ = try? await running.value
    return latencies.sorted()
}

let options = Options()
let prefix = "hsbench-\(UUID().uuidString.prefix(8).lowercased()):"
let admin = RedisClient(configuration: try settings(for: options.redisURL, prefix: prefix).clientConfiguration(clientName: "bench-admin"))
defer { admin.close() }

print("responder benchmark: redis \(options.redisURL.hasPrefix("unix://") ? "unix socket" : "tcp"), \(ProcessInfo.processInfo.activeProcessorCount) CPUs")
print("command: swift run -c release ResponderBench --decisions \(options.decisions) --requests \(options.requests)")
do {
    let one = try await gateDecisions(options: options, prefix: prefix + "g1:", connections: 1)
    await cleanUp(admin, prefix: prefix)
    let eight = try await gateDecisions(options: options, prefix: prefix + "g8:", connections: 8)
    await cleanUp(admin, prefix: prefix)
    print(String(format: "gate decisions/s: %.0f (1 connection), %.0f (8 connections), %d decisions each", one, eight, options.decisions))
    let latencies = try await requestToAction(options: options, prefix: prefix + "r:")
    await cleanUp(admin, prefix: prefix)
    print(String(
        format: "request-to-action-issued (ms, n=%d): median %.2f, p99 %.2f, max %.2f",
        latencies.count, percentile(latencies, 50), percentile(latencies, 99), latencies.last ?? .nan))
} catch {
    await cleanUp(admin, prefix: prefix)
    FileHandle.standardError.write(Data("benchmark failed: \(error)\n".utf8))
    exit(1)
}
