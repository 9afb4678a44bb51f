import Foundation
@testable import HemoStatDashboard
import HemoStatRedis
import HemoStatTestSupport
import Testing

/// `hemostat run --dry-run` as a child process: every agent and the dashboard, against the
/// private test Redis (under a key prefix of its own) and the private test engine, watching only
/// containers whose names start with `watch`.
final class HemoStatRunProcess: Sendable {
    let prefix: String
    let port: Int
    let logURL: URL
    let stateDirectory: String
    private let process: ChildProcess

    init(watch: String) throws {
        prefix = TestEnvironment.uniquePrefix("run") + ":"
        port = try RedisServerProcess.freePort()
        stateDirectory = try TestProcess.temporaryDirectory("run")
        logURL = URL(fileURLWithPath: stateDirectory).appendingPathComponent("hemostat.log")
        guard FileManager.default.createFile(atPath: logURL.path, contents: nil) else {
            throw TestEnvironmentError(message: "cannot create \(logURL.path)")
        }
        let environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "REDIS_URL": try TestEnvironment.redisURL(),
            "DOCKER_HOST": try TestEnvironment.dockerHost(),
            "HEMOSTAT_REDIS_KEY_PREFIX": prefix,
            "HEMOSTAT_DASHBOARD_PORT": String(port),
            "HEMOSTAT_MONITOR_INCLUDE": watch + "*",
            "AGENT_POLL_INTERVAL": "1s",
            "HEMOSTAT_ANALYZER_STATUS_INTERVAL": "1s",
            "HEMOSTAT_STATE_DIRECTORY": stateDirectory,
            "HEMOSTAT_RULES_DIRECTORY": HemoStatBinary.packageRoot + "/rules",
            "HEMOSTAT_LLM_PROVIDER": "none",
            "HEMOSTAT_LOG_LEVEL": "info",
        ]
        process = try ChildProcess(
            executable: try HemoStatBinary.path(), arguments: ["run", "--dry-run"], environment: environment,
            directory: HemoStatBinary.packageRoot, output: .file(logURL.path))
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Polls `/readyz` until it answers 200; false if the process exits or `timeout` passes.
    func waitUntilReady(timeout: Duration = .seconds(60)) async -> Bool {
        await holds(within: timeout) {
            guard process.isRunning else { return false }
            return (try? await Self.get(baseURL + "/readyz"))?.status == 200
        }
    }

    /// SIGINT (graceful), then SIGKILL if it has not exited within `grace`; removes its keys
    /// and state directory.
    func stop(grace: Duration = .seconds(10)) async {
        process.send(SIGINT)
        if !(await process.waitForExit(within: grace)) { await process.kill() }
        if let redis = try? RedisClient(configuration: RedisConfiguration(url: TestEnvironment.redisURL())) {
            var cursor = "0"
            repeat {
                guard let reply = try? await redis.send(["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"]) else { break }
                let parts = reply.array ?? []
                cursor = parts.first?.string ?? "0"
                let keys = (parts.count > 1 ? parts[1].array ?? [] : []).compactMap(\.string)
                if !keys.isEmpty { _ = try? await redis.send(["DEL"] + keys) }
            } while cursor != "0"
            redis.close()
        }
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }


    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let output = try await TestProcess.run(["curl", "-s", "--max-time", "10", "-w", "\n%{http_code}", url])
        let lines = output.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard let code = lines.last.flatMap({ Int($0) }), output.succeeded else {
            throw TestEnvironmentError(message: "curl \(url) failed: \(output.stderr)")
        }
        return (code, lines.dropLast().joined(separator: "\n"))
    }
}

