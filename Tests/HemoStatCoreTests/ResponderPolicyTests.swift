import Foundation
@testable import HemoStatCore
@testable import HemoStatModel
@testable import HemoStatResponder
import Testing

/// The responder's checks before the gate, step by step, with no I/O.
@Suite struct ResponderPolicyTests {
    let policy = ResponderPolicy(
        allowedActions: Set(ResponderConfiguration.defaultAllowedActions + [.exec]),
        protectedPatterns: ["db-*", "vault"],
        execAllowlist: ["nginx -s reload"],
        stopTimeout: .seconds(7),
        own: OwnContainers(names: ["redis"], ownContainerID: "0123456789ab"))

    func request(_ action: RuleAction, container: String = "web", parameters: ActionParameters? = nil, stoppedByOperator: Bool? = nil) -> RemediationNeeded {
        RemediationNeeded(
            container: container, containerID: "abc123", action: action, parameters: parameters, reason: "test",
            confidence: 0.9, rule: "test.lua:rule", analysisMethod: .rules, dryRun: false, incidentID: "i1", alertID: "a1",
            stoppedByOperator: stoppedByOperator)
    }

    func refusal(_ result: Result<ResponderPolicy.Plan, Refusal>) -> Refusal? {
        if case .failure(let refusal) = result { return refusal }
        return nil
    }

    @Test func restartUsesTheConfiguredStopTimeoutUnlessTheRequestSetsOne() {
        #expect(policy.screen(request(.restart)) == .success(.act(.restart(timeout: .seconds(7)))))
        #expect(policy.screen(request(.restart, parameters: ActionParameters(timeoutSeconds: 2))) == .success(.act(.restart(timeout: .seconds(2)))))
    }

    @Test func actionsOutsideTheAllowedListAreRejected() {
        let strict = ResponderPolicy(allowedActions: [.restart])
        #expect(refusal(strict.screen(request(.kill)))?.code == "action_not_allowed")
        #expect(refusal(strict.screen(request(.kill)))?.status == .rejected)
    }

    @Test func execNeedsAnExactAllowlistEntry() {
        #expect(policy.screen(request(.exec, parameters: ActionParameters(command: ["nginx", "-s", "reload"]))) == .success(.act(.exec(command: ["nginx", "-s", "reload"]))))
        // A prefix of an allowed command, or a longer one, is not allowed.
        #expect(refusal(policy.screen(request(.exec, parameters: ActionParameters(command: ["nginx", "-s"]))))?.code == "exec_not_allowlisted")
        #expect(refusal(policy.screen(request(.exec, parameters: ActionParameters(command: ["nginx", "-s", "reload", ";", "rm"]))))?.code == "exec_not_allowlisted")
        #expect(refusal(policy.screen(request(.exec)))?.code == "invalid_parameters")
    }

    @Test func notifyAndNoneNeverReachTheEngine() {
        #expect(policy.screen(request(.notify)) == .success(.notify))
        #expect(refusal(policy.screen(request(.none)))?.status == .skipped)
    }

    @Test func parametersAreValidated() {
        #expect(refusal(policy.screen(request(.updateResources)))?.code == "invalid_parameters")
        #expect(policy.screen(request(.updateResources, parameters: ActionParameters(memoryLimit: 1 << 28))) == .success(.act(.updateResources(memoryBytes: 1 << 28, cpus: nil))))
        #expect(policy.screen(request(.kill)) == .success(.act(.kill(signal: "SIGKILL"))))
        #expect(policy.screen(request(.kill, parameters: ActionParameters(signal: "15"))) == .success(.act(.kill(signal: "15"))))
        #expect(refusal(policy.screen(request(.kill, parameters: ActionParameters(signal: "$(reboot)"))))?.code == "invalid_parameters")
    }

    @Test func protectedNamesHemoStatItselfAndOperatorStopsAreRefusedBeforeAnyInspect() {
        #expect(refusal(policy.screen(request(.restart, container: "db-main")))?.code == "protected_name")
        #expect(refusal(policy.screen(request(.restart, container: "vault")))?.code == "protected_name")
        #expect(refusal(policy.screen(request(.restart, container: "redis")))?.code == "hemostat_itself")
        #expect(refusal(policy.screen(request(.restart, container: "hemostat-monitor")))?.code == "hemostat_itself")
        #expect(refusal(policy.screen(request(.restart, stoppedByOperator: true)))?.code == "stopped_by_operator")
    }

