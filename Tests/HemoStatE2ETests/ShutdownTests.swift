import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HemoStatTestSupport
import Testing

/// SIGTERM sent to the built binary while each agent is in the middle of its slowest work: the
/// process exits within the bound docs/operations.md gives ("Stopping"), and what it had in
/// hand is finished by the next process.
@Suite("End to end: SIGTERM", .serialized, .enabled(if: TestEnvironment.integration))
struct ShutdownTests {
    /// `shutdown_timeout` here (the default); a graceful stop exits with status 0 before it.
    static let bound: Duration = .seconds(8)

    @Test("agents waiting on their streams stop at once", arguments: Deployment.allCases)
    func idle(_ deployment: Deployment) async throws {
        let stack = try await E2EStack(label: "e2e-stop")
        do {
            let processes = try await stack.startPipeline(deployment)
            for (name, process) in processes.sorted(by: { $0.key < $1.key }) {
                let took = await process.signalAndTime()
                let seconds = try #require(took, "\(name) exited\n\(stack.diagnostics())")
                #expect(seconds < .seconds(3), "\(name) took \(seconds)")
                #expect(process.exitStatus == 0, "\(name)\n\(process.logTail())")
            }
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    @Test("a notification being retried is left in the outbox and sent by the next process", arguments: Deployment.allCases)
    func notificationInRetry(_ deployment: Deployment) async throws {
        let stack = try await E2EStack(label: "e2e-stop-alert")
        let silent = try SilentTCPListener()
        do {
            let (name, arguments) = deployment == .oneProcess ? ("run", ["run", "--no-dashboard"]) : ("alert", ["alert"])
            let hung = ["SLACK_WEBHOOK_URL": "http://127.0.0.1:\(silent.port)/services/T000/B000/hung"]
            let process = try stack.start(name, arguments, environment: hung)
            try await stack.waitForAgents(["alert"])

            let container = "\(stack.prefix)-web"
            let id = "esc-\(stack.prefix)"
            let now = ISO8601DateFormatter().string(from: Date())
            let escalation = #"{"event_type":"escalation","timestamp":"\#(now)","agent":"ops-script","host":"\#(stack.hostID)","id":"\#(id)","data":{"container":"\#(container)","severity":"critical","reason":"disk full","incident_id":"inc-\#(stack.prefix)"}}"#
            _ = try await stack.redis.send(["XADD", stack.keyPrefix + "escalation", "*", "message", escalation])
            let outbox = "\(stack.keyPrefix)alert:outbox:\(stack.hostID):alert"
            let queued = await holds(within: .seconds(30)) {
                (try? await stack.redis.send(["HLEN", outbox]))?.integer == 1
            }
            #expect(queued, "the escalation was queued\n\(stack.diagnostics())")
            // The post is now waiting on a receiver that never answers (10 s per attempt).
            try await Task.sleep(for: .seconds(1))

            let took = await process.signalAndTime()
            let seconds = try #require(took, "the process exited\n\(stack.diagnostics())")
            #expect(seconds < .seconds(3), "took \(seconds)")
            #expect(process.exitStatus == 0, "\(process.logTail())")
            #expect(try await stack.redis.send(["HLEN", outbox]).integer == 1, "the notification stays queued")
            #expect(stack.slackMessages(about: container).isEmpty)

            // The next process, with a receiver that answers.
            try stack.start(name, arguments)
            let sent = await holds(within: .seconds(60)) { !stack.slackMessages(about: container).isEmpty }
            #expect(sent, "the next process sent it\n\(stack.diagnostics())")
            let emptied = await holds(within: .seconds(10)) {
                (try? await stack.redis.send(["HLEN", outbox]))?.integer == 0
            }
            #expect(emptied, "the outbox is empty once it is delivered")
            // A repeat would follow at once; none comes.
            try await Task.sleep(for: .seconds(2))
            #expect(stack.slackMessages(about: container).count == 1)
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    @Test("a restart the engine does not answer is handed back and finished by the next responder", arguments: Deployment.allCases)
    func slowEngine(_ deployment: Deployment) async throws {
        let stack = try await E2EStack(label: "e2e-stop-engine")
        let proxy = try await EngineProxy(mode: .holdRequest, directory: stack.directory)
        do {
            let grace = ["DOCKER_HOST": proxy.dockerHost, "HEMOSTAT_RESPONDER_SHUTDOWN_GRACE": "1s"]
            let victim: HemoStatProcess
            if deployment == .oneProcess {
                victim = try stack.start("run", ["run", "--no-dashboard"], environment: grace)
            } else {
                for agent in ["monitor", "analyzer", "alert"] { try stack.start(agent, [agent]) }
                victim = try stack.start("responder", ["responder"], environment: grace)
            }
            try await stack.waitForAgents(["monitor", "analyzer", "responder", "alert"])
            let container = try await stack.startCrashOnce(after: 2)
            let holding = await holds(within: .seconds(90)) { proxy.isHolding }
            #expect(holding, "the responder sent the restart\n\(stack.diagnostics())")

            let took = await victim.signalAndTime()
            let seconds = try #require(took, "the process exited\n\(stack.diagnostics())")
            #expect(seconds < Self.bound, "took \(seconds)")
            #expect(seconds >= .seconds(1), "it waited responder.shutdown_grace for the engine")
            #expect(victim.exitStatus == 0, "\(victim.logTail())")
            #expect(victim.log().contains("the action is handed back"), "\(victim.logTail())")
            #expect(try await stack.messages("remediation_complete", container: container.name).isEmpty, "no result for an action cut short")

            // The next process talks to the engine directly and finishes the action.
            try stack.start(victim.name, victim.arguments)
            let done = await holds(within: .seconds(90)) {
                !((try? await stack.messages("remediation_complete", container: container.name)) ?? []).isEmpty
            }
            #expect(done, "a result was published\n\(stack.diagnostics())")
            // A second restart would come within a verification window (4 s) and a poll (1 s).
            try await Task.sleep(for: .seconds(6))
            let events = try await stack.engineEvents(container.name, since: stack.startedAt)
            #expect(events.filter { $0.action == "restart" }.count == 1, "\(container.name): \(events)")
            // In one process the monitor restarts too and may announce the container again while
            // its action is still in flight; that request is refused, never acted on.
            let results = try await stack.messages("remediation_complete", container: container.name)
            #expect(results.filter { $0.resultStatus == "success" }.count == 1, "\(results.map(\.data))")
            #expect(results.allSatisfy { ["success", "rejected"].contains($0.resultStatus ?? "?") }, "\(results.map(\.data))")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await proxy.stop()
        await stack.cleanup()
    }

    @Test("an LLM that does not answer: the alert is left pending and decided by the next analyzer")
    func slowLLM() async throws {
        let stack = try await E2EStack(label: "e2e-stop-llm")
        let silent = try SilentTCPListener()
        do {
            let rules = try Self.rulesDirectory(stack, """
                rule { name = "ask", priority = 10, when = function(a, h)
                  return ambiguous { reason = "unclear", fallback = false_alarm { confidence = 0.5, reason = "fallback" } }
                end }
                """)
            let llm = [
                "HEMOSTAT_RULES_DIRECTORY": rules, "HEMOSTAT_LLM_PROVIDER": "openai_compatible",
                "HEMOSTAT_LLM_BASE_URL": "http://127.0.0.1:\(silent.port)/v1", "HEMOSTAT_LLM_API_KEY": "test-key",
            ]
            let analyzer = try stack.start("analyzer", ["analyzer"], environment: llm)
            try await stack.waitForAgents(["analyzer"])
            let alertID = try await Self.publishAlert(stack)
            try await Task.sleep(for: .seconds(2))  // the question is on its way to the LLM (30 s timeout)

            let took = await analyzer.signalAndTime()
            let seconds = try #require(took, "the analyzer exited\n\(stack.diagnostics())")
            #expect(seconds < .seconds(3), "took \(seconds)")
            #expect(analyzer.exitStatus == 0, "\(analyzer.logTail())")
            #expect(try await Self.decisions(stack, alertID).isEmpty, "nothing decided for the alert cut short")

            // The next analyzer, without an LLM, decides it by the rules' fallback, once.
            try stack.start("analyzer", ["analyzer"], environment: ["HEMOSTAT_RULES_DIRECTORY": rules])
            let decided = await holds(within: .seconds(60)) {
                !((try? await Self.decisions(stack, alertID)) ?? []).isEmpty
            }
            #expect(decided, "the alert was decided\n\(stack.diagnostics())")
            // A decision takes milliseconds: a second one for the same alert would be here by now.
            try await Task.sleep(for: .seconds(2))
            let decisions = try await Self.decisions(stack, alertID)
            #expect(decisions.map(\.eventType) == ["false_alarm"], "\(decisions.map(\.json))")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    @Test("a rule running near its instruction limit finishes its alert, then the analyzer exits")
    func slowRule() async throws {
        let stack = try await E2EStack(label: "e2e-stop-rule")
        do {
            let rules = try Self.rulesDirectory(stack, Self.slowRule)
            let environment = [
                "HEMOSTAT_RULES_DIRECTORY": rules, "HEMOSTAT_ANALYZER_INSTRUCTION_LIMIT": "400000000",
                "HEMOSTAT_ANALYZER_RULE_THRESHOLDS": "loops=100000000",
            ]
            let analyzer = try stack.start("analyzer", ["analyzer"], environment: environment)
            try await stack.waitForAgents(["analyzer"])
            var alerts: [String] = []
            for _ in 0..<3 { alerts.append(try await Self.publishAlert(stack)) }
            let first = await holds(within: .seconds(60)) {
                !((try? await Self.decisions(stack, alerts[0])) ?? []).isEmpty
            }
            #expect(first, "the first alert was decided\n\(stack.diagnostics())")

            let took = await analyzer.signalAndTime()
            let seconds = try #require(took, "the analyzer exited\n\(stack.diagnostics())")
            #expect(seconds < Self.bound, "took \(seconds)")
            #expect(analyzer.exitStatus == 0, "\(analyzer.logTail())")

            try stack.start("analyzer", ["analyzer"], environment: environment)
            let all = await holds(within: .seconds(90)) {
                for alert in alerts where ((try? await Self.decisions(stack, alert)) ?? []).isEmpty { return false }
                return true
            }
            #expect(all, "every alert was decided\n\(stack.diagnostics())")
            for alert in alerts {
                #expect(try await Self.decisions(stack, alert).count == 1, "\(alert) decided once")
            }
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    @Test("a shutdown past its bound says what is still running and exits anyway")
    func pastTheBound() async throws {
        let stack = try await E2EStack(label: "e2e-stop-bound")
        do {
            let rules = try Self.rulesDirectory(stack, Self.slowRule)
            // The rule needs longer than the bound and the cancellation's 2 s together.
            let analyzer = try stack.start("analyzer", ["analyzer"], environment: [
                "HEMOSTAT_RULES_DIRECTORY": rules, "HEMOSTAT_ANALYZER_INSTRUCTION_LIMIT": "1000000000",
                "HEMOSTAT_SHUTDOWN_TIMEOUT": "1s", "HEMOSTAT_RESPONDER_SHUTDOWN_GRACE": "0s",
                "HEMOSTAT_ANALYZER_RULE_THRESHOLDS": "loops=400000000",
            ])
            try await stack.waitForAgents(["analyzer"])
            _ = try await Self.publishAlert(stack)
            try await Task.sleep(for: .seconds(1))  // the rule is running

            let took = await analyzer.signalAndTime()
            let seconds = try #require(took, "the analyzer exited\n\(stack.diagnostics())")
            #expect(seconds < .seconds(6), "the bound (1 s) and the cancellation's 2 s: took \(seconds)")
            #expect(analyzer.exitStatus == 1, "\(analyzer.logTail())")
            let log = analyzer.log()
            #expect(log.contains("shutdown exceeded"), "\(analyzer.logTail())")
            #expect(log.contains(#"still_running=["analyzer"]"#), "\(analyzer.logTail())")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await stack.cleanup()
    }

    @Test("a second signal exits at once; the action is finished by the next responder")
    func secondSignal() async throws {
        let stack = try await E2EStack(label: "e2e-stop-twice")
        let proxy = try await EngineProxy(mode: .holdRequest, directory: stack.directory)
        do {
            for agent in ["monitor", "analyzer", "alert"] { try stack.start(agent, [agent]) }
            let responder = try stack.start("responder", ["responder"], environment: [
                "DOCKER_HOST": proxy.dockerHost, "HEMOSTAT_SHUTDOWN_TIMEOUT": "120s", "HEMOSTAT_RESPONDER_SHUTDOWN_GRACE": "100s",
            ])
            try await stack.waitForAgents(["monitor", "analyzer", "responder", "alert"])
            let container = try await stack.startCrashOnce(after: 2)
            let holding = await holds(within: .seconds(90)) { proxy.isHolding }
            #expect(holding, "the responder sent the restart\n\(stack.diagnostics())")

            responder.send(SIGTERM)
            // The engine holds its answer: the responder must still wait for it 2 s on.
            try await Task.sleep(for: .seconds(2))
            #expect(responder.isRunning, "still waiting for the engine's answer")
            let took = await responder.signalAndTime(SIGTERM)
            let seconds = try #require(took, "the responder exited\n\(stack.diagnostics())")
            #expect(seconds < .seconds(2), "took \(seconds)")
            #expect(responder.exitStatus == 128 + SIGTERM, "\(responder.logTail())")

            try stack.start("responder", ["responder"])
            let done = await holds(within: .seconds(90)) {
                !((try? await stack.messages("remediation_complete", container: container.name)) ?? []).isEmpty
            }
            #expect(done, "a result was published\n\(stack.diagnostics())")
            // A second restart would come within a verification window (4 s) and a poll (1 s).
            try await Task.sleep(for: .seconds(6))
            let events = try await stack.engineEvents(container.name, since: stack.startedAt)
            #expect(events.filter { $0.action == "restart" }.count == 1, "\(container.name): \(events)")
            let results = try await stack.messages("remediation_complete", container: container.name)
            #expect(results.map { $0.resultStatus ?? "?" } == ["success"], "\(results.map(\.data))")
        } catch {
            Issue.record("\(error)\n\(stack.diagnostics())")
        }
        await proxy.stop()
        await stack.cleanup()
    }

    // MARK: Helpers

    /// A rule that loops `h.threshold("loops")` times before answering.
    static let slowRule = """
        rule { name = "slow", priority = 10, when = function(a, h)
          local x = 0
          for i = 1, h.threshold("loops") do x = x + 1 end
          return false_alarm { confidence = 0.9, reason = "looked at it for a while" }
        end }
        """

    /// A rules directory holding only `rule`.
    static func rulesDirectory(_ stack: E2EStack, _ rule: String) throws -> String {
        let directory = stack.directory + "/rules"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try rule.write(toFile: directory + "/10-test.lua", atomically: true, encoding: .utf8)
        return directory
    }

    /// Puts a health alert (high CPU) for a container of this test on the stream; returns its id.
    static func publishAlert(_ stack: E2EStack) async throws -> String {
        let id = "alert-\(UUID().uuidString.prefix(8).lowercased())"
        let now = ISO8601DateFormatter().string(from: Date())
        let alert = #"{"event_type":"health_alert","timestamp":"\#(now)","agent":"monitor","host":"\#(stack.hostID)","id":"\#(id)","data":{"container_id":"c0ffee","container_name":"\#(stack.prefix)-api","image":"busybox","status":"running","health_status":"none","exit_code":0,"oom_killed":false,"restart_count":0,"anomalies":[{"type":"high_cpu","severity":"warning","value":97,"threshold":85}],"source":"poll"}}"#
        _ = try await stack.redis.send(["XADD", stack.keyPrefix + "health_alert", "*", "message", alert])
        return id
    }

    /// The analyzer's answers to the alert `alertID`.
    static func decisions(_ stack: E2EStack, _ alertID: String) async throws -> [BusMessage] {
        var found: [BusMessage] = []
        for channel in ["remediation_needed", "false_alarm", "escalation"] {
            found += try await stack.messages(channel).filter { $0["alert_id"] as? String == alertID }
        }
        return found
    }
}
