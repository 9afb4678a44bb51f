import Foundation
import HemoStatTestSupport
import Testing

/// Two Docker hosts (two private engines) and one Redis, a monitor and a responder per host and
/// one analyzer, alert agent and dashboard, each a process of its own. A container of the same
/// name runs on both hosts.
@Suite("End to end: two Docker hosts", .serialized, .enabled(if: TestEnvironment.integration))
struct MultiHostTests {
    @Test("only the crashed copy of a same-named container is restarted, and a host without a responder is escalated")
    func sameNamedContainersOnTwoHosts() async throws {
        let stack = try await E2EStack(label: "e2e-hosts")
        let engineB = try FaultContainers(prefix: stack.prefix, dockerHost: try TestEnvironment.secondDockerHost())
        let hostA = stack.hostID
        let hostB = stack.prefix + "-b"
        let name = stack.prefix + "-web"
        // A request that waits 5 s for a host without a responder is escalated.
        let common = ["HEMOSTAT_RESPONDER_NO_RESPONDER_AFTER": "5s"]
        let hostBEnvironment = common.merging(["HEMOSTAT_HOST_ID": hostB, "DOCKER_HOST": engineB.dockerHost]) { $1 }
        let dashboardPort = try RedisServerProcess.freePort()
        do {
            for agent in ["monitor", "responder"] {
                try stack.start("\(agent)-a", [agent], environment: common)
                try stack.start("\(agent)-b", [agent], environment: hostBEnvironment)
            }
            try stack.start("analyzer", ["analyzer"], environment: common)
            try stack.start("alert", ["alert"])
            try stack.start("dashboard", ["dashboard"], environment: ["HEMOSTAT_DASHBOARD_PORT": String(dashboardPort)])
            try await stack.waitForAgents(["monitor", "responder", "analyzer", "alert"])
            try await waitForHeartbeats(stack, ["monitor", "responder"], host: hostB)
            let startedAt = Date()

            // The same name on both hosts; only B's copy crashes (once: it stays up once restarted).
            try await stack.faults.docker(["run", "-d", "--name", name, "--network", "none", "--label", "hemostat.test=1",
                                           stack.faults.image, "sh", "-c", "exec sleep 3600"])
            try await engineB.docker(["run", "-d", "--name", name, "--network", "none", "--label", "hemostat.test=1",
                                      engineB.image, "sh", "-c",
                                      "if [ -e /tmp/crashed ]; then exec sleep 3600; fi; touch /tmp/crashed; sleep 2; exit 3"])

            let results = { try await stack.messages("remediation_complete").filter { $0.container == name } }
            let fixed = await holds(within: .seconds(120)) {
                ((try? await results()) ?? []).contains { $0.resultStatus == "success" }
            }
            #expect(fixed, "B's copy was restarted and verified\n\(stack.diagnostics())")
            let completed = try await results()
            #expect(completed.count == 1, "\(completed.map(\.data))")
            #expect(completed.first?["host"] as? String == hostB)
            #expect(try await restarts(engineB, name, since: startedAt) == 1, "B's copy restarted once")
            #expect(try await mutationsOnA(stack, name, since: startedAt).isEmpty, "A's copy is never touched")
            #expect(try await engineB.docker(["inspect", "-f", "{{.State.Running}}", name]).stdout.hasPrefix("true"))

            // Both rows in the dashboard, each with its host (once each monitor has sampled its copy).
            var grid = ""
            let bothRows = await holds(within: .seconds(60)) {
                grid = (try? await TestProcess.check(["curl", "-sf", "http://127.0.0.1:\(dashboardPort)/api/containers?q=\(name)"]).stdout) ?? ""
                let items = ((try? JSONSerialization.jsonObject(with: Data(grid.utf8)) as? [String: Any])?["items"] as? [[String: Any]]) ?? []
                return Set(items.compactMap { $0["host"] as? String }) == [hostA, hostB]
            }
            #expect(bothRows, "\(grid)")
            let onlyB = try await TestProcess.check(["curl", "-sf", "http://127.0.0.1:\(dashboardPort)/api/containers?host=\(hostB)"]).stdout
            #expect(onlyB.contains(hostB) && !onlyB.contains("\"\(hostA)\""), "\(onlyB)")

            // A hold on A's copy leaves B's free; a bare name that two hosts have is refused.
            let hold = try await stack.cli(["hold", "\(hostA)/\(name)", "--for", "1h", "--reason", "test"])
            #expect(hold.succeeded, "\(hold.stderr)")
            let ambiguous = try await stack.cli(["hold", name, "--for", "1h"])
            #expect(!ambiguous.succeeded && ambiguous.stderr.contains("runs on several hosts"), "\(ambiguous.stderr)")
            let status = try await stack.cli(["status", "--json"])
            let rows = ((try JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [[String: Any]] ?? []).filter { $0["container"] as? String == name }
            #expect(rows.count == 2, "\(status.stdout)")
            #expect(rows.first { $0["host"] as? String == hostA }?["held_by"] is String)
            #expect(rows.first { $0["host"] as? String == hostB }?["held_by"] is NSNull)

            // Host B's only responder is killed; a request for B waits, is escalated once, and
            // is carried out once a responder of B is back.
            let responderB = try #require(stack.allProcesses.first { $0.name == "responder-b" })
            await responderB.kill()
            let gone = await holds(within: .seconds(60)) {
                (try? await stack.redis.send(["EXISTS", "\(stack.keyPrefix)agents:responder:\(hostB)"]))?.integer == 0
            }
            #expect(gone, "the killed responder's heartbeat expired")
            // As a script writes it: the contract's fields, the host named.
            let now = ISO8601DateFormatter().string(from: Date())
            let request = #"{"event_type":"remediation_needed","timestamp":"\#(now)","agent":"ops-script","host":"\#(hostB)","id":"manual-\#(stack.prefix)","data":{"host":"\#(hostB)","container":"\#(name)","action":"restart","reason":"restarted by hand","confidence":1,"rule":"manual","analysis_method":"rules","dry_run":false}}"#
            _ = try await stack.redis.send(["XADD", stack.keyPrefix + "remediation_needed", "*", "message", request])
            let escalated = await holds(within: .seconds(60)) {
                ((try? await stack.messages("escalation")) ?? []).contains { ($0["reason"] as? String)?.contains("no responder for host \(hostB)") == true }
            }
            #expect(escalated, "no responder for host B\n\(stack.diagnostics())")
            try stack.start("responder-b", ["responder"], environment: hostBEnvironment)
            let started = await holds(within: .seconds(60)) {
                ((try? await results()) ?? []).contains { $0["request_id"] as? String == "manual-\(stack.prefix)" }
            }
            #expect(started, "the waiting request was carried out\n\(stack.diagnostics())")
            let manual = try await results().filter { $0["request_id"] as? String == "manual-\(stack.prefix)" }
            #expect(manual.map { $0.resultStatus } == ["success"], "\(manual.map(\.data))")
            let escalations = try await stack.messages("escalation").filter { ($0["reason"] as? String)?.contains("no responder") == true }
            #expect(escalations.count == 1)
            #expect(try await restarts(engineB, name, since: startedAt) == 2, "B's copy: the crash's restart and the one asked by hand")
            #expect(try await mutationsOnA(stack, name, since: startedAt).isEmpty, "A's copy is still untouched")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await engineB.removeAll()
        _ = try? await engineB.docker(["rm", "-f", name])
        await stack.cleanup()
    }

    private func waitForHeartbeats(_ stack: E2EStack, _ agents: [String], host: String) async throws {
        let up = try await holds(within: .seconds(60)) {
            for agent in agents where try await stack.redis.send(["EXISTS", "\(stack.keyPrefix)agents:\(agent):\(host)"]).integer != 1 {
                return false
            }
            return true
        }
        if !up { throw TestEnvironmentError(message: "agents of \(host) did not report a heartbeat") }
    }

    /// A's copy's mutating events, from the stack's live record of the shared engine.
    private func mutationsOnA(_ stack: E2EStack, _ name: String, since: Date) async throws -> [String] {
        try await stack.engineEvents(name, since: since).map(\.action).filter { ["restart", "stop", "kill", "pause", "unpause", "update"].contains($0) }
    }

    /// The second engine's mutating events for `name` since `since` (its own record: no other
    /// test uses that engine).
    private func mutations(_ engine: FaultContainers, _ name: String, since: Date) async throws -> [String] {
        let output = try await engine.docker([
            "events", "--since", String(format: "%.3f", since.timeIntervalSince1970), "--until", String(format: "%.3f", Date().timeIntervalSince1970),
            "--filter", "type=container", "--filter", "container=\(name)", "--format", "{{.Action}}",
        ])
        return output.stdout.split(separator: "\n").map(String.init).filter { ["restart", "stop", "kill", "pause", "unpause", "update"].contains($0) }
    }

    private func restarts(_ engine: FaultContainers, _ name: String, since: Date) async throws -> Int {
        try await mutations(engine, name, since: since).filter { $0 == "restart" }.count
    }
}
