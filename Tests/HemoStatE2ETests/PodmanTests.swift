import Foundation
import HemoStatTestSupport
import Testing

/// The podman API service of the test environment, when it runs.
private let podmanHost = ProcessInfo.processInfo.environment["HEMOSTAT_TEST_PODMAN_HOST"].flatMap { $0.isEmpty ? nil : $0 }

/// `hemostat run` against Podman's Docker-compatible API (docs/operations.md, "Podman"): a crash
/// and a failing health check are each healed by one restart; an operator's `docker stop` is
/// left alone, and so is an OOM kill, which Podman 4.3 reports as nothing but exit code 137, the
/// code of a `docker kill`. One HemoStat serves the four containers at once.
@Suite("End to end: Podman", .serialized, .enabled(if: TestEnvironment.integration && podmanHost != nil))
struct PodmanTests {
    @Test("a crash and an unhealthy container are healed once; an operator stop and an OOM kill are left alone")
    func faultsThroughPodman() async throws {
        let host: String = try #require(podmanHost)
        let stack = try await E2EStack(label: "e2e-podman")
        let podman = try FaultContainers(prefix: stack.prefix + "-pm", dockerHost: host)
        let healthChecks = Task { await Self.runHealthChecks(on: host, of: podman) }
        do {
            // The health checks run from this test, a round a second at best: on a loaded machine a
            // round takes seconds, so the restarted container gets a longer window to report healthy.
            try stack.start("run", ["run", "--no-dashboard"], environment: ["DOCKER_HOST": host, "HEMOSTAT_RESPONDER_VERIFICATION_WINDOW": "12s"])
            try await stack.waitForAgents(["monitor", "analyzer", "responder", "alert"])

            // Each fails on its first run only, so one restart heals it.
            let crash = try await podman.start(.script("if [ -e /tmp/crashed ]; then exec sleep 3600; fi; touch /tmp/crashed; sleep 2; exit 3"))
            let oom = try await podman.start(
                .script("if [ -e /tmp/oom ]; then exec sleep 3600; fi; touch /tmp/oom; sleep 2; x=aaaaaaaaaaaaaaaa; while true; do x=\"$x$x\"; done"),
                arguments: ["-m", "16m", "--memory-swap", "16m"])
            let sick = try await podman.start(
                .script("if [ -e /bad ]; then touch /restarted; else touch /bad; fi; exec sleep 3600"),
                arguments: ["--health-cmd", "test ! -e /bad || test -e /restarted", "--health-interval", "1s", "--health-retries", "1"])
            let stopped = try await podman.start(.healthy)

            for (container, what) in [(crash, "the crash"), (sick, "the failing health check")] {
                let results = try await stack.waitForMessages("remediation_complete", container: container.name, timeout: .seconds(120), "the restart after \(what)") {
                    !$0.isEmpty
                }
                #expect(results.map(\.resultStatus) == ["success"], "\(what): \(results.map(\.data))")
                #expect(try await podman.docker(["inspect", "-f", "{{.State.Running}}", container.name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true", "\(what)")
            }
            let crashAlerts = try await stack.messages("health_alert", container: crash.name)
            #expect(crashAlerts.first?["status"] as? String == "exited")
            #expect(crashAlerts.first?["stopped_by_operator"] as? Bool == false, "a crash's own exit code: \(crashAlerts.map(\.data))")
            let sickAlerts = try await stack.messages("health_alert", container: sick.name)
            #expect(sickAlerts.first?["health_status"] as? String == "unhealthy", "\(sickAlerts.map(\.data))")

            // Podman 4.3 reports neither an `oom` event nor OOMKilled: exit code 137 with no stop
            // or kill is what a `docker kill` whose event Podman left out looks like too.
            let oomResults = try await stack.waitForMessages("remediation_complete", container: oom.name, timeout: .seconds(60), "the responder's answer about the OOM kill") {
                !$0.isEmpty
            }
            #expect(oomResults.map(\.resultStatus) == ["skipped"], "\(oomResults.map(\.data))")
            #expect((oomResults.first?["result"] as? [String: Any])?["reason"].map { "\($0)".hasPrefix("stopped_by_operator") } == true, "\(oomResults.map(\.data))")
            let oomAlerts = try await stack.messages("health_alert", container: oom.name)
            #expect(oomAlerts.first?["exit_code"] as? Int == 137, "\(oomAlerts.map(\.data))")
            #expect(oomAlerts.first?["stopped_by_operator"] == nil, "how it went down is not known: \(oomAlerts.map(\.data))")

            // An operator's stop: Podman's own event stream says `stop` before `died`, when it
            // says it at all.
            let watched = await holds(within: .seconds(30)) {
                (try? await stack.redis.send(["EXISTS", "\(stack.keyPrefix)stats:\(stack.hostID)/\(stopped.name)"]))?.integer == 1
            }
            #expect(watched, "the monitor sampled the container")
            try await podman.docker(["stop", "-t", "1", stopped.name])
            let seen = await holds(within: .seconds(30)) {
                guard let value = try? await stack.redis.send(["GET", "\(stack.keyPrefix)stats:\(stack.hostID)/\(stopped.name)"]), let text = value.string else { return false }
                return text.contains("\"exited\"")
            }
            #expect(seen, "the monitor saw the container exit")
            // Several poll cycles (1 s) for anything to act.
            let restarted = await holds(within: .seconds(10)) {
                (try? await podman.docker(["inspect", "-f", "{{.State.Running}}", stopped.name]).stdout.hasPrefix("true")) ?? false
            }
            #expect(!restarted, "an operator's stop was undone")
            #expect(try await stack.messages("remediation_complete", container: stopped.name).filter { $0.resultStatus == "success" }.isEmpty)
            for alert in try await stack.messages("health_alert", container: stopped.name) where alert["status"] as? String == "exited" {
                #expect(alert["stopped_by_operator"] as? Bool != false, "\(alert.data)")
            }
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        healthChecks.cancel()
        await podman.removeAll()
        await stack.cleanup()
    }

    /// Runs the health checks of `containers`' running containers once a second until cancelled, as
    /// the systemd timers that Podman sets up would (`GET /libpod/containers/{name}/healthcheck`,
    /// what `podman healthcheck run` does); without systemd as init nothing else runs them.
    private static func runHealthChecks(on host: String, of containers: FaultContainers) async {
        let socket = String(host.dropFirst("unix://".count))
        while !Task.isCancelled {
            let names = (try? await containers.docker(["ps", "--filter", "name=\(containers.prefix)-", "--format", "{{.Names}}"]))?
                .stdout.split(separator: "\n").map(String.init) ?? []
            await withTaskGroup(of: Void.self) { group in
                for name in names {
                    group.addTask {
                        _ = try? await TestProcess.run(["curl", "-s", "--max-time", "5", "--unix-socket", socket, "http://localhost/v1.41/libpod/containers/\(name)/healthcheck"])
                    }
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
