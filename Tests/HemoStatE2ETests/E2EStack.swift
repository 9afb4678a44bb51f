import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HemoStatRedis
import HemoStatTestSupport
import Testing

/// How the agents run: all in `hemostat run`, or as four processes (`monitor`, `analyzer`,
/// `responder`, `alert`) against one Redis.
enum Deployment: String, CustomTestStringConvertible, Sendable, CaseIterable {
    case oneProcess = "hemostat run"
    case fourProcesses = "four processes"
    var testDescription: String { rawValue }
}

/// A message read back from one of the test's streams.
struct BusMessage: @unchecked Sendable {
    // @unchecked Sendable: `json` is a parsed JSON object only ever read.
    var streamID: String
    var json: [String: Any]
    var eventType: String { json["event_type"] as? String ?? "" }
    var id: String { json["id"] as? String ?? "" }
    var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    subscript(_ key: String) -> Any? { data[key] }
    var container: String { (data["container"] ?? data["container_name"]) as? String ?? "" }
    var incidentID: String { data["incident_id"] as? String ?? "" }
    var resultStatus: String? { (data["result"] as? [String: Any])?["status"] as? String }
    var dryRun: Bool? { data["dry_run"] as? Bool }
}

/// One engine event for a container, from `docker events`.
struct EngineEvent: Sendable, CustomStringConvertible {
    var action: String
    var timeNano: Int64
    var description: String { action }
    /// Actions that change a container (its own exit, `die`, is not one).
    static let mutating: Set<String> = ["start", "restart", "stop", "kill", "pause", "unpause", "update", "exec_create", "exec_start", "destroy"]
}

/// Everything one end-to-end test needs: a unique prefix for keys and container names, fault
/// containers on the private engine, a Slack-style webhook receiver, the hemostat processes it
/// started, and a scratch directory (state directory and process logs). ``cleanup()`` stops
/// and removes all of it.
final class E2EStack: @unchecked Sendable {
    // @unchecked Sendable: `processes` is only touched while holding `lock`; the rest is `let`.
    let prefix: String
    let keyPrefix: String
    let hostID: String
    let faults: FaultContainers
    let webhook: WebhookReceiver
    let redis: RedisClient
    let directory: String
    let startedAt = Date()
    private let lock = NSLock()
    private var processes: [HemoStatProcess] = []
    /// `docker events` followed live from the start: the engine keeps only its last 256
    /// events for `--since` queries, fewer than a parallel suite makes in a few minutes.
    private let eventLog: ChildProcess
    private let eventLogPath: String

    init(label: String) async throws {
        prefix = TestEnvironment.uniquePrefix(label)
        keyPrefix = prefix + ":"
        hostID = prefix + "-host"
        faults = try FaultContainers(prefix: prefix)
        webhook = try await WebhookReceiver()
        redis = RedisClient(configuration: try RedisConfiguration(url: try TestEnvironment.redisURL()))
        directory = try TestProcess.temporaryDirectory("e2e")
        eventLogPath = directory + "/engine-events.log"
        _ = FileManager.default.createFile(atPath: eventLogPath, contents: nil)
        eventLog = try ChildProcess(
            command: ["docker", "events", "--filter", "type=container", "--format", "{{.Actor.Attributes.name}} {{.Action}} {{.TimeNano}}"],
            environment: ProcessInfo.processInfo.environment.merging(
                ["DOCKER_HOST": try TestEnvironment.dockerHost(), "DOCKER_API_VERSION": "1.41"]) { $1 },
            output: .file(eventLogPath), standardError: .null)
        // The stream is open once the engine answered the CLI's first request.
        _ = try await faults.docker(["version", "--format", "{{.Server.APIVersion}}"])
    }

    /// The Slack URL the alert agent posts to (a path shaped like Slack's).
    var slackURL: String { webhook.baseURL + "/services/T000/B000/\(prefix)" }

