import Foundation
import HemoStatTestSupport
import Testing

/// The deployment files under `deploy/`, checked with the tools operators use on them.
@Suite("Deployment files", .enabled(if: TestEnvironment.integration))
struct DeployTests {
    static let deploy = HemoStatBinary.packageRoot + "/deploy"

    /// `systemd-analyze verify` on both units (their `ExecStart` pointed at the built binary, as
    /// verify checks it exists), and the exposure rating of `systemd-analyze security`.
    @Test func systemdUnitsVerify() async throws {
        let directory = try TestProcess.temporaryDirectory("systemd")
        let binary = try HemoStatBinary.path()
        for (unit, instance) in [("hemostat.service", "hemostat.service"), ("hemostat@.service", "hemostat@monitor.service")] {
            let text = try String(contentsOfFile: "\(Self.deploy)/systemd/\(unit)", encoding: .utf8)
            #expect(text.contains("ExecStart=/usr/local/bin/hemostat"))
            let path = "\(directory)/\(instance)"
            try text.replacingOccurrences(of: "/usr/local/bin/hemostat", with: binary).write(toFile: path, atomically: true, encoding: .utf8)
            let verify = try await TestProcess.run(["systemd-analyze", "verify", path], currentDirectory: directory)
            #expect(verify.succeeded && verify.stderr.isEmpty, "\(unit): \(verify.stdout)\(verify.stderr)")
            let security = try await TestProcess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", path], currentDirectory: directory)
            let level = security.stdout.split(separator: "\n").last { $0.contains("Overall exposure level") }
            let score = level.flatMap { line in line.split(separator: " ").compactMap { Double($0) }.first }
            #expect(score.map { $0 <= 2.5 } == true, "\(unit): \(level ?? "no rating") \(security.stderr)")
        }
    }