    func snapshot(_ status: String, labels: [String: String] = [:], exitCode: Int = 0, oom: Bool = false, id: String = "ffffffffffff0000") -> ContainerInspection {
        ContainerInspection(id: id, name: "web", status: status, exitCode: exitCode, oomKilled: oom, labels: labels)
    }

    @Test func labelsOptOutAndProtect() {
        #expect(policy.check(snapshot("exited", labels: ["hemostat.enable": "false"], exitCode: 1), command: .start, name: "web")?.code == "opted_out")
        #expect(policy.check(snapshot("running", labels: ["hemostat.protect": "true"]), command: .restart(timeout: .seconds(1)), name: "web")?.code == "protected_label")
        #expect(policy.check(snapshot("running", labels: ["hemostat.role": "monitor"]), command: .restart(timeout: .seconds(1)), name: "web")?.code == "hemostat_itself")
        #expect(policy.check(snapshot("running", id: "0123456789abcdef"), command: .restart(timeout: .seconds(1)), name: "web")?.code == "hemostat_itself")
        #expect(policy.check(snapshot("running", labels: ["hemostat.enable": "true"]), command: .restart(timeout: .seconds(1)), name: "web") == nil)
    }

    @Test func aGoneContainerIsSkipped() {
        #expect(policy.check(nil, command: .start, name: "web")?.code == "container_gone")
    }

    @Test func aContainerStoppedBySignalIsLeftAloneButACrashIsHealed() {
        #expect(policy.check(snapshot("exited", exitCode: 143), command: .start, name: "web")?.code == "stopped_by_operator")
        #expect(policy.check(snapshot("exited", exitCode: 137), command: .restart(timeout: .zero), name: "web")?.code == "stopped_by_operator")
        #expect(policy.check(snapshot("exited", exitCode: 137, oom: true), command: .start, name: "web") == nil)
        #expect(policy.check(snapshot("exited", exitCode: 1), command: .start, name: "web") == nil)
    }

    /// The monitor saw the exit happen with no stop or kill through the API (a SIGKILL nobody
    /// sent through the API, an OOM kill Podman does not report): its code is not an operator's.
    @Test func anExitTheMonitorSawHappenOnItsOwnIsHealedWhateverItsCode() {
        let finished = Date(timeIntervalSince1970: 1_000)
        let killed = ContainerInspection(id: "ffffffffffff0000", name: "web", status: "exited", exitCode: 137, finishedAt: finished)
        #expect(policy.check(killed, command: .start, name: "web", ownExit: finished.addingTimeInterval(2)) == nil)
        #expect(policy.check(killed, command: .start, name: "web", ownExit: finished.addingTimeInterval(-0.5)) == nil)
        // A later exit than the one the monitor saw is judged by its code again.
        #expect(policy.check(killed, command: .start, name: "web", ownExit: finished.addingTimeInterval(-30))?.code == "stopped_by_operator")
        #expect(policy.check(killed, command: .start, name: "web")?.code == "stopped_by_operator")
        var request = RemediationNeeded(
            container: "web", containerID: "", action: .restart, reason: "crash", confidence: 1, rule: "r", analysisMethod: .rules,
            dryRun: false, incidentID: "i", alertID: "a", detectedAt: finished, stoppedByOperator: false)
        #expect(request.ownExitSeenBy == finished)
        request.stoppedByOperator = nil
        #expect(request.ownExitSeenBy == nil)
    }

    @Test func actionsThatDoNotApplyToTheStateAreSkipped() {
        #expect(policy.check(snapshot("running"), command: .start, name: "web")?.code == "not_applicable")
        #expect(policy.check(snapshot("exited", exitCode: 1), command: .stop(timeout: .zero), name: "web")?.code == "not_applicable")
        #expect(policy.check(snapshot("running"), command: .unpause, name: "web")?.code == "not_applicable")
        #expect(policy.check(snapshot("paused"), command: .unpause, name: "web") == nil)
    }

    @Test func ownContainersAreDetectedFromTheConfigurationAndHostname() {
        var configuration = HemoStatConfiguration()
        configuration.redis.host = "redis"
        let own = OwnContainers.detect(configuration: configuration, environment: ["HOSTNAME": "a1b2c3d4e5f6"])
        #expect(own.names == ["redis"])
        #expect(own.ownContainerID == "a1b2c3d4e5f6")
        #expect(own.patterns == ["hemostat*"])
        configuration.redis.host = "127.0.0.1"
        let none = OwnContainers.detect(configuration: configuration, environment: ["HOSTNAME": "build-box"])
        #expect(none.names.isEmpty && none.ownContainerID == nil)
    }

