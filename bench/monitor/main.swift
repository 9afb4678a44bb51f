// The monitor against a real engine: cycle wall and CPU time at several container counts, beside
// a one-after-another baseline (the same code with stats_concurrency 1), and the time from a
// fault (the engine's event time) to its health_alert read from the Redis stream.
//
//   DOCKER_HOST=unix:///…/docker.sock swift run -c release HemoStatMonitorBenchmark \
//       --redis unix:///…/redis.sock --image hemostat-test-busybox [--sizes 10,50,200] [--cycles 5] [--trials 10]
//       [--no-cycles] [--no-faults] [--faults crash,oom,unhealthy,loop]
//
// Creates sleeping busybox containers (`--network none`, label hemostat.bench) and removes them
// at the end.

import Foundation
import HemoStatApp
import HemoStatCore
import HemoStatDocker
import HemoStatHTTP
import HemoStatModel
import HemoStatMonitor
import HemoStatRedis
import Logging
import ServiceLifecycle

// MARK: Arguments

struct Options {
    var redisURL = ProcessInfo.processInfo.environment["HEMOSTAT_TEST_REDIS_URL"] ?? ""
    var image = ProcessInfo.processInfo.environment["HEMOSTAT_TEST_IMAGE"] ?? "busybox"
    var dockerHost = ProcessInfo.processInfo.environment["DOCKER_HOST"] ?? "unix:///var/run/docker.sock"
    var sizes = [10, 50, 200]
    var cycles = 5
    var baselineBudget = 240.0
    var trials = 10
    var skipCycles = false
    var skipFaults = false
    var faults = Fault.allCases

