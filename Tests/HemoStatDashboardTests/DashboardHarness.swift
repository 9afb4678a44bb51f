import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import HemoStatDashboard
@testable import HemoStatModel
import HemoStatRedis
import HemoStatTestSupport
import Logging
import Prometheus
import ServiceLifecycle

/// One dashboard on a free loopback port, reading keys under a prefix of its own.
final class DashboardHarness: Sendable {
    let prefix: String
    let redisConfiguration: RedisConfiguration
    let redis: RedisClient
    let registry = PrometheusCollectorRegistry()
    let service: DashboardService
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let port: Int

    init(
        token: String? = nil,
        readiness: @escaping @Sendable () async -> [String: ReadinessResult] = { ["redis": .ok] },
        llmBudget: Int? = nil
    ) async throws {
        prefix = TestEnvironment.uniquePrefix("dash") + ":"
        redisConfiguration = try RedisConfiguration(url: try TestEnvironment.redisURL())
        redis = RedisClient(configuration: redisConfiguration)
        var config = DashboardConfiguration(host: "127.0.0.1", port: 0, accessToken: token)
        config.keyPrefix = prefix
        config.refreshInterval = .milliseconds(300)
        config.llmHourlyBudget = llmBudget
        var logger = Logger(label: "test.dashboard")
        logger.logLevel = .warning
        let service = DashboardService(
            configuration: config, redis: redis, redisConfiguration: redisConfiguration,
            registry: registry, readiness: readiness, logger: logger
        )
        self.service = service
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        _ = await holds { service.boundPort != nil }
        guard let bound = service.boundPort else {
            task.cancel()
            throw TestEnvironmentError(message: "dashboard did not start serving")
        }
        port = bound
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Triggers graceful shutdown; true when the service returned within ten seconds.
    func stopGracefully() async throws -> Bool {
        await group.triggerGracefulShutdown()
        let task = self.task
        return await withTaskGroup(of: Bool.self) { race in
            race.addTask {
                _ = try? await task.value
                return true
            }
            race.addTask {
                try? await Task.sleep(for: .seconds(10))
                return false
            }
            let first = await race.next() ?? false
            race.cancelAll()
            return first
        }
    }

    /// Stops the server (gracefully, else by cancellation) and deletes every key under the prefix.
    func shutdown() async throws {
        if !(try await stopGracefully()) { task.cancel() }
        _ = try? await task.value
        var cursor = "0"
        repeat {
            let reply = try await redis.send(["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"])
            let parts = reply.array ?? []
            cursor = parts.first?.string ?? "0"
            let keys = (parts.count > 1 ? parts[1].array ?? [] : []).compactMap(\.string)
            if !keys.isEmpty { _ = try await redis.send(["DEL"] + keys) }
        } while cursor != "0"
        redis.close()
    }

    struct HTTPAnswer {
        var status: Int
        var headers: [String: String]
        var body: String
        var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        request.timeoutInterval = 20
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { fields[k.lowercased()] = v }
        }
        return HTTPAnswer(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
    }

    /// Runs curl and returns what it printed (for what URLSession hides: redirects, streams).
    static func curl(_ arguments: [String]) async throws -> String {
        try await run(["curl", "--max-time", "20"] + arguments).output
    }

    /// Runs a program to completion without blocking a thread of the cooperative pool (the
    /// dashboard under test answers on that pool): output and errors go to one file, read once it
    /// has exited. Killed after `timeout`.
    static func run(_ arguments: [String], environment: [String: String]? = nil, timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        let directory = try TestProcess.temporaryDirectory("run")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/output"
        let process = try ChildProcess(command: arguments, environment: environment, output: .file(output))
        if !(await process.waitForExit(within: timeout)) { await process.kill() }
        return (process.exitStatus ?? -1, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    // MARK: - Seeding, in the shapes of docs/redis-keys.md

    static func envelope(_ type: String, data: [String: Any], id: String = UUID().uuidString, timestamp: Date = Date(), agent: String = "test") -> String {
        let object: [String: Any] = [
            "event_type": type, "timestamp": Timestamp.format(timestamp), "agent": agent, "host": "node-1", "id": id, "data": data,
        ]
        let bytes = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: bytes, as: UTF8.self)
    }

    /// XADDs to the channel's stream (with an explicit millisecond id) and PUBLISHes, like the bus.
    @discardableResult
    func publish(_ channel: String, _ message: String, atMs: Int64? = nil) async throws -> String {
        let id = atMs.map { "\($0)-*" } ?? "*"
        let added = try await redis.send(["XADD", prefix + channel, id, "message", message]).string ?? ""
        _ = try await redis.publish(channel: prefix + channel, message: message)
        return added
    }

    func setStats(_ name: String, host: String = "node-1", status: String = "running", health: String = "healthy", labels: [String: String] = [:],
                  cpu: Double = 3, memory: Double = 12, anomalies: [[String: Any]] = [], restartCount: Int = 0, excluded: Bool = false) async throws {
        let now = Date().timeIntervalSince1970
        let history: [[String: Any]] = (0..<10).map { i in
            ["timestamp": now - Double(10 - i) * 5, "cpu_percent": cpu + Double(i), "memory_percent": memory, "status": status, "health_status": health, "restart_count": restartCount, "memory_usage": 1000]
        }
        let doc: [String: Any] = [
            "container_id": "abcdef0123456789", "container_name": name, "image": "busybox:latest", "host": host,
            "status": status, "health_status": health, "exit_code": status == "running" ? 0 : 1, "oom_killed": false,
            "restart_count": restartCount, "labels": labels, "updated_at": Timestamp.format(Date()), "excluded": excluded,
            "metrics": ["cpu_percent": cpu, "memory_percent": memory, "memory_usage": 33_554_432, "memory_limit": 268_435_456],
            "anomalies": anomalies, "history": history,
        ]
        let text = String(decoding: try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys]), as: UTF8.self)
        _ = try await redis.pipeline([
            ["SET", prefix + "stats:\(host)/\(name)", text, "EX", "300"],
            ["ZADD", prefix + "containers", String(Int64(now * 1000)), "\(host)/\(name)"],
        ])
    }

