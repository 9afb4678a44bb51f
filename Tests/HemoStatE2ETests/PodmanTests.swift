import Foundation
import HemoStatTestSupport
import Testing

/// The podman API service of the test environment, when it runs.
private let podmanHost = ProcessInfo.processInfo.environment["HEMOSTAT_TEST_PODMAN_HOST"].flatMap { $0.isEmpty ? nil : $0 }

/// `hemostat run` against Podman's Docker-compatible API (docs/operations.md, "Podman").
@Suite("End to end: Podman", .serialized, .enabled(if: TestEnvironment.integration && podmanHost != nil))
struct PodmanTests {
    @Test("a crashed container is restarted once through Podman's API")
    func crashIsHealed() async throws {
        let host: String = try #require(podmanHost)
        let stack = try await E2EStack(label: "e2e-podman")
        let podman = try FaultContainers(prefix: stack.prefix + "-pm", dockerHost: host)
        do {
            try stack.start("run", ["run", "--no-dashboard"], environment: ["DOCKER_HOST": host])
            try await stack.waitForAgents(["monitor", "analyzer", "responder", "alert"])
            let name = "\(stack.prefix)-pm-once"
            let script = "if [ -e /tmp/crashed ]; then exec sleep 3600; fi; touch /tmp/crashed; sleep 2; exit 3"
            try await podman.docker(["run", "-d", "--name", name, "--network", "none", "--label", "hemostat.test=1", try TestEnvironment.image(), "sh", "-c", script])
            let results = try await stack.waitForMessages("remediation_complete", container: name, timeout: .seconds(120), "the restart's result") {
                !$0.isEmpty
            }
            #expect(results.map(\.resultStatus) == ["success"], "\(results.map(\.data))")
            let alerts = try await stack.messages("health_alert", container: name)
            #expect(alerts.first?["status"] as? String == "exited")
            #expect(try await podman.docker(["inspect", "-f", "{{.State.Running}}", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await podman.removeAll()
        await stack.cleanup()
    }
}