    init(_ arguments: [String]) {
        var i = 0
        func value() -> String {
            i += 1
            guard i < arguments.count else { fail("\(arguments[i - 1]) needs a value") }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--redis": redisURL = value()
            case "--image": image = value()
            case "--sizes": sizes = value().split(separator: ",").compactMap { Int($0) }
            case "--cycles": cycles = Int(value()) ?? cycles
            case "--baseline-budget": baselineBudget = Double(value()) ?? baselineBudget
            case "--trials": trials = Int(value()) ?? trials
            case "--no-cycles": skipCycles = true
            case "--no-faults": skipFaults = true
            case "--faults": faults = value().split(separator: ",").compactMap { Fault(rawValue: String($0)) }
            default: fail("unknown argument \(arguments[i])")
            }
            i += 1
        }
        if redisURL.isEmpty { fail("--redis URL (or HEMOSTAT_TEST_REDIS_URL) is required") }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

func say(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

// MARK: Docker CLI

/// Runs `docker …` against the benchmark's engine; returns stdout.
@discardableResult
func docker(_ arguments: [String], host: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["docker"] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(["DOCKER_HOST": host, "DOCKER_API_VERSION": "1.41"]) { $1 }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchError(message: "docker \(arguments.prefix(2).joined(separator: " ")) failed with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `docker` on a dispatch thread, so the cooperative pool is never blocked.
func dockerAsync(_ arguments: [String], host: String) async throws -> String {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try docker(arguments, host: host) })
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

// MARK: Measurement

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

func makeContext(_ options: Options, prefix: String, concurrency: Int, logger: Logger) throws -> AgentContext {
    var configuration = HemoStatConfiguration(hostID: "bench")
    configuration.redis.keyPrefix = prefix + ":"
    configuration.docker.host = options.dockerHost
    configuration.monitor.pollInterval = .seconds(3600)
    configuration.monitor.statsConcurrency = concurrency
    configuration.monitor.include = ["hsbench-*"]
    let redis = RedisClient(configuration: try RedisConfiguration(url: options.redisURL), logger: logger)
    return AgentContext(configuration: configuration, redis: redis, logger: logger)
}

func deleteKeys(_ context: AgentContext, prefix: String) async {
    if let keys = try? await context.redis.send(["KEYS", prefix + ":*"]).array?.compactMap(\.string), !keys.isEmpty {
        _ = try? await context.redis.send(["DEL"] + keys)
    }
}

struct CycleFigures {
    var containers: Int
    var sampled: Int
    var concurrentWall: Double
    var concurrentCPU: Double
    var concurrentCycles: Int
    var baselineWall: Double
    var baselineCPU: Double
    var baselineCycles: Int
}

/// Median wall and CPU seconds of `count` cycles (after one warm-up cycle when `warmUp`), at
/// most `budget` seconds in all (at least one cycle).
func measureCycles(_ service: MonitorService, count: Int, budget: Double, warmUp: Bool) async throws -> (wall: Double, cpu: Double, cycles: Int) {
    if warmUp { guard await service.runCycle() else { throw BenchError(message: "the engine could not be listed") } }
    var walls: [Double] = []
    var cpus: [Double] = []
    let started = ContinuousClock.now
    while walls.count < count {
        let cpu0 = cpuSeconds()
        let t0 = ContinuousClock.now
        guard await service.runCycle() else { throw BenchError(message: "the engine could not be listed") }
        let wall = ContinuousClock.now - t0
        cpus.append(cpuSeconds() - cpu0)
        walls.append(Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18)
        let spent = ContinuousClock.now - started
        if Double(spent.components.seconds) + walls.last! > budget { break }
    }
    return (median(walls), median(cpus), walls.count)
}

// MARK: Fault to alert

/// Fault times from the engine's event stream, by container name.
actor FaultClock {
    private var times: [String: [Date]] = [:]
    func record(_ name: String, _ time: Date) { times[name, default: []].append(time) }
    /// The time of the `index`-th fault event (0: the first).
    func time(_ name: String, index: Int = 0) -> Date? {
        guard let list = times[name], list.count > index else { return nil }
        return list[index]
    }
}

/// Reads `health_alert` entries from the stream as they arrive; the read time is the alert time.
actor AlertReader {
    private var seen: [String: [(time: Date, anomalies: Set<String>)]] = [:]
    func record(_ name: String, _ time: Date, anomalies: Set<String>) { seen[name, default: []].append((time, anomalies)) }
    /// When the first alert about `name` (with the anomaly `anomaly`, when given) was read.
    func time(_ name: String, with anomaly: String? = nil) -> Date? {
        seen[name]?.first { anomaly == nil || $0.anomalies.contains(anomaly!) }?.time
    }
}

func readAlerts(redis: RedisClient, stream: String, into reader: AlertReader) async {
    var lastID = "$"
    while !Task.isCancelled {
        guard let reply = try? await redis.send(["XREAD", "COUNT", "100", "BLOCK", "1000", "STREAMS", stream, lastID], timeout: .seconds(10)) else {
            try? await Task.sleep(for: .milliseconds(100))
            continue
        }
        let now = Date()
        for streamReply in reply.array ?? [] {
            guard let parts = streamReply.array, parts.count == 2 else { continue }
            for entry in parts[1].array ?? [] {
                guard let fields = entry.array, fields.count == 2, let id = fields[0].string else { continue }
                lastID = id
                let pairs = fields[1].array ?? []
                var index = 0
                while index + 1 < pairs.count {
                    if pairs[index].string == "message", let text = pairs[index + 1].string,
                       let envelope = try? Envelope<HealthAlert>.decode(text) {
                        await reader.record(envelope.data.containerName, now, anomalies: Set(envelope.data.anomalies.map(\.type.rawValue)))
                    }
                    index += 2
                }
            }
        }
    }
}

enum Fault: String, CaseIterable {
    case crash, oom, unhealthy
    /// `--restart always`, exits a second after each start: timed from the third death to the
    /// `restart_loop` alert.
    case loop

    var arguments: [String] {
        switch self {
        case .crash: []
        case .loop: ["--restart", "always"]
        case .oom: ["-m", "16m", "--memory-swap", "16m"]
        case .unhealthy: ["--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1"]
        }
    }

    var script: String {
        switch self {
        case .crash, .loop: "sleep 1; exit 1"
        case .oom: "sleep 1; x=aaaaaaaaaaaaaaaa; while true; do x=\"$x$x\"; done"
        case .unhealthy: "sleep 3600"
        }
    }

    /// Which fault event is the fault's time (0: the first), and the anomaly the alert must carry.
    var faultIndex: Int { self == .loop ? 2 : 0 }
    var anomaly: String? { self == .loop ? "restart_loop" : nil }

    /// The event whose time is the fault's time.
    func isFault(_ event: DockerEvent) -> Bool {
        switch self {
        case .crash, .loop: event.action == "die" && event.exitCode != 0
        case .oom: event.action == "oom"
        case .unhealthy: event.healthStatus == "unhealthy"
        }
    }
}

// MARK: Main

let options = Options(Array(CommandLine.arguments.dropFirst()))
var logger = Logger(label: "bench.monitor")
logger.logLevel = .error
let run = String(UUID().uuidString.prefix(6).lowercased())
let labels = ["--label", "hemostat.bench=\(run)", "--label", "hemostat.test=1"]
var created: [String] = []

@MainActor func removeAll() async {
    guard !created.isEmpty else { return }
    say("removing \(created.count) containers")
    for chunk in stride(from: 0, to: created.count, by: 50).map({ Array(created[$0..<min($0 + 50, created.count)]) }) {
        _ = try? await dockerAsync(["rm", "-f", "-v"] + chunk, host: options.dockerHost)
    }
    created.removeAll()
}

@MainActor func createSleepers(upTo count: Int) async throws {
    var next = created.count
    while next < count {
        let batch = (next..<min(count, next + 4)).map { "hsbench-\(run)-\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in batch {
                group.addTask {
                    _ = try await dockerAsync(["run", "-d", "--name", name, "--network", "none"] + labels + [options.image, "sleep", "86400"], host: options.dockerHost)
                }
            }
            try await group.waitForAll()
        }
        created += batch
        next += batch.count
    }
}

do {
    let version = try docker(["version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"], host: options.dockerHost)
    let info = try docker(["info", "--format", "{{.Driver}} storage, cgroup v{{.CgroupVersion}}, {{.NCPU}} CPUs"], host: options.dockerHost)
    print("engine: Docker \(version), \(info)")
    print("host: \(ProcessInfo.processInfo.activeProcessorCount) CPUs, \(ProcessInfo.processInfo.physicalMemory >> 20) MiB")
    let existing = try docker(["ps", "-aq"], host: options.dockerHost).split(separator: "\n").count
    print("containers on the engine before the run: \(existing)")

    if !options.skipCycles {
        print("")
        print("| containers | sampled | concurrent wall (s) | concurrent CPU (s) | one-after-another wall (s) | one-after-another CPU (s) | cycles (conc./seq.) |")
        print("|---:|---:|---:|---:|---:|---:|---|")
        for size in options.sizes {
            say("creating containers up to \(size)")
            try await createSleepers(upTo: size)
            var row: [String] = []
            var sampled = 0
            var results: [(wall: Double, cpu: Double, cycles: Int)] = []
            for concurrency in [200, 1] {
                let prefix = "hsbench-\(run)-c\(concurrency)-\(size)"
                let context = try makeContext(options, prefix: prefix, concurrency: concurrency, logger: logger)
                let engine = try DockerContainerEngine(settings: context.configuration.docker, logger: logger)
                let service = MonitorService(context: context, engine: engine, ownContainerID: nil)
                say("measuring \(size) containers, concurrency \(concurrency)")
                let budget = concurrency == 1 ? options.baselineBudget : 600
                results.append(try await measureCycles(service, count: options.cycles, budget: budget, warmUp: concurrency != 1))
                sampled = Int(try await context.redis.send(["ZCARD", context.keys.containers]).integer ?? 0)
                await deleteKeys(context, prefix: prefix)
            }
            row = [
                "\(size)", "\(sampled)", String(format: "%.2f", results[0].wall), String(format: "%.3f", results[0].cpu),
                String(format: "%.2f", results[1].wall), String(format: "%.3f", results[1].cpu), "\(results[0].cycles)/\(results[1].cycles)",
            ]
            print("| " + row.joined(separator: " | ") + " |")
        }
        await removeAll()
    }

    if !options.skipFaults {
        let prefix = "hsbench-\(run)-faults"
        let context = try makeContext(options, prefix: prefix, concurrency: 200, logger: logger)
        let engine = try DockerContainerEngine(settings: context.configuration.docker, logger: logger)
        let service = MonitorService(context: context, engine: engine, ownContainerID: nil)
        let reader = RedisClient(configuration: try RedisConfiguration(url: options.redisURL), logger: logger)
        let alerts = AlertReader()
        let faults = FaultClock()
        let http = HTTPClient(logger: logger)
        let client = DockerClient(host: try DockerHost(parsing: options.dockerHost), httpClient: http, logger: logger)

        let monitorTask = Task { try await service.run() }
        let readerTask = Task { await readAlerts(redis: reader, stream: context.keys.channel(.healthAlert), into: alerts) }
        let eventsTask = Task {
            for try await event in client.events(filters: ["type": ["container"], "label": ["hemostat.bench=\(run)"]]) {
                guard let name = event.name, let kind = Fault.allCases.first(where: { name.contains("-\($0.rawValue)-") }), kind.isFault(event) else { continue }
                await faults.record(name, Date(timeIntervalSince1970: Double(event.timeNano) / 1e9))
            }
        }
        // Let the monitor's first cycle and event stream settle.
        try await Task.sleep(for: .seconds(3))

        print("")
        print("| fault | trials | median (ms) | worst (ms) | alerts via event |")
        print("|---|---:|---:|---:|---:|")
        for fault in options.faults {
            var delays: [Double] = []
            for trial in 0..<options.trials {
                let name = "hsbench-\(run)-\(fault.rawValue)-\(trial)"
                say("\(fault.rawValue) trial \(trial + 1)")
                created.append(name)
                _ = try await dockerAsync(["run", "-d", "--name", name, "--network", "none"] + labels + fault.arguments + [options.image, "sh", "-c", fault.script], host: options.dockerHost)
                let deadline = ContinuousClock.now + .seconds(60)
                var delay: Double?
                while ContinuousClock.now < deadline {
                    if let alerted = await alerts.time(name, with: fault.anomaly), let faulted = await faults.time(name, index: fault.faultIndex) {
                        delay = alerted.timeIntervalSince(faulted)
                        break
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                if let delay { delays.append(delay * 1000) } else { say("  no alert within 60 s") }
                _ = try? await dockerAsync(["rm", "-f", "-v", name], host: options.dockerHost)
                created.removeAll { $0 == name }
            }
            let sources = try await context.redis.xrange(context.keys.channel(.healthAlert)).compactMap { $0[field: "message"] }
                .compactMap { try? Envelope<HealthAlert>.decode($0).data }
                .filter { $0.containerName.contains("-\(fault.rawValue)-") }
            let viaEvent = sources.filter { $0.source == .event }.count
            print("| \(fault.rawValue) | \(delays.count) | \(String(format: "%.0f", median(delays))) | \(String(format: "%.0f", delays.max() ?? .nan)) | \(viaEvent)/\(sources.count) |")
        }
        eventsTask.cancel()
        readerTask.cancel()
        monitorTask.cancel()
        _ = try? await monitorTask.value
        _ = await readerTask.value
        await deleteKeys(context, prefix: prefix)
        http.shutdown()
    }
    await removeAll()
} catch {
    say("benchmark failed: \(error)")
    await removeAll()
    exit(1)
}
