import Foundation
@testable import HemoStatDashboard
@testable import HemoStatModel
import HemoStatTestSupport
import Testing

/// Debian's Chromium, headless, driven by Playwright (`Tests/browser/test_dashboard.py`).
enum Browser {
    static let chromium = "/usr/bin/chromium"

    /// Checked once, before any dashboard is serving.
    static let hasPlaywright: Bool = {
        guard let process = try? ChildProcess(command: ["python3", "-c", "import playwright.sync_api"]) else { return false }
        return process.waitUntilExit() == 0
    }()

    /// Outside CI the browser test is skipped when Chromium or Playwright is missing; in CI it
    /// runs and fails, so a missing browser is never a silent skip.
    static var enabled: Bool {
        TestEnvironment.integration && (TestEnvironment.isCI || (FileManager.default.isExecutableFile(atPath: chromium) && hasPlaywright))
    }

    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("browser/test_dashboard.py")
    }
}

@Suite(.enabled(if: Browser.enabled))
struct BrowserTests {
    @Test func pageWorksInARealBrowser() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Browser.chromium), "install Debian's chromium (scripts/install-deps.sh --test)")
        #expect(Browser.hasPlaywright, "pip install playwright (scripts/install-deps.sh --test)")
        let h = try await DashboardHarness()
        do {
            try await h.setHeartbeat(agent: "responder", dryRun: true)
            try await h.setHeartbeat(agent: "monitor", dryRun: false)
            try await h.setStats("web", labels: ["app": "web", "note": "<img src=x onerror=alert(1)>"], cpu: 4, memory: 22)
            try await h.setStats("<b>bold</b>", cpu: 1, memory: 5)
            // The same name on a second host: a row of its own.
            try await h.setStats("web", host: "node-2", cpu: 2, memory: 9)
            try await h.setStats("db", status: "running", health: "unhealthy", cpu: 88, memory: 71, anomalies: [["type": "cpu_high", "severity": "high", "value": 88, "threshold": 80]], restartCount: 2)
            try await h.setStats("batch", status: "exited", excluded: true)
            let base = Int64(Date().timeIntervalSince1970 * 1000) - 600_000
            let statuses = ["success", "failed", "rejected", "success", "ineffective", "skipped"]
            for n in 0..<30 {
                let container = ["api", "worker", "db"][n % 3]
                let message = DashboardHarness.envelope("remediation_complete", data: [
                    "container": container, "action": n % 4 == 0 ? "stop" : "restart", "incident_id": "hist-\(n)",
                    "dry_run": n % 5 == 0, "analysis_method": n % 3 == 0 ? "llm" : "rules", "rule": "restart_on_exit",
                    "result": ["status": statuses[n % statuses.count], "reason": "attempt \(n) <script>alert(2)</script>"],
                ])
                try await h.publish("remediation_complete", message, atMs: base + Int64(n) * 10_000)
                _ = try await h.redis.send(["XADD", h.prefix + "audit", "\(base + Int64(n) * 10_000)-*", "record",
                    #"{"incident_id":"hist-\#(n)","decision":"allowed","rule":"restart_on_exit","gate":{"breaker_state":"closed"}}"#])
            }
            _ = try await h.redis.send(["SET", h.prefix + "rules:status",
                #"{"updated_at":"\#(Timestamp.format(Date()))","last_reload":"\#(Timestamp.format(Date()))","load_errors":[{"code":"syntax","message":"unexpected symbol","location":"rules/x.lua:3"}],"rules":[{"name":"restart_on_exit","matched":30,"decisive":28,"errors":0,"enabled":true},{"name":"cpu_runaway","matched":4,"decisive":1,"errors":1,"enabled":true},{"name":"old_rule","matched":0,"decisive":0,"errors":0,"enabled":false}]}"#])

            let socket = try TestEnvironment.redisURL().replacingOccurrences(of: "unix://", with: "")
            let screenshot = ProcessInfo.processInfo.environment["HEMOSTAT_DASHBOARD_SCREENSHOT"]
            var env = ProcessInfo.processInfo.environment
            env["DASHBOARD_URL"] = h.baseURL
            env["REDIS_SOCKET"] = socket
            env["KEY_PREFIX"] = h.prefix
            if let screenshot { env["SCREENSHOT"] = screenshot }
            let (status, text) = try await DashboardHarness.run(["python3", Browser.script.path], environment: env, timeout: .seconds(180))
            #expect(status == 0, "browser test failed:\n\(text)")
            #expect(text.contains(" passed, 0 failed"), "\(text)")
        } catch {
            try await h.shutdown()
            throw error
        }
        try await h.shutdown()
    }
}
