import Foundation
import HemoStatTestSupport
import Testing

/// The whole pipeline through the built binary: real Redis, real Docker, a local Slack-style
/// receiver. Serialized: each case runs one to four hemostat processes and the machine is small.
@Suite("End to end", .serialized, .enabled(if: TestEnvironment.integration))
struct PipelineTests {
    /// A crash is restarted once, verified, and Slack receives exactly one message about it.
    @Test("a crash is restarted and Slack gets one correct message", arguments: Deployment.allCases)
    func crashIsRestarted(_ deployment: Deployment) async throws {
        let stack = try await E2EStack(label: "e2e-crash")
        do {
            var runArguments = ["--no-dashboard"]
            var extra: [String: String] = [:]
            let dashboardPort = try RedisServerProcess.freePort()
            if deployment == .oneProcess {
                runArguments = []
                extra["HEMOSTAT_DASHBOARD_PORT"] = String(dashboardPort)
            }
            try await stack.startPipeline(deployment, runArguments: runArguments, environment: extra)
            if deployment == .oneProcess {
                let ready = await holds(within: .seconds(30)) {
                    (try? await TestProcess.run(["curl", "-sf", "http://127.0.0.1:\(dashboardPort)/readyz"]))?.succeeded ?? false
                }
                #expect(ready, "/readyz of hemostat run answers 200")
            }

            let container = try await stack.startCrashOnce()
            let completes = try await stack.waitForMessages("remediation_complete", container: container.name, "a verified restart") {
                $0.contains { $0.resultStatus != nil }
            }
            let complete = try #require(completes.first)
            #expect(completes.count == 1)
            #expect(complete["action"] as? String == "restart")
            #expect(complete.resultStatus == "success", "\(complete.data)")
            #expect(complete.dryRun == false)
            #expect(complete["analysis_method"] as? String == "rules")

            // The same incident from the health alert to the result.
            let alerts = try await stack.messages("health_alert", container: container.name)
            #expect(alerts.contains { $0.incidentID == complete.incidentID })

            #expect(try await stack.inspect(container.name, "{{.State.Running}}") == "true")
            let events = try await stack.engineEvents(container.name, since: stack.startedAt)
            #expect(events.filter { $0.action == "restart" }.count == 1, "engine events: \(events)")
            #expect(events.filter { $0.action == "start" }.count == 2, "engine events: \(events)")

            // Exactly one Slack message: wait for it, then for the grouping window to pass (a
            // grouped repeat would be sent when it closes) and check nothing else came.
            let first = await stack.webhook.wait(timeout: .seconds(30)) { requests in
                requests.contains { ($0.json?["text"] as? String ?? "").contains(container.name) }
            }
            #expect(!first.isEmpty)
            _ = await stack.webhook.wait(timeout: .seconds(6)) { _ in stack.slackMessages(about: container.name).count > 1 }
            let slack = stack.slackMessages(about: container.name)
            #expect(slack.count == 1, "Slack messages: \(slack.map { $0["text"] ?? "" })\n\(stack.diagnostics())")
            if let message = slack.first {
                let text = message["text"] as? String ?? ""
                #expect(text.contains("restart") && text.contains("success"), "\(text)")
                #expect(!text.hasPrefix("[DRY RUN]"))
                let texts = blockTexts(message)
                #expect(texts.contains("*Container*\n\(container.name)"), "\(texts)")
                #expect(texts.contains("*Action*\nrestart"), "\(texts)")
                #expect(texts.contains("*Result*\nsuccess"), "\(texts)")
                #expect(texts.contains { $0.contains(complete.incidentID) })
                let blocks = message["blocks"] as? [[String: Any]] ?? []
                #expect(blocks.first?["type"] as? String == "header")
            }
            // The receiver's URL never appears in what the processes wrote.
            for process in stack.allProcesses {
                #expect(!process.log().contains(stack.slackURL), "\(process.name) logged the webhook URL")
            }
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }
}

extension PipelineTests {
    /// Dry-run: the pipeline decides and reports, the engine sees no change, and everything
    /// said about the incident says dry run.
    @Test("dry-run mutates nothing and every message says dry run", arguments: Deployment.allCases)
    func dryRunMutatesNothing(_ deployment: Deployment) async throws {
        let stack = try await E2EStack(label: "e2e-dry")
        do {
            // One process with the flag, four processes with the environment variable.
            switch deployment {
            case .oneProcess: try await stack.startPipeline(.oneProcess, runArguments: ["--no-dashboard", "--dry-run"])
            case .fourProcesses: try await stack.startPipeline(.fourProcesses, environment: ["RESPONDER_DRY_RUN": "true"])
            }
            let container = try await stack.faults.start(.crash(exitCode: 1, after: 1))
            let completes = try await stack.waitForMessages("remediation_complete", container: container.name, "a dry-run result") {
                !$0.isEmpty
            }
            #expect(completes.allSatisfy { $0.dryRun == true }, "\(completes.map(\.data))")
            #expect(completes.first?.resultStatus == "skipped")
            let reason = (completes.first?.data["result"] as? [String: Any])?["reason"] as? String ?? ""
            #expect(reason.hasPrefix("dry run: would restart"), "\(reason)")

            let slack = await stack.webhook.wait(timeout: .seconds(30)) { _ in !stack.slackMessages(about: container.name).isEmpty }
            #expect(!slack.isEmpty)
            // Let the grouping window pass so every message about the incident has been sent.
            _ = await stack.webhook.wait(timeout: .seconds(6)) { _ in stack.slackMessages(about: container.name).count > 1 }
            let messages = stack.slackMessages(about: container.name)
            #expect(!messages.isEmpty)
            for message in messages {
                let text = message["text"] as? String ?? ""
                #expect(text.hasPrefix("[DRY RUN]"), "\(text)")
                #expect(blockTexts(message).contains { $0.contains("DRY RUN") })
            }

            // Nothing changed the container after it died on its own, and the live gate holds
            // nothing for it.
            let events = try await stack.engineEvents(container.name, since: stack.startedAt)
            let died = try #require(events.firstIndex { $0.action == "die" }, "engine events: \(events)")
            let after = events[(died + 1)...].filter { EngineEvent.mutating.contains($0.action) }
            #expect(after.isEmpty, "engine events after the crash: \(events)")
            #expect(try await stack.inspect(container.name, "{{.State.Status}}") == "exited")
            let liveGate = try await stack.redis.send(["KEYS", "\(stack.keyPrefix)gate*\(container.name)*"])
            #expect(liveGate.array?.isEmpty ?? true, "live gate keys: \(liveGate)")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    /// A container that crashes every time: restarted until the breaker opens, then left
    /// alone, with one escalation.
    @Test("a crash loop stops after the breaker opens, with one escalation", arguments: Deployment.allCases)
    func crashLoopOpensBreaker(_ deployment: Deployment) async throws {
        let stack = try await E2EStack(label: "e2e-loop")
        do {
            try await stack.startPipeline(deployment, environment: [
                "HEMOSTAT_RESPONDER_BREAKER_FAILURE_THRESHOLD": "2",
                "HEMOSTAT_RESPONDER_VERIFICATION_WINDOW": "5s",
                "RESPONDER_COOLDOWN_SECONDS": "1s",
                // A fault still there is announced again soon, so HemoStat tries again.
                "HEMOSTAT_MONITOR_REMINDER_INTERVAL": "3s",
            ])
            let container = try await stack.faults.start(.crash(exitCode: 1, after: 1))
            let escalations = try await stack.waitForMessages("escalation", container: container.name, timeout: .seconds(120), "an escalation") {
                !$0.isEmpty
            }
            let escalatedAt = Date()
            // It stays alone: no restart for a while after the escalation (several poll cycles
            // and cooldowns), and no second escalation.
            _ = await holds(within: .seconds(12)) {
                let events = (try? await stack.engineEvents(container.name, since: escalatedAt)) ?? []
                return events.contains { $0.action == "restart" || $0.action == "start" }
            }
            let later = try await stack.engineEvents(container.name, since: escalatedAt.addingTimeInterval(1))
            #expect(!later.contains { $0.action == "restart" || $0.action == "start" }, "restarted after the escalation: \(later)")
            let allEscalations = try await stack.messages("escalation", container: container.name)
            #expect(allEscalations.count == 1, "\(allEscalations.map(\.data))")
            #expect(escalations.first?["severity"] as? String == "critical")
            let restarts = try await stack.engineEvents(container.name, since: stack.startedAt).filter { $0.action == "restart" }
            #expect(restarts.count >= 1, "HemoStat restarted it before giving up")

            let slackEscalations = stack.slackMessages(about: container.name).filter { ($0["text"] as? String ?? "").contains("needs a human") }
            #expect(slackEscalations.count == 1, "\(stack.slackMessages(about: container.name).map { $0["text"] ?? "" })")

            let status = try await TestProcess.run([try HemoStatBinary.path(), "status", "--json"], environment: try stack.environment(), currentDirectory: HemoStatBinary.packageRoot)
            let rows = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [[String: Any]] ?? []
            let row = rows.first { $0["container"] as? String == container.name }
            #expect(row?["breaker_state"] as? String == "open", "hemostat status: \(status.stdout) \(status.stderr)")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    /// `docker stop` by a person is not a fault: no start or restart follows.
    @Test("an operator stop is left alone", arguments: Deployment.allCases)
    func operatorStopIsLeftAlone(_ deployment: Deployment) async throws {
        let stack = try await E2EStack(label: "e2e-stop")
        do {
            try await stack.startPipeline(deployment)
            let container = try await stack.faults.start(.healthy)
            // Watched first: its stats are in Redis.
            let watched = await holds(within: .seconds(30)) {
                (try? await stack.redis.send(["EXISTS", "\(stack.keyPrefix)stats:\(stack.hostID)/\(container.name)"]))?.integer == 1
            }
            #expect(watched, "the monitor sampled the container")
            let stoppedAt = Date()
            try await stack.faults.docker(["stop", "-t", "1", container.name])

            // What HemoStat says about it: a decision or result naming the operator stop, or
            // nothing at all. Wait until the monitor has seen the stop (its sample says exited).
            let seen = await holds(within: .seconds(30)) {
                guard let value = try? await stack.redis.send(["GET", "\(stack.keyPrefix)stats:\(stack.hostID)/\(container.name)"]), let text = value.string else { return false }
                return text.contains("\"exited\"")
            }
            #expect(seen, "the monitor saw the container exit")
            // Several poll cycles for anything to act.
            _ = await holds(within: .seconds(10)) {
                let events = (try? await stack.engineEvents(container.name, since: stoppedAt)) ?? []
                return events.contains { $0.action == "start" || $0.action == "restart" }
            }
            let events = try await stack.engineEvents(container.name, since: stoppedAt)
            #expect(!events.contains { $0.action == "start" || $0.action == "restart" }, "engine events after the stop: \(events)")
            #expect(try await stack.inspect(container.name, "{{.State.Status}}") == "exited")
            let acted = try await stack.messages("remediation_complete", container: container.name).filter { $0.resultStatus == "success" }
            #expect(acted.isEmpty)
            for alert in try await stack.messages("health_alert", container: container.name) where alert["status"] as? String == "exited" {
                #expect(alert["stopped_by_operator"] as? Bool == true, "\(alert.data)")
            }
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    /// A provider configured but no key: the rules decide alone and nothing is sent to the
    /// provider's URL, even for a case the rules call ambiguous.
    @Test("no API key means rules only and no outbound call", arguments: Deployment.allCases)
    func noKeyMeansRulesOnly(_ deployment: Deployment) async throws {
        let stack = try await E2EStack(label: "e2e-nokey")
        let provider = try await WebhookReceiver()
        do {
            try await stack.startPipeline(deployment, environment: [
                "HEMOSTAT_LLM_PROVIDER": "anthropic",
                "HEMOSTAT_LLM_BASE_URL": provider.baseURL,
                // A CPU hog is "high" at once; the rules call a spike without history ambiguous.
                "THRESHOLD_CPU_PERCENT": "20",
                "HEMOSTAT_MONITOR_SUSTAINED_SAMPLES": "1",
            ])
            let hog = try await stack.faults.start(.cpuHog)
            let crash = try await stack.faults.start(.crash(exitCode: 2, after: 1))
            let hogDecisions = try await stack.waitForMessages("false_alarm", container: hog.name, "a decision on the CPU hog") { !$0.isEmpty }
            try await stack.waitForMessages("remediation_needed", container: crash.name, "a decision on the crash") { !$0.isEmpty }
            #expect(hogDecisions.first?["rule"] as? String == "cpu-sustained", "\(hogDecisions.map(\.data))")

            for channel in ["remediation_needed", "false_alarm", "escalation"] {
                for message in try await stack.messages(channel) where message.json["agent"] as? String == "analyzer" {
                    #expect(message["analysis_method"] as? String == "rules", "\(channel): \(message.data)")
                }
            }
            #expect(provider.requests().isEmpty, "requests reached the LLM URL: \(provider.requests().map(\.path))")
            let budget = try await stack.redis.send(["KEYS", "\(stack.keyPrefix)llm:*"])
            #expect(budget.array?.isEmpty ?? true, "LLM keys: \(budget)")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        provider.stop()
        await stack.cleanup()
    }
}

/// Every `text` string inside a Slack message's blocks.
func blockTexts(_ message: [String: Any]) -> [String] {
    var texts: [String] = []
    func walk(_ value: Any) {
        if let object = value as? [String: Any] {
            for (key, inner) in object {
                if key == "text", let text = inner as? String { texts.append(text) } else { walk(inner) }
            }
        } else if let array = value as? [Any] {
            array.forEach(walk)
        }
    }
    walk(message["blocks"] ?? [])
    return texts
}
