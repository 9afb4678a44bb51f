import Foundation
import HemoStatCore
@testable import HemoStatDashboard
@testable import HemoStatModel
import HemoStatRedis
import HemoStatTestSupport
import Metrics
import Prometheus
import Testing

@Suite struct DashboardConfigurationTests {
    @Test func loopbackNeedsNoToken() throws {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"] {
            try DashboardConfiguration(host: host).validate()
        }
    }

    @Test func otherBindsAreRefusedWithoutAToken() {
        for host in ["0.0.0.0", "::", "192.0.2.10", "example.internal"] {
            #expect(throws: DashboardError.self) { try DashboardConfiguration(host: host).validate() }
            do {
                try DashboardConfiguration(host: host).validate()
            } catch let error as DashboardError {
                #expect(error.code == .insecureBind)
                #expect(error.message.contains("HEMOSTAT_DASHBOARD_TOKEN"))
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        #expect(throws: Never.self) { try DashboardConfiguration(host: "0.0.0.0", accessToken: String(repeating: "k", count: 24)).validate() }
        #expect(throws: DashboardError.self) { try DashboardConfiguration(host: "0.0.0.0", accessToken: "short").validate() }
    }

    @Test func environmentOverridesAndTheTokenNeverPrints() throws {
        let token = "s3cret-token-0123456789"
        let config = try DashboardConfiguration.fromEnvironment([
            "HEMOSTAT_DASHBOARD_HOST": "0.0.0.0", "HEMOSTAT_DASHBOARD_PORT": "9191",
            "HEMOSTAT_DASHBOARD_TOKEN": token, "HEMOSTAT_DASHBOARD_REFRESH_MS": "500",
        ])
        #expect(config.host == "0.0.0.0" && config.port == 9191 && config.accessToken == token)
        #expect(config.refreshInterval == .milliseconds(500))
        #expect(!config.description.contains(token))
        var dumped = ""
        dump(config, to: &dumped)
        #expect(!dumped.contains(token) && !String(reflecting: config).contains(token))
        #expect(throws: DashboardError.self) { try DashboardConfiguration.fromEnvironment(["HEMOSTAT_DASHBOARD_PORT": "http"]) }
    }
}

@Suite struct DashboardJSONTests {
    @Test func markupInValuesIsEscapedInTheJSONText() {
        let node: JSONValue = ["label": "<img src=x onerror=alert(1)>", "n": 3, "ok": true, "x": 1.5]
        let text = node.htmlSafeText
        #expect(!text.contains("<") && !text.contains(">"))
        #expect((try? JSONValue.parse(text)) == node)
    }

    @Test func booleansAndNumbersSurviveParsing() {
        let node = (try? JSONValue.parse(#"{"a":true,"b":1,"c":0,"d":false,"e":null,"f":[1,"x"]}"#))
        #expect(node?["a"] == .bool(true) && node?["b"] == .integer(1) && node?["c"] == .integer(0) && node?["d"] == .bool(false))
        #expect(node?["e"] == .null && node?["f"] == [1, "x"])
    }

    @Test func secretLookingKeysAreRedacted() {
        let node: JSONValue = ["data": ["api_key": "sk-1", "webhook_url": "https://hooks/x", "input_tokens": 12, "nested": ["password": "p"]]]
        let text = node.redactingSecrets().htmlSafeText
        #expect(!text.contains("sk-1") && !text.contains("hooks") && !text.contains("\"p\""))
        #expect(text.contains("input_tokens"))
    }
}

/// The dashboard against the real Redis over real HTTP.
@Suite(.enabled(if: TestEnvironment.integration), .serialized)
struct DashboardAPITests {
    @Test func containersAreServedWithGateStateAndEscapedLabels() async throws {
        let h = try await DashboardHarness()
        do {
            try await h.setStats("web", labels: ["app": "web", "note": "<img src=x onerror=alert(1)>"])
            try await h.setStats(
                "db", status: "exited", health: "unhealthy",
                anomalies: [["type": "non_zero_exit", "severity": "high", "value": 1, "threshold": 0]], restartCount: 4)
            try await h.setStats("batch", excluded: true)
            try await h.setHeartbeat(agent: "responder", dryRun: true)
            // A breaker opened in the dry-run namespace (the responder says dry-run).
            let gate = SafetyGate(redis: h.redis, policy: {
                var p = SafetyPolicy()
                p.cooldown = .zero
                p.breakerThreshold = 2
                return p
            }(), namespace: h.prefix + "dryrun:gate")
            for n in 0..<2 {
                let db = ContainerRef(host: "node-1", name: "db")
                _ = try await gate.acquire(container: db, requestID: "r\(n)", action: "restart", incidentID: "i\(n)")
                try await gate.complete(container: db, requestID: "r\(n)", outcome: .failed)
            }

            let answer = try await h.get("/api/containers")
            #expect(answer.status == 200)
            #expect(!answer.body.contains("<img"), "markup is escaped in the JSON text")
            let items = answer.json["items"]?.arrayValue ?? []
            #expect(items.map { $0["name"]?.stringValue } == ["db", "batch", "web"], "unhealthy first, then by name")
            #expect(answer.json["dry_run"] == .bool(true))
            let db = items[0]
            #expect(db["unhealthy"] == .bool(true) && db["restart_count"] == .integer(4))
            #expect(db["gate"]?["breaker_state"]?.stringValue == "open")
            #expect(db["gate"]?["last_action"]?.stringValue == "restart")
            #expect(db["waiting"]?.stringValue?.hasPrefix("waiting: the breaker is open") == true, "\(db["waiting"] ?? .null)")
            #expect(items[2]["waiting"] == .null, "a well container waits for nothing")
            #expect(items[1]["excluded"] == .bool(true))
            #expect(items[2]["labels"]?["note"]?.stringValue == "<img src=x onerror=alert(1)>")
            #expect(items[2]["cpu_history"]?.arrayValue?.count == 10)

            let page = try await h.get("/api/containers?limit=1&offset=1")
            #expect(page.json["total"] == .integer(3))
            #expect(page.json["items"]?.arrayValue?.map { $0["name"]?.stringValue } == ["batch"])
            let search = try await h.get("/api/containers?q=AT")
            #expect(search.json["items"]?.arrayValue?.map { $0["name"]?.stringValue } == ["batch"])

            let overview = try await h.get("/api/overview").json
            #expect(overview["dry_run"] == .bool(true))
            #expect(overview["containers_watched"] == .integer(2))
            #expect(overview["containers_excluded"] == .integer(1))
            #expect(overview["unhealthy_now"] == .integer(1))
            #expect(overview["breakers_open"] == .integer(1))

            let bad = try await h.get("/api/containers?limit=100000")
            #expect(bad.status == 400)
        } catch {
            try await h.shutdown()
            throw error
        }
        try await h.shutdown()
    }

    @Test func historyFiltersPaginatesAndLinksTheAudit() async throws {
        let h = try await DashboardHarness()
        do {
            let base = Int64(Date().timeIntervalSince1970 * 1000) - 3_600_000
            let statuses = ["success", "failed", "rejected", "success", "ineffective"]
            // 250 outcomes, one a second over ~4 minutes, alternating containers and statuses.
            for n in 0..<250 {
                let container = n % 2 == 0 ? "api" : "worker"
                let status = statuses[n % statuses.count]
                let message = DashboardHarness.envelope("remediation_complete", data: [
                    "container": container, "action": "restart", "incident_id": "inc-\(n)", "dry_run": false,
                    "analysis_method": n % 3 == 0 ? "llm" : "rules", "rule": "restart_on_exit",
                    "result": ["status": status, "reason": "attempt \(n)"],
                ], id: "msg-\(n)")
                try await h.publish("remediation_complete", message, atMs: base + Int64(n) * 1000)
            }
            _ = try await h.redis.send(["XADD", h.prefix + "audit", "*", "record",
                #"{"incident_id":"inc-7","request_id":"req-7","decision":"allowed","rule":"restart_on_exit","gate":{"breaker_state":"closed"}}"#])

            let all = try await h.get("/api/history?limit=200").json
            #expect(all["items"]?.arrayValue?.count == 200)
            #expect(all["items"]?.arrayValue?.first?["incident_id"]?.stringValue == "inc-249", "newest first")
            let rest = try await h.get("/api/history?limit=200&cursor=\(all["next_cursor"]?.stringValue ?? "")").json
            #expect(rest["items"]?.arrayValue?.count == 50)
            #expect(rest["next_cursor"] == .null)

            // Filters: container and status, pages continue without repeats.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let path = "/api/history?container=api&status=failed&limit=7" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await h.get(path).json
                for item in page["items"]?.arrayValue ?? [] {
                    #expect(item["container"]?.stringValue == "api" && item["status"]?.stringValue == "failed")
                    seen.append(item["incident_id"]?.stringValue ?? "")
                }
                cursor = page["next_cursor"]?.stringValue
            } while cursor != nil
            let expected = (0..<250).filter { $0 % 2 == 0 && $0 % 5 == 1 }.reversed().map { "inc-\($0)" }
            #expect(seen == expected)

            // Time range: entries 100...109.
            let ranged = try await h.get("/api/history?since=\(base + 100_000)&until=\(base + 109_000)").json
            #expect(ranged["items"]?.arrayValue?.compactMap { $0["incident_id"]?.stringValue } == (100...109).reversed().map { "inc-\($0)" })

            let item = try #require(ranged["items"]?.arrayValue?.first)
            #expect(item["rule"]?.stringValue == "restart_on_exit" && item["reason"]?.stringValue == "attempt 109")

            let audit = try await h.get("/api/audit?id=inc-7").json
            #expect(audit["items"]?.arrayValue?.count == 1)
            #expect(audit["items"]?.arrayValue?.first?["record"]?["decision"]?.stringValue == "allowed")
            #expect(try await h.get("/api/audit?id=inc-8").json["items"]?.arrayValue?.isEmpty == true)

            #expect(try await h.get("/api/history?cursor=nonsense").status == 400)
            #expect(try await h.get("/api/history?since=yesterday").status == 400)

            let overview = try await h.get("/api/overview").json
            #expect(overview["remediations_24h"] == .integer(250))
            #expect(overview["remediations_by_status_24h"]?["success"] == .integer(100))
            #expect(overview["success_rate_24h"] == .number(100.0 / 200.0))
        } catch {
            try await h.shutdown()
            throw error
        }
        try await h.shutdown()
    }

    /// In dry-run nothing was done: the incident stays open, saying what would have been done,
    /// while the container is still unhealthy, and closes once it is healthy again.
    @Test func aDryRunOutcomeKeepsTheIncidentOpenWhileTheContainerIsUnhealthy() async throws {
        let h = try await DashboardHarness()
        do {
            try await h.setStats("crashy", status: "exited")
            try await h.publish("health_alert", DashboardHarness.envelope("health_alert", data: [
                "container_name": "crashy", "status": "exited", "exit_code": 1, "incident_id": "inc-d",
                "anomalies": [["type": "non_zero_exit", "severity": "high", "value": 1, "threshold": 0]],
            ]))
            try await h.publish("remediation_complete", DashboardHarness.envelope("remediation_complete", data: [
                "container": "crashy", "action": "restart", "incident_id": "inc-d", "dry_run": true,
                "result": ["status": "skipped", "reason": "dry run: would restart (stop timeout 10 s)"],
            ]))
            let open = try await h.get("/api/incidents").json["items"]?.arrayValue ?? []
            #expect(open.count == 1)
            #expect(open.first?["incident_id"]?.stringValue == "inc-d" && open.first?["state"]?.stringValue == "dry-run")
            #expect(open.first?["doing"]?.stringValue == "would restart (stop timeout 10 s); dry-run, so nothing was changed")
            #expect(open.first?["problem"]?.stringValue == "crashy: exited, exit 1", "the exit code is not said twice")

            try await h.setStats("crashy")
            // Stats are re-read at most every half second.
            let closed = try await holds(within: .seconds(5)) {
                try await h.get("/api/incidents").json["items"]?.arrayValue?.isEmpty == true
            }
            #expect(closed)
        } catch {
            try await h.shutdown()
            throw error
        }
        try await h.shutdown()
    }

    @Test func incidentsTimelineRulesAndDeadLetters() async throws {
        let h = try await DashboardHarness(llmBudget: 30)
        do {
            try await h.setStats("cache", status: "running", health: "unhealthy", anomalies: [["type": "cpu_high", "severity": "high", "value": 97.5, "threshold": 80]])
            let alert = DashboardHarness.envelope("health_alert", data: [
                "container_name": "cache", "status": "running", "health_status": "unhealthy", "incident_id": "inc-a",
                "anomalies": [["type": "cpu_high", "severity": "high", "value": 97.5, "threshold": 80]],
            ], agent: "monitor")
            let decision = DashboardHarness.envelope("remediation_needed", data: [
                "container": "cache", "action": "restart", "reason": "cpu pinned", "confidence": 0.9,
                "rule": "cpu_runaway", "analysis_method": "rules", "dry_run": false, "incident_id": "inc-a",
            ], agent: "analyzer")
            try await h.publish("health_alert", DashboardHarness.envelope("health_alert", data: ["container_name": "cache", "status": "running", "incident_id": "inc-older"]))
            // A later timestamp for the newer alert of the same container.
            try await Task.sleep(for: .milliseconds(5))
            try await h.publish("health_alert", alert)
            try await h.publish("remediation_needed", decision)
            // A resolved incident does not show.
            try await h.publish("health_alert", DashboardHarness.envelope("health_alert", data: ["container_name": "old", "status": "exited", "incident_id": "inc-b"]))
            try await h.publish("false_alarm", DashboardHarness.envelope("false_alarm", data: ["container": "old", "reason": "planned", "incident_id": "inc-b"]))

            // A failed action on a container that is healthy again is not "wrong now"; an older
            // incident of a container is superseded by its newer one.
            try await h.setStats("healed")
            try await h.publish("remediation_complete", DashboardHarness.envelope("remediation_complete", data: [
                "container": "healed", "action": "restart", "incident_id": "inc-c", "result": ["status": "failed", "reason": "timeout"],
            ]))

            let incidents = try await h.get("/api/incidents").json["items"]?.arrayValue ?? []
            #expect(incidents.count == 1)
            let incident = try #require(incidents.first)
            #expect(incident["incident_id"]?.stringValue == "inc-a" && incident["state"]?.stringValue == "remediating")
            #expect(incident["rule"]?.stringValue == "cpu_runaway")
            #expect(incident["problem"]?.stringValue?.contains("cpu_high 97.5 > 80") == true)

            for n in 0..<5 {
                _ = try await h.redis.send(["LPUSH", h.prefix + "events:all", DashboardHarness.envelope("health_alert", data: ["container_name": "c\(n)", "status": "exited"])])
            }
            let timeline = try await h.get("/api/timeline?limit=2&offset=1").json
            #expect(timeline["total"] == .integer(5))
            #expect(timeline["items"]?.arrayValue?.map { $0["container"]?.stringValue } == ["c3", "c2"])

            #expect(try await h.get("/api/rules").json["available"] == .bool(false))
            _ = try await h.redis.send(["SET", h.prefix + "rules:status", #"{"last_reload":"2026-11-29T04:00:00Z","load_errors":[],"rules":[{"name":"cpu_runaway","fired":3,"errors":0}]}"#])
            let rules = try await h.get("/api/rules").json
            #expect(rules["status"]?["rules"]?.arrayValue?.first?["fired"] == .integer(3))

            _ = try await h.redis.send(["XADD", h.prefix + "dead_letter", "*", "channel", "health_alert", "stream_id", "1-0", "group", "analyzer", "reason", "max deliveries", "message", "{}"])
            let dead = try await h.get("/api/dead-letters").json["items"]?.arrayValue ?? []
            #expect(dead.first?["reason"]?.stringValue == "max deliveries")

            let hour = { () -> String in
                let f = DateFormatter()
                f.timeZone = TimeZone(identifier: "UTC")
                f.dateFormat = "yyyyMMddHH"
                return f.string(from: Date())
            }()
            _ = try await h.redis.send(["SET", h.prefix + "llm:budget:" + hour, "12"])
            let overview = try await h.get("/api/overview").json
            #expect(overview["llm_calls_this_hour"] == .integer(12))
            #expect(overview["llm_budget_left"] == .integer(18))
        } catch {
            try await h.shutdown()
            throw error
        }
        try await h.shutdown()
    }

    @Test func metricsHealthAndReadiness() async throws {
        let failing = try await DashboardHarness(readiness: { ["redis": .ok, "docker": .failed("docker: unreachable")] })
        do {
            let factory = PrometheusMetricsFactory(registry: failing.registry)
            // The scenario: 3 restarts succeeded, 1 failed, 2 gate rejections for cooldown, one breaker trip, a decision timed.
            let success = Counter(label: MetricNames.remediations, dimensions: [("action", "restart"), ("status", "success"), ("dry_run", "false")], factory: factory)
            let failed = Counter(label: MetricNames.remediations, dimensions: [("action", "restart"), ("status", "failed"), ("dry_run", "false")], factory: factory)
            for _ in 0..<3 { success.increment() }
            failed.increment()
            Counter(label: MetricNames.gateRejections, dimensions: [("reason", "cooldown")], factory: factory).increment(by: 2)
            Counter(label: MetricNames.breakerTrips, factory: factory).increment()
            Timer(label: MetricNames.analyzerDecisionSeconds, dimensions: [("method", "rules")], factory: factory).recordMilliseconds(12)

            let metrics = try await failing.get("/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            let parsed = try PrometheusText(metrics.body)
            #expect(parsed.value(MetricNames.remediations, ["status": "success", "action": "restart"]) == 3)
            #expect(parsed.value(MetricNames.remediations, ["status": "failed"]) == 1)
            #expect(parsed.value(MetricNames.gateRejections, ["reason": "cooldown"]) == 2)
            #expect(parsed.value(MetricNames.breakerTrips) == 1)
            #expect(parsed.value(MetricNames.analyzerDecisionSeconds + "_count", ["method": "rules"]) == 1)
            #expect(parsed.types[MetricNames.remediations] == "counter")

            #expect(try await failing.get("/healthz").status == 200)
            let notReady = try await failing.get("/readyz")
            #expect(notReady.status == 503)
            #expect(notReady.json["checks"]?["docker"]?.stringValue == "docker: unreachable")
        } catch {
            try await failing.shutdown()
            throw error
        }
        try await failing.shutdown()

        let ready = try await DashboardHarness()
        #expect(try await ready.get("/readyz").status == 200)
        try await ready.shutdown()
    }

    @Test func accessTokenGuardsEverythingButHealth() async throws {
        let token = "dashboard-token-0123456789"
        let h = try await DashboardHarness(token: token)
        do {
            #expect(try await h.get("/api/overview").status == 401)
            #expect(try await h.get("/metrics").status == 401)
            #expect(try await h.get("/").status == 401)
            #expect(try await h.get("/api/overview", headers: ["Authorization": "Bearer wrong-token-0123456789"]).status == 401)
            #expect(try await h.get("/api/overview", headers: ["Authorization": "Bearer \(token)"]).status == 200)
            #expect(try await h.get("/api/overview", headers: ["Cookie": "other=1; hemostat_dashboard_token=\(token)"]).status == 200)
            #expect(try await h.get("/healthz").status == 200)
            #expect(try await h.get("/readyz").status == 200)
            let page = try await h.get("/", headers: ["Authorization": "Bearer \(token)"])
            #expect(page.status == 200 && !page.body.contains(token), "the token is never rendered")
            #expect(page.headers["content-security-policy"]?.contains("script-src 'self'") == true)

            // ?token= on the page sets an HttpOnly cookie and redirects to a URL without it.
            let head = try await DashboardHarness.curl(["-s", "-o", "/dev/null", "-D", "-", h.baseURL + "/?token=\(token)"]).lowercased()
            #expect(head.hasPrefix("http/1.1 303"))
            #expect(head.contains("location: /\r\n"))
            #expect(head.contains("set-cookie: hemostat_dashboard_token=\(token); path=/; httponly; samesite=strict"))
        } catch {
            try await h.shutdown()
            throw error
        }
        try await h.shutdown()
    }

    @Test func liveFeedCarriesPublishedMessagesAndEndsOnGracefulShutdown() async throws {
        let h = try await DashboardHarness()
        do {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("sse-\(UUID().uuidString).txt")
            #expect(FileManager.default.createFile(atPath: output.path, contents: nil))
            defer { try? FileManager.default.removeItem(at: output) }
            let curl = try ChildProcess(command: ["curl", "-sN", "--max-time", "30", h.baseURL + "/api/events"], output: .file(output.path))
            defer {
                curl.send(SIGKILL)
                _ = curl.waitUntilExit()
            }

            func waitFor(_ text: String) async -> Bool {
                await holds { (try? String(contentsOf: output, encoding: .utf8))?.contains(text) == true }
            }
            #expect(await waitFor("event: hello"))
            #expect(await waitFor("event: tick"))
            try await h.publish("health_alert", DashboardHarness.envelope("health_alert", data: ["container_name": "<b>x</b>", "status": "exited", "incident_id": "live-1"]))
            #expect(await waitFor("live-1"))
            let text = try String(contentsOf: output, encoding: .utf8)
            #expect(!text.contains("<b>"), "markup is escaped in the feed")
            // A page is still connected: graceful shutdown ends its stream and the service returns.
            #expect(try await h.stopGracefully(), "the service returned on graceful shutdown with a page open")
            #expect(await holds { !curl.isRunning }, "the event stream ended")
        } catch {
            try await h.shutdown()
            throw error
        }
        try await h.shutdown()
    }
}
