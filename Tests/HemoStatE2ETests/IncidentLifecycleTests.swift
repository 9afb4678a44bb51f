import Foundation
import HemoStatTestSupport
import Testing

/// Incidents decided as their evidence arrives, through `hemostat run` against the real engine.
@Suite("End to end: incidents decided as evidence arrives", .serialized, .enabled(if: TestEnvironment.integration))
struct IncidentLifecycleTests {
    @Test("sustained CPU: not yet at the first alert, acted on once the load has lasted the rule's window")
    func sustainedCPUIsActedOnOnceItLasts() async throws {
        let stack = try await E2EStack(label: "e2e-cpu")
        do {
            try await stack.startPipeline(.oneProcess, environment: [
                // A low threshold: on a loaded 2-core machine one sample of the hog may read far
                // below 100 %, and a sample under the threshold ends the incident.
                "THRESHOLD_CPU_PERCENT": "10",
                "HEMOSTAT_MONITOR_SUSTAINED_SAMPLES": "2",
                // The rule's window: 8 s of samples at or above 10 %, at least 3 of them.
                "HEMOSTAT_ANALYZER_RULE_THRESHOLDS": "cpu_percent=10,sustained_seconds=8,sustained_samples=3",
            ])
            let hog = try await stack.faults.start(.cpuHog)
            let requests = try await stack.waitForMessages("remediation_needed", container: hog.name, timeout: .seconds(120), "a restart") {
                !$0.isEmpty
            }
            let alerts = try await stack.messages("health_alert", container: hog.name)
            let first = try #require(alerts.first?.incidentID)
            let incident = try #require(requests.first?.incidentID)
            #expect(requests.first?["action"] as? String == "restart")
            #expect(requests.first?["rule"] as? String == "cpu-sustained")
            if incident != first {
                // A starved sample of the hog (a loaded 2-core machine) under the threshold ends
                // an incident: then only, the restart is decided in a later one.
                let recovered = try await stack.messages("container_recovered", container: hog.name).map(\.incidentID)
                #expect(recovered.contains(first), "decided within the first incident, which the monitor did not end: \(alerts.map(\.data))")
            }
            // The first alert was not decided at once: told "not yet" once, not at every evaluation.
            let answers = try await stack.messages("false_alarm", container: hog.name).filter { $0.incidentID == first }
            let notYet = answers.filter { ($0["reason"] as? String)?.contains("evaluated again") == true }
            #expect(notYet.count == 1, "\(answers.map(\.data))")
            #expect(answers.first.map { ($0["reason"] as? String)?.contains("evaluated again") == true } == true, "\(answers.map(\.data))")
            // When a starved sample ended the first incident, the evaluation on that sample may
            // have found the load gone, and said so once: a spike.
            #expect(answers.count <= (incident == first ? 1 : 2), "\(answers.map(\.data))")
            if answers.count == 2 {
                #expect((answers[1]["reason"] as? String)?.hasPrefix("CPU spike") == true, "\(answers.map(\.data))")
            }
            // Every evaluation is in the audit: the deciding incident's ended in one decision.
            let audit = try await stack.redis.xrange(stack.keyPrefix + "audit").compactMap { $0[field: "record"] }
                .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
                .filter { $0["kind"] as? String == "evaluation" }
            func statuses(_ id: String) -> [String] {
                audit.filter { $0["incident_id"] as? String == id }.map { ($0["result"] as? [String: Any])?["status"] as? String ?? "" }
            }
            #expect(statuses(first).first == "not_yet", "\(audit)")
            #expect(statuses(incident).filter { $0 == "decided" }.count == 1, "\(audit)")
            let restarted = await holds(within: .seconds(60)) {
                ((try? await stack.engineEvents(hog.name, since: stack.startedAt)) ?? []).contains { $0.action == "restart" }
            }
            #expect(restarted, "the container was restarted\n\(stack.diagnostics())")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    @Test("a container that dies after every start (restart policy no): retried with backoff, at most 3 restarts, one escalation")
    func crashLoopWithoutARestartPolicy() async throws {
        let stack = try await E2EStack(label: "e2e-noloop")
        do {
            try await stack.startPipeline(.oneProcess, environment: [
                // The shipped cooldown and budget; shorter backoffs than the shipped 30 s, 2 min.
                "RESPONDER_COOLDOWN_SECONDS": "1h",
                "RESPONDER_MAX_RETRIES_PER_HOUR": "3",
                "HEMOSTAT_RESPONDER_RETRY_BACKOFF": "2s,4s",
            ])
            let started = Date()
            let container = try await stack.faults.start(.crash(exitCode: 1, after: 1))
            let escalations = try await stack.waitForMessages("escalation", container: container.name, timeout: .seconds(120), "an escalation") {
                !$0.isEmpty
            }
            let escalatedAt = Date()
            #expect(escalatedAt.timeIntervalSince(started) < 300, "escalated within 5 minutes")
            // Nothing more: no restart after the escalation, no second escalation.
            try await Task.sleep(for: .seconds(10))
            let events = try await stack.engineEvents(container.name, since: stack.startedAt)
            let restarts = events.filter { $0.action == "restart" }
            #expect((1...3).contains(restarts.count), "\(events)")
            let later = try await stack.engineEvents(container.name, since: escalatedAt.addingTimeInterval(1))
            #expect(!later.contains { $0.action == "restart" || $0.action == "start" }, "acted on after the escalation: \(later)")
            let all = try await stack.messages("escalation", container: container.name)
            #expect(all.count == 1, "\(all.map(\.data))")
            #expect(escalations.first?["severity"] as? String == "critical")
            // Not silent: `hemostat status` says what HemoStat waits for.
            let status = try await stack.cli(["status", "--json"])
            let rows = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [[String: Any]] ?? []
            let waiting = rows.first { $0["container"] as? String == container.name }?["waiting"] as? String
            #expect(waiting?.contains("waiting for a person") == true, "\(status.stdout) \(status.stderr)")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    @Test("a fault back within the cooldown after a successful restart is escalated once, and not acted on")
    func relapseWithinTheCooldown() async throws {
        let stack = try await E2EStack(label: "e2e-relapse")
        do {
            try await stack.startPipeline(.oneProcess, environment: [
                "RESPONDER_COOLDOWN_SECONDS": "1h",
                "HEMOSTAT_RESPONDER_VERIFICATION_WINDOW": "2s",
            ])
            // Dies 6 s after every start: the restart is verified (2 s) before it dies again.
            let container = try await stack.faults.start(.crash(exitCode: 1, after: 6))
            let results = try await stack.waitForMessages("remediation_complete", container: container.name, timeout: .seconds(120), "a restart") {
                $0.contains { ($0["result"] as? [String: Any])?["status"] as? String == "success" }
            }
            #expect(results.count == 1, "\(results.map(\.data))")
            let escalations = try await stack.waitForMessages("escalation", container: container.name, timeout: .seconds(120), "the relapse escalated") {
                !$0.isEmpty
            }
            let reason = escalations.first?["reason"] as? String ?? ""
            #expect(reason.contains("came back within the cooldown") && reason.contains("may act again at"), "\(reason)")
            // Nothing more: the restart was the only one, and the relapse was told once.
            try await Task.sleep(for: .seconds(10))
            let restarts = try await stack.engineEvents(container.name, since: stack.startedAt).filter { $0.action == "restart" }
            #expect(restarts.count == 1, "\(restarts)")
            #expect(try await stack.messages("escalation", container: container.name).count == 1)
            let status = try await stack.cli(["status", "--json"])
            let rows = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [[String: Any]] ?? []
            let waiting = rows.first { $0["container"] as? String == container.name }?["waiting"] as? String
            #expect(waiting?.contains("waiting for") == true, "\(status.stdout) \(status.stderr)")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }
}