    @Test func globPatterns() {
        #expect(Glob.matches("db-*", "db-main"))
        #expect(!Glob.matches("db-*", "mydb-main"))
        #expect(Glob.matches("*cache?", "redis-cache1"))
        #expect(!Glob.matches("web", "web2"))
        #expect(Glob.matches("*", ""))
    }

    @Test func requestIDIsTheAnalyzersDecisionNotTheMessage() {
        let a = Envelope(agent: "analyzer", host: "h", data: request(.restart))
        let b = Envelope(agent: "analyzer", host: "h", data: request(.restart))
        #expect(a.id != b.id)
        #expect(ResponderService.requestID(for: a) == "a1:restart")
        #expect(ResponderService.requestID(for: a) == ResponderService.requestID(for: b))
        #expect(ResponderService.requestID(for: Envelope(agent: "analyzer", host: "h", data: request(.stop))) == "a1:stop")
    }
}

/// Verification after an action, fed inspects by hand.
@Suite struct VerificationTests {
    let started = Date(timeIntervalSince1970: 1_800_000_000)

    func running(health: String = "none", restarts: Int = 0, startedAt: Date? = nil) -> ContainerInspection {
        ContainerInspection(id: "c", name: "web", status: "running", healthStatus: health, restartCount: restarts, startedAt: startedAt ?? started)
    }

    @Test func runningForTheWholeWindowIsSuccess() {
        var v = Verification(command: .restart(timeout: .zero), before: nil, window: .seconds(60))
        #expect(v.observe(running(), elapsed: .seconds(1)) == .pending)
        #expect(v.observe(running(), elapsed: .seconds(30)) == .pending)
        guard case .success = v.observe(running(), elapsed: .seconds(60)) else { Issue.record("expected success"); return }
    }

    @Test func theFaultBackIsIneffectiveAtOnce() {
        var exited = Verification(command: .start, before: nil, window: .seconds(60))
        _ = exited.observe(running(), elapsed: .seconds(1))
        var crash = running()
        crash.status = "exited"
        crash.exitCode = 2
        guard case .ineffective = exited.observe(crash, elapsed: .seconds(2)) else { Issue.record("expected ineffective"); return }

        var restarted = Verification(command: .restart(timeout: .zero), before: nil, window: .seconds(60))
        _ = restarted.observe(running(restarts: 0), elapsed: .seconds(1))
        guard case .ineffective = restarted.observe(running(restarts: 1, startedAt: started.addingTimeInterval(5)), elapsed: .seconds(6)) else {
            Issue.record("expected ineffective after a restart"); return
        }

        var unhealthy = Verification(command: .restart(timeout: .zero), before: nil, window: .seconds(60))
        guard case .ineffective = unhealthy.observe(running(health: "unhealthy"), elapsed: .seconds(1)) else {
            Issue.record("expected ineffective when unhealthy"); return
        }
    }

    @Test func aHealthCheckMustBeHealthyByTheEnd() {
        var v = Verification(command: .restart(timeout: .zero), before: nil, window: .seconds(10))
        #expect(v.observe(running(health: "starting"), elapsed: .seconds(1)) == .pending)
        guard case .ineffective = v.observe(running(health: "starting"), elapsed: .seconds(10)) else { Issue.record("expected ineffective"); return }
        var ok = Verification(command: .restart(timeout: .zero), before: nil, window: .seconds(10))
        _ = ok.observe(running(health: "starting"), elapsed: .seconds(1))
        guard case .success = ok.observe(running(health: "healthy"), elapsed: .seconds(10)) else { Issue.record("expected success"); return }
    }

    @Test func stopAndPauseAreVerifiedByTheirOwnState() {
        var stop = Verification(command: .stop(timeout: .zero), before: running(), window: .seconds(5))
        var exited = running()
        exited.status = "exited"
        guard case .success = stop.observe(exited, elapsed: .seconds(5)) else { Issue.record("expected success"); return }
        var pause = Verification(command: .pause, before: running(), window: .seconds(5))
        guard case .ineffective = pause.observe(running(), elapsed: .seconds(1)) else { Issue.record("expected ineffective"); return }
    }

    @Test func updateOnAStoppedContainerHasNothingToWatch() {
        var stopped = running()
        stopped.status = "exited"
        let v = Verification(command: .updateResources(memoryBytes: 1, cpus: nil), before: stopped, window: .seconds(5))
        #expect(v.isImmediate)
    }
}