@Suite(.enabled(if: Browser.enabled))
struct RunScenarioTests {
    /// A container that crashes after the page loaded shows up as an incident in the browser
    /// without a reload, and `/metrics` of the same process counts what happened: one alert of
    /// kind `non_zero_exit` and one fault-to-alert observation, one rules decision to restart, one
    /// dry-run restart skipped, and no live action.
    @Test func aCrashingContainerAppearsInTheBrowserAndInTheMetrics() async throws {
        let faults = try FaultContainers(prefix: TestEnvironment.uniquePrefix("dfault"))
        let run = try HemoStatRunProcess(watch: faults.prefix)
        let scratch = try TestProcess.temporaryDirectory("scenario")
        do {
            let ready = await run.waitUntilReady()
            try #require(ready, "hemostat run did not become ready:\n\(run.log.suffix(3000))")

            let readyFile = scratch + "/ready"
            let containerFile = scratch + "/container"
            var environment = ProcessInfo.processInfo.environment
            environment["DASHBOARD_URL"] = run.baseURL
            environment["READY_FILE"] = readyFile
            environment["CONTAINER_FILE"] = containerFile
            if let screenshot = ProcessInfo.processInfo.environment["HEMOSTAT_DASHBOARD_SCREENSHOT"] {
                environment["SCREENSHOT"] = screenshot.replacingOccurrences(of: ".png", with: "-fault.png")
            }
            let script = Browser.script.deletingLastPathComponent().appendingPathComponent("test_fault_scenario.py")
            let browser = Task {
                try await DashboardHarness.run(["python3", script.path], environment: environment, timeout: .seconds(180))
            }
            let pageLoaded = await holds(within: .seconds(60)) { FileManager.default.fileExists(atPath: readyFile) }
            if pageLoaded {
                let container = try await faults.start(.crash(exitCode: 1, after: 1))
                try container.name.write(toFile: containerFile, atomically: true, encoding: .utf8)
            }
            let (status, text) = try await browser.value
            #expect(pageLoaded, "the page did not load:\n\(text)")

            // The same process's /metrics, read with the Prometheus text parser.
            var metrics = try PrometheusText("")
            let counted = try await holds(within: .seconds(20)) {
                metrics = try PrometheusText(try await HemoStatRunProcess.get(run.baseURL + "/metrics").body)
                return metrics.value("hemostat_remediations_total", ["status": "skipped", "dry_run": "true"]) != nil
            }
            #expect(counted, "no dry-run remediation counted")
            #expect(metrics.types["hemostat_health_alerts_total"] == "counter")
            #expect((metrics.value("hemostat_health_alerts_total", ["kind": "non_zero_exit"]) ?? 0) >= 1)
            #expect(status == 0 && text.contains(" passed, 0 failed"), "browser scenario failed:\n\(text)\n--- hemostat run:\n\(run.log.suffix(3000))")
            #expect(metrics.value("hemostat_health_alerts_total", ["kind": "non_zero_exit"]) == 1)
            #expect(metrics.sum("hemostat_health_alerts_total") == 1, "one crash, one alert")
            // Seen first by the engine's event or by a poll, whichever came first: one observation.
            #expect(metrics.sum("hemostat_fault_to_alert_seconds_count") == 1)
            #expect(metrics.value("hemostat_analyzer_decisions_total", ["method": "rules", "outcome": "remediate"]) == 1)
            #expect(metrics.value("hemostat_analyzer_decision_seconds_count", ["method": "rules"]) == 1)
            #expect(metrics.sum("hemostat_gate_rejections_total") == 0)
            let faultToAlert = metrics.sum("hemostat_fault_to_alert_seconds_sum")
            #expect(faultToAlert > 0 && faultToAlert < 30, "fault-to-alert \(faultToAlert) s")
            #expect((metrics.sum("hemostat_monitor_cycle_seconds_count")) > 0)
            #expect((metrics.value("hemostat_analyzer_decisions_total", ["method": "rules", "outcome": "remediate"]) ?? 0) >= 1)
            #expect(metrics.value("hemostat_remediations_total", ["action": "restart", "status": "skipped", "dry_run": "true"]) == 1)
            #expect(metrics.sum("hemostat_remediations_total", ["dry_run": "false"]) == 0, "dry-run never acts")
        } catch {
            await faults.removeAll()
            await run.stop()
            try? FileManager.default.removeItem(atPath: scratch)
            throw error
        }
        await faults.removeAll()
        await run.stop()
        try? FileManager.default.removeItem(atPath: scratch)
    }
}