    /// The Kubernetes manifests against the API's schemas (`kubernetes-validate --strict`,
    /// offline), and what they must say: the node agents named after their node, the socket
    /// read-write only for the responder, the dashboard's Service announcing /metrics.
    @Test func kubernetesManifestsValidate() async throws {
        let directory = Self.deploy + "/kubernetes"
        let files = ["namespace.yaml", "configuration.yaml", "node-agents.yaml", "cluster-agents.yaml"]
        let validate = try await TestProcess.run(
            ["python3", "-m", "kubernetes_validate", "--strict"] + files, currentDirectory: directory)
        #expect(validate.succeeded, "\(validate.stdout)\(validate.stderr)")
        #expect(validate.stdout.components(separatedBy: " passed for resource ").count - 1 == 7, "\(validate.stdout)")
        let node = try String(contentsOfFile: directory + "/node-agents.yaml", encoding: .utf8)
        #expect(node.contains("fieldPath: spec.nodeName"))
        #expect(node.contains("{name: docker-socket, mountPath: /var/run/docker.sock, readOnly: true}"), "the monitor's socket is read-only")
        #expect(node.contains("{name: docker-socket, mountPath: /var/run/docker.sock}"), "the responder's is not")
        let cluster = try String(contentsOfFile: directory + "/cluster-agents.yaml", encoding: .utf8)
        #expect(cluster.contains("prometheus.io/path: /metrics"))
        #expect(!cluster.contains("docker.sock"), "the cluster-wide agents have no socket")
        let kustomization = try String(contentsOfFile: directory + "/kustomization.yaml", encoding: .utf8)
        for file in files { #expect(kustomization.contains("- \(file)")) }
    }

    /// An agent run as a process of its own serves `/metrics` and `/healthz` on
    /// `dashboard.metrics_port`.
    @Test func separateAgentsServeMetrics() async throws {
        let stack = try await E2EStack(label: "e2e-metrics")
        do {
            let monitorPort = try RedisServerProcess.freePort()
            let responderPort = try RedisServerProcess.freePort()
            try stack.start("monitor", ["monitor"], environment: ["HEMOSTAT_METRICS_PORT": String(monitorPort)])
            try stack.start("responder", ["responder"], environment: ["HEMOSTAT_METRICS_PORT": String(responderPort)])
            try await stack.waitForAgents(["monitor", "responder"])
            var text = ""
            let cycled = await holds {
                text = (try? await TestProcess.run(["curl", "-sf", "http://127.0.0.1:\(monitorPort)/metrics"]))?.stdout ?? ""
                return text.contains("hemostat_monitor_cycle_seconds_count")
            }
            #expect(cycled, "the monitor's /metrics: \(text.prefix(2000))\n\(stack.diagnostics())")
            // The metrics server starts beside the agent, not before it: its heartbeat may come first.
            var health: ProcessOutput?
            let healthy = await holds {
                health = try? await TestProcess.run(["curl", "-sf", "http://127.0.0.1:\(responderPort)/healthz"])
                return health?.succeeded == true
            }
            #expect(healthy && health?.stdout.contains("ok") == true, "\(String(describing: health))\n\(stack.diagnostics())")
            let responder = try await TestProcess.run(["curl", "-sf", "http://127.0.0.1:\(responderPort)/metrics"])
            #expect(responder.succeeded, "\(responder.stderr)")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    /// `promtool check rules` and `promtool test rules` on the alerting rules.
    @Test func prometheusRulesCheckAndPass() async throws {
        let directory = Self.deploy + "/prometheus"
        let check = try await TestProcess.run(["promtool", "check", "rules", "hemostat-alerts.yml"], currentDirectory: directory)
        #expect(check.succeeded, "\(check.stdout)\(check.stderr)")
        let test = try await TestProcess.run(["promtool", "test", "rules", "hemostat-alerts.test.yml"], currentDirectory: directory)
        #expect(test.succeeded, "\(test.stdout)\(test.stderr)")
    }

    /// Every series the alerting rules and the Grafana dashboard query is one the binary
    /// exports: read from the `/metrics` of a `hemostat run` that handled a crash (alert,
    /// restart, notification) and asked an LLM (that did not answer) about an ambiguous alert.
    /// Two need events this run does not make (an engine error, a gate refusal); they are
    /// checked against the names the code declares.
    @Test func dashboardsAndAlertsQuerySeriesTheBinaryExports() async throws {
        let stack = try await E2EStack(label: "e2e-series")
        do {
            let port = try RedisServerProcess.freePort()
            let closed = try RedisServerProcess.freePort()
            try await stack.startPipeline(.oneProcess, runArguments: [], environment: [
                "HEMOSTAT_DASHBOARD_PORT": String(port),
                "HEMOSTAT_LLM_PROVIDER": "openai_compatible", "HEMOSTAT_LLM_BASE_URL": "http://127.0.0.1:\(closed)/v1",
                "HEMOSTAT_LLM_API_KEY": "test-key", "HEMOSTAT_LLM_MODEL": "test-model",
            ])
            let container = try await stack.startCrashOnce()
            _ = try await stack.waitForMessages("remediation_complete", container: container.name, "the restart's result") { !$0.isEmpty }
            let now = ISO8601DateFormatter().string(from: Date())
            let alert = #"{"event_type":"health_alert","timestamp":"\#(now)","agent":"monitor","host":"\#(stack.hostID)","id":"series-1","data":{"container_id":"c0ffee","container_name":"\#(stack.prefix)-api","image":"busybox","status":"running","health_status":"none","exit_code":0,"oom_killed":false,"restart_count":0,"metrics":{"cpu_percent":97,"memory_percent":10,"memory_usage":1000,"memory_limit":10000,"network_rx_bytes":0,"network_tx_bytes":0,"blkio_read_bytes":0,"blkio_write_bytes":0},"anomalies":[{"type":"high_cpu","severity":"warning","value":97,"threshold":85}],"source":"poll"}}"#
            _ = try await stack.redis.send(["XADD", stack.keyPrefix + "health_alert", "*", "message", alert])
            var exported: Set<String> = []
            let found = await holds {
                let text = (try? await TestProcess.run(["curl", "-sf", "http://127.0.0.1:\(port)/metrics"]))?.stdout ?? ""
                exported = Set(text.split(separator: "\n").compactMap { line -> String? in
                    guard line.hasPrefix("hemostat_") else { return nil }
                    return String(line.prefix { $0 != "{" && $0 != " " })
                })
                return exported.contains("hemostat_llm_calls_total") && exported.contains("hemostat_notifications_total")
            }
            #expect(found, "\(exported.sorted())\n\(stack.diagnostics())")

            let queried = try Self.queriedSeries()
            let declared = try Self.declaredNames()
            let needOtherEvents: Set<String> = ["hemostat_docker_errors_total", "hemostat_gate_rejections_total"]
            #expect(queried.count >= 15, "\(queried.sorted())")
            for name in queried.sorted() {
                let families = [name, name + "_sum", name + "_count", name + "_bucket"]
                if needOtherEvents.contains(name) {
                    #expect(declared.contains(name), "\(name) is not a metric HemoStat declares")
                } else {
                    #expect(families.contains { exported.contains($0) }, "\(name) is queried but not exported: \(exported.sorted())")
                }
            }
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    /// The `hemostat_*` series named in the alerting rules and the Grafana dashboard.
    static func queriedSeries() throws -> Set<String> {
        var names: Set<String> = []
        for file in ["prometheus/hemostat-alerts.yml", "grafana/hemostat-dashboard.json"] {
            let text = try String(contentsOfFile: "\(deploy)/\(file)", encoding: .utf8)
            let pattern = try NSRegularExpression(pattern: "hemostat_[a-z_]+")
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                var name = String(text[Range(match.range, in: text)!])
                for suffix in ["_sum", "_count", "_bucket"] where name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
                names.insert(name)
            }
        }
        names.remove("hemostat_dashboard_token")
        return names
    }

    /// The metric names in `MetricNames`.
    static func declaredNames() throws -> Set<String> {
        let text = try String(contentsOfFile: HemoStatBinary.packageRoot + "/Sources/HemoStatModel/MetricNames.swift", encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: "\"(hemostat_[a-z_]+)\"")
        return Set(pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range(at: 1), in: text)!]) })
    }
}