    /// The environment of a hemostat child: the private Redis and engine, this test's key
    /// prefix and host id, its containers only, short intervals, the Slack receiver; nothing
    /// inherited that could configure HemoStat otherwise (no API keys).
    func environment(_ extra: [String: String] = [:]) throws -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment.filter { key, _ in
            ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER"].contains(key)
        }
        var environment = inherited.merging([
            "REDIS_URL": try TestEnvironment.redisURL(),
            "DOCKER_HOST": try TestEnvironment.dockerHost(),
            "HEMOSTAT_REDIS_KEY_PREFIX": keyPrefix,
            "HEMOSTAT_HOST_ID": hostID,
            "HEMOSTAT_STATE_DIRECTORY": directory,
            "HEMOSTAT_RULES_DIRECTORY": HemoStatBinary.packageRoot + "/rules",
            "HEMOSTAT_LOG_LEVEL": "info",
            // Only this test's containers: other tests' containers on the shared engine are
            // neither watched nor touched.
            "HEMOSTAT_MONITOR_INCLUDE": prefix + "-*",
            "AGENT_POLL_INTERVAL": "1s",
            "RESPONDER_COOLDOWN_SECONDS": "2s",
            "RESPONDER_MAX_RETRIES_PER_HOUR": "20",
            "HEMOSTAT_RESPONDER_GLOBAL_MAX_ACTIONS_PER_HOUR": "100",
            "HEMOSTAT_RESPONDER_VERIFICATION_WINDOW": "4s",
            "HEMOSTAT_RESPONDER_VERIFICATION_INTERVAL": "250ms",
            "HEMOSTAT_RESPONDER_STOP_TIMEOUT": "1s",
            // The lease of the gate's lock: a killed responder's action is taken over after it.
            "HEMOSTAT_RESPONDER_LOCK_TTL": "5s",
            "HEMOSTAT_ALERT_GROUPING_WINDOW": "3s",
            "HEMOSTAT_ALERT_RETRY_INITIAL_BACKOFF": "200ms",
            "SLACK_WEBHOOK_URL": slackURL,
        ]) { $1 }
        environment.merge(extra) { $1 }
        return environment
    }

    /// Starts `hemostat <arguments>`.
    @discardableResult
    func start(
        _ name: String, _ arguments: [String], environment extra: [String: String] = [:],
        workingDirectory: String = HemoStatBinary.packageRoot
    ) throws -> HemoStatProcess {
        let process = try HemoStatProcess(
            name: name, arguments: arguments, environment: try environment(extra), logDirectory: directory, workingDirectory: workingDirectory)
        lock.withLock { processes.append(process) }
        return process
    }

    /// Starts the pipeline in `deployment` and waits until every agent's heartbeat is there.
    /// `runArguments` go to `hemostat run` (one process) or to every agent (four processes).
    @discardableResult
    func startPipeline(
        _ deployment: Deployment, runArguments: [String] = ["--no-dashboard"], agentArguments: [String: [String]] = [:],
        environment extra: [String: String] = [:]
    ) async throws -> [String: HemoStatProcess] {
        var started: [String: HemoStatProcess] = [:]
        switch deployment {
        case .oneProcess:
            started["run"] = try start("run", ["run"] + runArguments, environment: extra)
        case .fourProcesses:
            for agent in ["monitor", "analyzer", "responder", "alert"] {
                started[agent] = try start(agent, [agent] + (agentArguments[agent] ?? []), environment: extra)
            }
        }
        try await waitForAgents(["monitor", "analyzer", "responder", "alert"])
        return started
    }

    /// Waits until the heartbeat of each of `agents` is in Redis.
    func waitForAgents(_ agents: [String], timeout: Duration = .seconds(60)) async throws {
        let up = try await holds(within: timeout) {
            for agent in agents {
                let value = try await self.redis.send(["EXISTS", "\(self.keyPrefix)agents:\(agent):\(self.hostID)"])
                if value.integer != 1 { return false }
            }
            return true
        }
        if !up { throw TestEnvironmentError(message: "agents \(agents) did not report a heartbeat") }
    }

    /// Runs `hemostat <arguments>` (an operator command) with this stack's environment.
    func cli(_ arguments: [String]) async throws -> ProcessOutput {
        try await TestProcess.run([try HemoStatBinary.path()] + arguments, environment: try environment())
    }

    /// Every process started so far.
    var allProcesses: [HemoStatProcess] { lock.withLock { processes } }

    // MARK: Reading the bus

    /// The messages on `channel` (`remediation_complete`, ...) so far, oldest first.
    func messages(_ channel: String) async throws -> [BusMessage] {
        let entries = try await redis.xrange(keyPrefix + channel)
        return entries.compactMap { entry in
            guard let text = entry[field: "message"],
                  let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
            else { return nil }
            return BusMessage(streamID: entry.id, json: json)
        }
    }

    /// The messages on `channel` about `container`.
    func messages(_ channel: String, container: String) async throws -> [BusMessage] {
        try await messages(channel).filter { $0.container == container }
    }

    /// Waits until `condition` holds for the messages on `channel` about `container`; throws
    /// naming the last messages seen when it does not within `timeout`.
    @discardableResult
    func waitForMessages(
        _ channel: String, container: String, timeout: Duration = .seconds(90),
        _ what: String, until condition: @escaping ([BusMessage]) -> Bool
    ) async throws -> [BusMessage] {
        var last: [BusMessage] = []
        let held = try await holds(within: timeout) {
            last = try await self.messages(channel, container: container)
            return condition(last)
        }
        if !held {
            throw TestEnvironmentError(message: "timed out waiting for \(what) on \(channel) for \(container); last: \(last.map(\.data))")
        }
        return last
    }

    /// Slack requests about `container` (its name in the fallback text), in order.
    func slackMessages(about container: String) -> [[String: Any]] {
        webhook.requests().compactMap(\.json).filter { ($0["text"] as? String ?? "").contains(container) }
    }

    // MARK: The engine

    /// The engine's events for `container` from `since` until now, oldest first.
    func engineEvents(_ container: String, since: Date) async throws -> [EngineEvent] {
        // Events already on their way to the log.
        try await Task.sleep(for: .milliseconds(100))
        let text = try String(contentsOfFile: eventLogPath, encoding: .utf8)
        let from = Int64(since.timeIntervalSince1970 * 1e9)
        return text.split(separator: "\n").compactMap { line in
            // `name action time`; exec events read `exec_start: sh -c ...`, the first word is enough.
            let parts = line.split(separator: " ")
            guard parts.count >= 3, parts[0] == container, let nano = Int64(parts[parts.count - 1]), nano >= from else { return nil }
            return EngineEvent(action: String(parts[1]).replacingOccurrences(of: ":", with: ""), timeNano: nano)
        }
    }

    /// `docker inspect -f FORMAT container`.
    func inspect(_ container: String, _ format: String) async throws -> String {
        try await faults.docker(["inspect", "-f", format, container]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts a container that crashes (exit `exitCode` after `after` seconds) the first time
    /// it runs and stays up once started again: a crash a restart fixes.
    func startCrashOnce(exitCode: Int = 3, after: Int = 2) async throws -> FaultContainer {
        let name = "\(prefix)-once-\(UUID().uuidString.prefix(6).lowercased())"
        let script = "if [ -e /tmp/crashed ]; then exec sleep 3600; fi; touch /tmp/crashed; sleep \(after); exit \(exitCode)"
        // Named under the FaultContainers prefix, so cleanup finds it by name.
        let output = try await faults.docker([
            "run", "-d", "--name", name, "--network", "none", "--label", "hemostat.test=1",
            try TestEnvironment.image(), "sh", "-c", script,
        ])
        return FaultContainer(name: name, id: output.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: Diagnostics and cleanup

    /// The tail of every process's log and a summary of the streams, for a failed assertion.
    func diagnostics() -> String {
        var text = ""
        for process in allProcesses {
            text += "--- hemostat \(process.arguments.joined(separator: " ")) (\(process.isRunning ? "running" : "exited")), \(process.logPath):\n"
            text += process.logTail() + "\n"
        }
        text += "--- webhook requests: \(webhook.requests().count)\n"
        for request in webhook.requests().suffix(10) {
            text += String(request.body.prefix(300)) + "\n"
        }
        return text
    }

    /// Stops every process, removes this test's containers and keys, stops the receiver.
    func cleanup() async {
        for process in allProcesses { await process.stop() }
        // Containers named under the prefix, whoever started them.
        if let output = try? await faults.docker(["ps", "-aq", "--filter", "name=^\(prefix)-"]) {
            let ids = output.stdout.split(separator: "\n").map(String.init)
            if !ids.isEmpty { _ = try? await faults.docker(["rm", "-f", "-v"] + ids) }
        }
        await faults.removeAll()
        var cursor = "0"
        repeat {
            guard let reply = try? await redis.send(["SCAN", cursor, "MATCH", keyPrefix + "*", "COUNT", "1000"]),
                  let parts = reply.array, parts.count == 2 else { break }
            cursor = parts[0].string ?? "0"
            let keys = parts[1].array?.compactMap(\.string) ?? []
            if !keys.isEmpty { _ = try? await redis.send(["DEL"] + keys) }
        } while cursor != "0"
        await eventLog.kill()
        redis.close()
        webhook.stop()
        if !Self.keepLogs { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// `HEMOSTAT_E2E_KEEP_LOGS=1` keeps each test's directory (process logs) after the run.
    static var keepLogs: Bool { ProcessInfo.processInfo.environment["HEMOSTAT_E2E_KEEP_LOGS"] == "1" }
}