    func setHeartbeat(agent: String, dryRun: Bool) async throws {
        let doc = #"{"agent":"\#(agent)","host":"node-1","version":"test","started_at":"\#(Timestamp.format(Date()))","dry_run":\#(dryRun)}"#
        _ = try await redis.send(["SET", prefix + "agents:\(agent):node-1", doc, "EX", "3600"])
    }
}

/// Reads the Prometheus text exposition format (0.0.4): `name{label="value",...} value`.
struct PrometheusText {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample] = []
    var types: [String: String] = [:]

    init(_ text: String) throws {
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                if parts.count == 2 { types[String(parts[0])] = String(parts[1]) }
                continue
            }
            if line.hasPrefix("#") || line.isEmpty { continue }
            var chars = Substring(line)
            let nameEnd = chars.firstIndex(where: { $0 == "{" || $0 == " " }) ?? chars.endIndex
            let name = String(chars[..<nameEnd])
            guard name.first.map({ $0.isLetter || $0 == "_" || $0 == ":" }) == true else { throw ParseError(line: line) }
            chars = chars[nameEnd...]
            var labels: [String: String] = [:]
            if chars.first == "{" {
                chars = chars.dropFirst()
                while chars.first != "}" {
                    guard let eq = chars.firstIndex(of: "=") else { throw ParseError(line: line) }
                    let key = String(chars[..<eq]).trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                    chars = chars[chars.index(after: eq)...]
                    guard chars.first == "\"" else { throw ParseError(line: line) }
                    chars = chars.dropFirst()
                    var value = ""
                    while let c = chars.first, c != "\"" {
                        if c == "\\" {
                            chars = chars.dropFirst()
                            switch chars.first {
                            case "n": value.append("\n")
                            case let other?: value.append(other)
                            case nil: throw ParseError(line: line)
                            }
                        } else {
                            value.append(c)
                        }
                        chars = chars.dropFirst()
                    }
                    guard chars.first == "\"" else { throw ParseError(line: line) }
                    chars = chars.dropFirst()
                    labels[key] = value
                    if chars.first == "," { chars = chars.dropFirst() }
                }
                chars = chars.dropFirst()
            }
            let fields = chars.split(separator: " ")
            guard let first = fields.first else { throw ParseError(line: line) }
            let value: Double
            switch first {
            case "+Inf": value = .infinity
            case "-Inf": value = -.infinity
            case "NaN": value = .nan
            default:
                guard let v = Double(first) else { throw ParseError(line: line) }
                value = v
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { k, v in sample.labels[k] == v } }?.value
    }

    /// The sum of every sample of `name` whose labels include `labels` (0 when there is none).
    func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { k, v in sample.labels[k] == v } }
            .reduce(0) { $0 + $1.value }
    }

    struct ParseError: Error, CustomStringConvertible {
        var line: String
        var description: String { "not Prometheus text format: \(line)" }
    }
}
