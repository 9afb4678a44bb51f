import Foundation
@testable import HemoStatCore
@testable import HemoStatModel
import HemoStatRedis
@testable import HemoStatResponder
import HemoStatTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The responder end to end: requests on the real Redis stream, the gate in the real Redis, a
/// recording in-memory engine. Each test counts the engine's mutating events.
@Suite(.enabled(if: TestEnvironment.integration))
struct ResponderServiceTests {
    @Test func aCrashedContainerIsRestartedAndVerified() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "web", status: "exited", exitCode: 1)
        try await h.running([h.service()]) {
            try await h.publish(h.request("web"))
            try await eventually("a result") { try await !h.completions("web").isEmpty }
        }
        let results = try await h.completions("web")
        #expect(results.map(\.result.status) == [.success])
        #expect(results.first?.dryRun == false)
        #expect(results.first?.timings?.startedAt != nil)
        #expect(h.engine.events(for: "web").map(\.action) == ["restart"])
        #expect(try await h.redis.send(["LLEN", h.keys.remediation("web")]).integer == 1)
        let status = try await h.gate().status(container: "web")
        #expect(status.lastResult == "success")
        #expect(status.breakerState == .closed)
        let audit = try await h.auditRecords()
        #expect(audit.contains { $0["result"]?["status"]?.stringValue == "success" && $0["gate"]?["decision"]?.stringValue == "allowed" })
    }

    @Test func aCrashLoopOpensTheBreakerAfterThreeAttemptsAndThereIsNoFourth() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "loop", status: "exited", exitCode: 1, behavior: .crashesAgain(exitCode: 1))
        try await h.running([h.service()]) {
            for n in 1...5 {
                try await h.publish(h.request("loop", alertID: "alert-\(n)"))
                // Requests 1-4 are reported; the 5th is the same incident refused again, audited only.
                try await eventually("request \(n) handled") {
                    try await h.auditRecords().count >= n
                }
            }
        }
        let statuses = try await h.completions("loop").map(\.result.status)
        #expect(statuses == [.ineffective, .ineffective, .ineffective, .rejected])
        #expect(h.engine.events(for: "loop", action: "restart").count == 3)
        #expect(try await h.escalations().count == 1)
        #expect(try await h.gate().status(container: "loop").breakerState == .open)
        let unreported = try await h.auditRecords().filter { $0["reported"] == .bool(false) }
        #expect(unreported.count == 1)
    }

    @Test func twoRespondersGivenTheSameRequestActOnce() async throws {
        let engine = InMemoryRemediationEngine(actionDelay: .milliseconds(150))
        let h = try ResponderHarness(engine: engine)
        defer { Task { await h.cleanUp() } }
        engine.add(name: "api", status: "exited", exitCode: 2)
        // The analyzer published the same decision twice (new message ids, same alert and action).
        let first = h.request("api", alertID: "alert-same")
        let again = h.request("api", alertID: "alert-same")
        try await h.publish(first)
        try await h.publish(again)
        try await h.running([h.service(), h.service()]) {
            // At least once: under load the bus may hand an entry to a second member after the
            // short reclaim time used here, which must still not act twice.
            try await eventually("both handled") { try await h.auditRecords().count >= 2 }
            try await eventually("verified") { try await !h.completions("api").isEmpty }
        }
        #expect(engine.events(for: "api").count == 1)
        #expect(try await h.completions("api").map(\.result.status) == [.success])
        let decisions = try await h.auditRecords().compactMap { $0["gate"]?["decision"]?.stringValue }
        #expect(decisions.filter { $0 == "allowed" }.count == 1)
        #expect(decisions.filter { $0 == "duplicate" }.count == decisions.count - 1)
    }

    @Test func twoRequestsForOneContainerAtOnceActOnce() async throws {
        // The first action takes 2 s: the second request surely comes while it is in flight.
        let engine = InMemoryRemediationEngine(actionDelay: .seconds(2))
        let h = try ResponderHarness(engine: engine)
        defer { Task { await h.cleanUp() } }
        engine.add(name: "db", status: "exited", exitCode: 3)
        try await h.publish(h.request("db", alertID: "alert-a", incidentID: "inc-a"))
        try await h.publish(h.request("db", alertID: "alert-b", incidentID: "inc-b"))
        try await h.running([h.service(), h.service()]) {
            try await eventually("both reported") { try await h.completions("db").count == 2 }
        }
        #expect(engine.events(for: "db").count == 1)
        let statuses = try await h.completions("db").map(\.result.status).sorted { $0.rawValue < $1.rawValue }
        #expect(statuses == [.rejected, .success])
    }

    @Test func dryRunTouchesNothingAndSpendsOnlyTheSimulatedBudget() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "cache", status: "exited", exitCode: 1)
        h.engine.add(name: "queue", status: "exited", exitCode: 1)
        // Globally dry: every request.
        try await h.running([h.service(dryRun: true)]) {
            try await h.publish(h.request("cache"))
            try await eventually("dry-run result") { try await !h.completions("cache").isEmpty }
        }
        // Live responder, request marked dry-run by its rule.
        try await h.running([h.service()]) {
            try await h.publish(h.request("queue", dryRun: true))
            try await eventually("per-request dry-run result") { try await !h.completions("queue").isEmpty }
        }
        #expect(h.engine.events.isEmpty)
        let results = try await h.completions()
        #expect(results.allSatisfy { $0.dryRun && $0.result.status == .skipped && $0.result.reason.contains("would restart") })
        #expect(try await h.gate(dryRun: true).status(container: "cache").actionsThisWindow == 1)
        #expect(try await h.gate().status(container: "cache").actionsThisWindow == 0)
        // (An entry the first responder handled but had not yet acknowledged when it was stopped
        // is read again by the second and audited as a duplicate.)
        let decided = try await h.auditRecords().filter { $0["gate"]?["decision"]?.stringValue != "duplicate" }
        #expect(decided.count == 2)
        #expect(decided.allSatisfy { $0["dry_run"] == .bool(true) })
    }

    @Test func protectedAndOperatorStoppedContainersAreNeverTouched() async throws {
        let h = try ResponderHarness { $0.protectedPatterns = ["vault*"] }
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "labelled", status: "exited", labels: ["hemostat.protect": "true"], exitCode: 1)
        h.engine.add(name: "optout", status: "exited", labels: ["hemostat.enable": "false"], exitCode: 1)
        h.engine.add(name: "vault-1", status: "exited", exitCode: 1)
        h.engine.add(name: "stopped", status: "exited", exitCode: 143)
        h.engine.add(name: "flagged", status: "exited", exitCode: 1)
        h.engine.add(name: "test-redis", status: "exited", exitCode: 1)
        h.engine.add(name: "hemostat-monitor", status: "exited", exitCode: 1)
        let names = ["labelled", "optout", "vault-1", "stopped", "flagged", "test-redis", "hemostat-monitor", "gone"]
        try await h.running([h.service()]) {
            for name in names {
                try await h.publish(h.request(name, stoppedByOperator: name == "flagged" ? true : nil))
            }
            try await eventually("all reported") { try await h.completions().count == names.count }
        }
        #expect(h.engine.events.isEmpty)
        let byName = Dictionary(uniqueKeysWithValues: try await h.completions().map { ($0.container, $0.result) })
        #expect(byName["labelled"]?.status == .rejected)
        #expect(byName["optout"]?.status == .rejected)
        #expect(byName["vault-1"]?.status == .rejected)
        #expect(byName["test-redis"]?.status == .rejected)
        #expect(byName["hemostat-monitor"]?.status == .rejected)
        #expect(byName["stopped"]?.status == .skipped)
        #expect(byName["stopped"]?.reason.hasPrefix("stopped_by_operator") == true)
        #expect(byName["flagged"]?.reason.hasPrefix("stopped_by_operator") == true)
        #expect(byName["gone"]?.reason.hasPrefix("container_gone") == true)
    }

    @Test func aRepeatedRefusalOfOneIncidentIsReportedOnce() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "locked", status: "exited", labels: ["hemostat.protect": "true"], exitCode: 1)
        try await h.running([h.service()]) {
            for n in 0..<3 { try await h.publish(h.request("locked", alertID: "a\(n)", incidentID: "same")) }
            try await eventually("all audited") { try await h.auditRecords().count == 3 }
        }
        #expect(try await h.completions("locked").count == 1)
    }

    @Test func notifyEscalatesAndChangesNothing() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "odd", status: "running")
        try await h.running([h.service()]) {
            try await h.publish(h.request("odd", .notify))
            try await eventually("reported") { try await !h.completions("odd").isEmpty }
        }
        #expect(h.engine.events.isEmpty)
        #expect(try await h.escalations().map(\.action) == [.notify])
        #expect(try await h.completions("odd").first?.result.status == .skipped)
    }

    @Test func anUnknownActionIsRejectedWithItsReason() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "web", status: "exited", exitCode: 1)
        var json = h.request("web").json
        if case .object(var envelope) = json, case .object(var data)? = envelope["data"] {
            data["action"] = "reboot"
            envelope["data"] = .object(data)
            json = .object(envelope)
        }
        try await h.running([h.service()]) {
            try await MessageBus(redis: h.redis, keys: h.keys).publish(channel: h.keys.channel(.remediationNeeded), message: json.jsonText)
            try await eventually("dead-lettered") { try await h.redis.xlen(h.keys.channel(.deadLetter)) == 1 }
        }
        #expect(h.engine.events.isEmpty)
        let audit = try await h.auditRecords()
        #expect(audit.count == 1)
        #expect(audit.first?["action"]?.stringValue == "reboot")
        #expect(audit.first?["gate"]?["reason"]?.stringValue == "unknown_action")
    }

    @Test func verificationDoesNotHoldUpOtherContainers() async throws {
        // A window long enough that the second action surely comes while the first is still
        // being verified, however slow the machine.
        let h = try ResponderHarness { $0.verificationWindow = .seconds(10) }
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "first", status: "exited", exitCode: 1)
        h.engine.add(name: "second", status: "exited", exitCode: 1)
        try await h.running([h.service()]) {
            try await h.publish(h.request("first"))
            try await eventually("first acted on") { !h.engine.events(for: "first").isEmpty }
            try await h.publish(h.request("second"))
            // The second action is issued while the first is still being verified.
            try await eventually("second acted on") { !h.engine.events(for: "second").isEmpty }
            #expect(try await h.completions("first").isEmpty)
            try await eventually("both verified") { try await h.completions().count == 2 }
        }
        #expect(try await h.completions().allSatisfy { $0.result.status == .success })
    }

    @Test func holdReleaseAndResetAreAuditedWithWhoRanThem() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "maint", status: "exited", exitCode: 1)
        let operators = OperatorCommands(context: h.context())
        try await operators.hold(container: "maint", for: .seconds(600), reason: "upgrade", who: "alice")
        try await h.running([h.service()]) {
            try await h.publish(h.request("maint", alertID: "held"))
            try await eventually("rejected") { try await !h.completions("maint").isEmpty }
            let reports = try await operators.status()
            #expect(reports.first { $0.container == "maint" }?.heldBy == "alice")
            try await operators.release(container: "maint", who: "alice")
            try await h.publish(h.request("maint", alertID: "released"))
            try await eventually("acted") { try await h.completions("maint").count == 2 }
        }
        try await operators.resetBreaker(container: "maint", who: "bob")
        #expect(try await h.completions("maint").map(\.result.status) == [.rejected, .success])
        #expect(h.engine.events(for: "maint").count == 1)
        let operatorRecords = try await h.auditRecords().filter { $0["kind"]?.stringValue == "operator" }
        #expect(operatorRecords.map { $0["action"]?.stringValue ?? "" } == ["hold", "release", "breaker_reset"])
        #expect(operatorRecords.map { $0["who"]?.stringValue ?? "" } == ["alice", "alice", "bob"])
        let status = try await operators.status().first { $0.container == "maint" }
        #expect(status?.lastAction == "restart")
        #expect(status?.lastResult == "success")
    }

    @Test func redisRestartedMidActionCausesNoCrashAndNoDuplicate() async throws {
        let server = try RedisServerProcess()
        let release = Mutex(false)
        let entered = Mutex(false)
        let engine = InMemoryRemediationEngine(beforeAction: { _, _ in
            entered.withLock { $0 = true }
            while !release.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(10)) }
        })
        let h = try ResponderHarness(engine: engine, redisURL: server.tcpURL)
        engine.add(name: "svc", status: "exited", exitCode: 1)
        let request = h.request("svc", alertID: "alert-restart")
        let service = h.service()
        try await h.running([service]) {
            try await h.publish(request)
            try await eventually("action in progress") { entered.withLock { $0 } }
            try server.restart()
            release.withLock { $0 = true }
            try await eventually("result published after the restart") { (try? await h.completions("svc").isEmpty == false) ?? false }
            // The analyzer, restarted as well, publishes the same decision again.
            try await h.publish(h.request("svc", alertID: "alert-restart"))
            try await eventually("re-published request audited") {
                ((try? await h.auditRecords()) ?? []).contains { $0["gate"]?["decision"]?.stringValue == "duplicate" }
            }
        }
        #expect(engine.events(for: "svc").count == 1)
        #expect(try await h.completions("svc").map(\.result.status) == [.success])
        server.stop()
    }

    /// What a responder that stopped leaves of an allowed action: the gate's decision, its
    /// lock (whose lease is made to run out at once here) and its in-flight record in `phase`.
    private func leaveInterrupted(
        _ h: ResponderHarness, _ container: String, phase: InFlightAction.Phase, sentAgo: TimeInterval = 90
    ) async throws -> (envelope: Envelope<RemediationNeeded>, requestID: String) {
        let envelope = h.request(container)
        let requestID = ResponderService.requestID(for: envelope)
        let decidedAt = Date().addingTimeInterval(-sentAgo - 1)
        var record = InFlightAction(message: envelope.encode(), container: container, phase: .decided, decidedAt: decidedAt, holder: "test-host:responder")
        if phase != .decided { record = record.moved(to: .sent, at: Date().addingTimeInterval(-sentAgo), by: record.holder) }
        if phase == .confirmed { record = record.moved(to: .confirmed, at: Date().addingTimeInterval(-sentAgo + 1), by: record.holder) }
        let decision = try await h.gate().acquire(
            container: ContainerRef(host: "test-host", name: container), requestID: requestID, action: "restart", incidentID: "incident-1",
            inFlight: (h.keys.responderInFlight(host: "test-host"), record.json))
        #expect(decision.verdict == .allowed)
        let lock = SafetyGate.lockKey(namespace: h.keys.gate, container: ContainerRef(host: "test-host", name: container))
        _ = try await h.redis.send(["SET", lock, "\(requestID)|\(Int64(Date().timeIntervalSince1970 * 1000) - 1000)", "PX", "60000"])
        return (envelope, requestID)
    }

    private func recoveringService(_ h: ResponderHarness) -> ResponderService {
        ResponderService(
            context: h.context(), engine: h.actingEngine, dryRun: nil, own: OwnContainers(names: ["test-redis"]),
            persistFor: .seconds(20), recoveryInterval: .milliseconds(100))
    }

    @Test func aConfirmedActionWhoseResponderStoppedIsVerifiedNotRepeated() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "web", status: "running")
        _ = try await leaveInterrupted(h, "web", phase: .confirmed)
        try await h.running([recoveringService(h)]) {
            try await eventually("a result") { try await !h.completions("web").isEmpty }
        }
        let results = try await h.completions("web")
        #expect(results.map(\.result.status) == [.success])
        #expect(results.first?.result.reason.contains("after the responder that sent it stopped") == true)
        #expect(results.first?.incidentID == "incident-1")
        #expect(h.engine.events(for: "web").isEmpty, "nothing is done again")
        #expect(try await h.redis.send(["HLEN", h.keys.responderInFlight(host: "test-host")]).integer == 0)
        #expect(try await h.gate().status(container: "web").inFlight == false)
        #expect(try await h.gate().status(container: "web").lastResult == "success")
    }

    @Test func aDecidedActionWhoseResponderStoppedIsCarriedOutOnce() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "api", status: "exited", exitCode: 3)
        let (envelope, _) = try await leaveInterrupted(h, "api", phase: .decided)
        try await h.running([recoveringService(h), recoveringService(h)]) {
            // The request is delivered again as well: the gate says it was decided.
            try await h.publish(envelope)
            try await eventually("a result") { try await !h.completions("api").isEmpty }
            // Time for the second responder to act too, were it to (the engine acts at once).
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(h.engine.events(for: "api").map(\.action) == ["restart"])
        let results = try await h.completions("api")
        #expect(results.map(\.result.status) == [.success])
        #expect(try await h.redis.send(["HLEN", h.keys.responderInFlight(host: "test-host")]).integer == 0)
    }

    @Test func aSentActionTheEngineNeverSawIsCarriedOutOnce() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "db", status: "exited", exitCode: 3)
        h.engine.update("db") { $0.startedAt = Date().addingTimeInterval(-300) }  // it crashed before the restart was sent
        _ = try await leaveInterrupted(h, "db", phase: .sent)
        try await h.running([recoveringService(h)]) {
            try await eventually("a result") { try await !h.completions("db").isEmpty }
        }
        #expect(h.engine.events(for: "db").map(\.action) == ["restart"])
        #expect(try await h.completions("db").map(\.result.status) == [.success])
    }

    @Test func aSentActionTheEngineCarriedOutIsVerifiedNotRepeated() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "cache", status: "exited", exitCode: 3)
        _ = try await leaveInterrupted(h, "cache", phase: .sent, sentAgo: 2)
        // The engine restarted it; the answer never reached the responder that sent it.
        try await h.engine.perform(.restart(timeout: .seconds(1)), on: "cache")
        try await h.running([recoveringService(h)]) {
            try await eventually("a result") { try await !h.completions("cache").isEmpty }
        }
        #expect(h.engine.events(for: "cache").map(\.action) == ["restart"], "the restart is not repeated")
        let results = try await h.completions("cache")
        #expect(results.map(\.result.status) == [.success])
    }

    @Test func aHoldPlacedBeforeAnInterruptedActionWasSentIsRespected() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "queue", status: "exited", exitCode: 3)
        _ = try await leaveInterrupted(h, "queue", phase: .decided)
        try await h.gate().hold(container: "queue", for: .seconds(3600), by: "ops", reason: "migration")
        try await h.running([recoveringService(h)]) {
            try await eventually("a result") { try await !h.completions("queue").isEmpty }
        }
        #expect(h.engine.events(for: "queue").isEmpty)
        let results = try await h.completions("queue")
        #expect(results.map(\.result.status) == [.rejected])
        #expect(results.first?.result.reason.hasPrefix("held") == true)
        #expect(try await h.gate().status(container: "queue").inFlight == false)
    }

    @Test func anInterruptedActionIsNotTakenOverWhileItsLeaseIsRenewed() async throws {
        let release = Mutex(false)
        let engine = InMemoryRemediationEngine(beforeAction: { _, _ in
            while !release.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(10)) }
        })
        // A lease of 1 s, renewed by the acting responder while the engine takes 3 s.
        let h = try ResponderHarness(engine: engine) { $0.lockTTL = .seconds(1) }
        defer { Task { await h.cleanUp() } }
        engine.add(name: "slow", status: "exited", exitCode: 1)
        try await h.running([h.service(), recoveringService(h)]) {
            try await h.publish(h.request("slow"))
            // Three leases of 1 s: without renewal the other responder would take the action over.
            try await Task.sleep(for: .seconds(3))
            release.withLock { $0 = true }
            try await eventually("a result") { try await !h.completions("slow").isEmpty }
            // Time for a second action to reach the engine, were there one.
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(engine.events(for: "slow").map(\.action) == ["restart"])
        #expect(try await h.completions("slow").map(\.result.status) == [.success])
    }

    @Test func anHourLongVerificationIsDecidedAsTheClockPassesItWithoutWaiting() async throws {
        let h = try ResponderHarness {
            $0.verificationWindow = .seconds(3600)
            $0.verificationInterval = .seconds(60)
        }
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "proof", status: "exited", exitCode: 1)
        let clock = ManualWallClock(Date())
        var context = h.context()
        context.clock = clock
        let service = ResponderService(context: context, engine: h.actingEngine, dryRun: nil, own: OwnContainers(names: ["test-redis"]), persistFor: .seconds(20))
        try await h.running([service]) {
            try await h.publish(h.request("proof", alertID: "alert-1", incidentID: "inc-1"))
            try await eventually("restarted") { !h.engine.events(for: "proof").isEmpty }
            // An hour on the clock, a minute at a time, each time the verification waits on it.
            for minute in 0..<60 {
                try await eventually("the verification waiting on the clock") { clock.sleepers > 0 }
                #expect(try await h.completions("proof").isEmpty, "concluded after \(minute) min of an hour's window")
                clock.advance(by: .seconds(60))
            }
            try await eventually("the result") { try await !h.completions("proof").isEmpty }
        }
        #expect(try await h.completions("proof").map(\.result.status) == [.success])
        #expect(h.engine.events(for: "proof").count == 1)
    }

    @Test func respondersWhoseClocksDisagreeShareOneCooldown() async throws {
        let h = try ResponderHarness { $0.cooldown = .seconds(600) }
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "skewed", status: "exited", exitCode: 1)
        // The first responder's clock is two hours slow, the second's two hours fast: by their
        // own clocks the cooldown the first started is long over for the second.
        func responder(_ offset: TimeInterval) -> ResponderService {
            var context = h.context()
            context.clock = SkewedClock(offset: offset)
            return ResponderService(context: context, engine: h.actingEngine, dryRun: nil, own: OwnContainers(names: ["test-redis"]), persistFor: .seconds(20))
        }
        try await h.running([responder(-7200)]) {
            try await h.publish(h.request("skewed", alertID: "alert-1", incidentID: "inc-1"))
            try await eventually("restarted") { try await !h.completions("skewed").isEmpty }
        }
        h.engine.update("skewed") { $0.status = "exited" }
        try await h.running([responder(7200)]) {
            try await h.publish(h.request("skewed", alertID: "alert-2", incidentID: "inc-2"))
            try await eventually("answered") { try await h.completions("skewed").count == 2 }
        }
        #expect(h.engine.events(for: "skewed").count == 1, "the fast clock does not see the cooldown as over")
        let second = try await h.completions("skewed").last
        #expect(second?.result.status == .rejected)
        #expect(second?.result.reason.hasPrefix("cooldown") == true)
        #expect((590...600).contains(Int(second?.result.retryAfterSeconds ?? 0)))
    }

    @Test func anIneffectiveActionIsTriedAgainAfterTheBackoffUntilTheBreakerOpens() async throws {
        let h = try ResponderHarness {
            $0.cooldown = .seconds(600)
            $0.retryBackoff = [.milliseconds(300)]
            $0.breaker.failureThreshold = 2
        }
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "loop", status: "exited", exitCode: 1, behavior: .crashesAgain(exitCode: 1))
        try await h.running([h.service()]) {
            // One request: the second attempt is the responder's own, after the backoff.
            try await h.publish(h.request("loop", alertID: "alert-1", incidentID: "inc-1"))
            try await eventually("two attempts") { try await h.completions("loop").count == 2 }
            try await eventually("the breaker's escalation") { try await !h.escalations().isEmpty }
            try await Task.sleep(for: .milliseconds(800))  // a third attempt would come within the backoff
        }
        let results = try await h.completions("loop")
        #expect(results.map(\.result.status) == [.ineffective, .ineffective])
        #expect(results.last?.requestID?.contains("~retry-") == true, "\(results.map(\.requestID))")
        #expect(h.engine.events(for: "loop").count == 2)
        let escalations = try await h.escalations()
        #expect(escalations.count == 1 && escalations.first?.reason.contains("circuit breaker opened") == true, "\(escalations.map(\.reason))")
    }

    /// `name` is down; one restart (incident 1) succeeds, it goes down again, and two requests
    /// of a second incident follow, which the gate refuses: the container was acted on once.
    /// Returns the escalations published.
    private func downAgainAfterASuccess(_ h: ResponderHarness, _ name: String) async throws -> [Escalation] {
        h.engine.add(name: name, status: "exited", exitCode: 1)
        try await h.running([h.service()]) {
            try await h.publish(h.request(name, alertID: "alert-1", incidentID: "inc-1"))
            try await eventually("restarted") { try await h.completions(name).map(\.result.status) == [.success] }
            h.engine.update(name) { $0.status = "exited" }
            try await h.publish(h.request(name, alertID: "alert-2", incidentID: "inc-2"))
            try await eventually("refused") { try await h.completions(name).count == 2 }
            try await h.publish(h.request(name, alertID: "alert-3", incidentID: "inc-2"))
            try await eventually("the third request audited") {
                try await h.auditRecords().filter { $0["message_id"]?.stringValue != nil && $0["kind"]?.stringValue == "remediation" }.count >= 3
            }
        }
        #expect(h.engine.events(for: name).count == 1)
        #expect(try await h.completions(name).last?.result.status == .rejected)
        return try await h.escalations()
    }

    @Test func aFaultBackWithinTheCooldownAfterASuccessIsEscalatedOnce() async throws {
        let h = try ResponderHarness { $0.cooldown = .seconds(600) }
        defer { Task { await h.cleanUp() } }
        let escalations = try await downAgainAfterASuccess(h, "relapse")
        #expect(escalations.count == 1, "\(escalations.map(\.reason))")
        let reason = escalations.first?.reason ?? ""
        #expect(reason.contains("came back within the cooldown") && reason.contains("succeeded") && reason.contains("may act again at"), "\(reason)")
    }

    @Test func aDownContainerWhoseBudgetIsSpentIsEscalatedOnce() async throws {
        let h = try ResponderHarness {
            $0.cooldown = .zero
            $0.maxActionsPerHour = 1
        }
        defer { Task { await h.cleanUp() } }
        let escalations = try await downAgainAfterASuccess(h, "spent")
        #expect(escalations.count == 1, "\(escalations.map(\.reason))")
        let reason = escalations.first?.reason ?? ""
        #expect(reason.contains("is down") && reason.contains("budget is spent") && reason.contains("may act again at"), "\(reason)")
    }

    @Test func aRunningContainerWhoseBudgetIsSpentIsNotEscalated() async throws {
        let h = try ResponderHarness {
            $0.cooldown = .zero
            $0.maxActionsPerHour = 1
        }
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "busy", status: "running")
        try await h.running([h.service()]) {
            try await h.publish(h.request("busy", alertID: "alert-1", incidentID: "inc-1"))
            try await eventually("restarted") { try await h.completions("busy").map(\.result.status) == [.success] }
            try await h.publish(h.request("busy", alertID: "alert-2", incidentID: "inc-2"))
            try await eventually("refused") { try await h.completions("busy").count == 2 }
        }
        #expect(try await h.completions("busy").last?.result.status == .rejected)
        #expect(try await h.escalations().isEmpty)
    }

    @Test func theAssessmentOfAnInterruptedAction() {
        let record = InFlightAction(message: "{}", container: "c", phase: .decided, decidedAt: Date(), holder: "h")
        let restart = EngineCommand.restart(timeout: .seconds(1))
        #expect(record.assess(restart, engineActions: ["restart"]) == .notReached, "decided: never sent, whatever the engine did")
        let sent = record.moved(to: .sent, at: Date(), by: "h")
        #expect(sent.assess(restart, engineActions: ["die", "start"]) == .notReached, "a start by the restart policy is not the restart")
        #expect(sent.assess(restart, engineActions: ["kill", "die", "start", "restart"]) == .reached)
        #expect(sent.assess(.updateResources(memoryBytes: 1, cpus: nil), engineActions: ["update"]) == .reached)
        #expect(sent.moved(to: .confirmed, at: Date(), by: "h").assess(restart, engineActions: []) == .reached)
        // The engine's record is gone (it keeps its last events only); the container shows it.
        let before = ContainerInspection(id: "1", name: "c", status: "exited", exitCode: 3, startedAt: Date().addingTimeInterval(-60))
        var after = before
        after.status = "running"
        after.startedAt = Date()
        #expect(sent.assess(restart, engineActions: [], now: before) == .notReached)
        #expect(sent.assess(restart, engineActions: [], now: after) == .reached)
        let read = InFlightAction(json: sent.json)
        #expect(read?.phase == .sent && read?.message == "{}" && read?.holder == "h" && read?.sentAt != nil)
    }

    @Test func anAuditRecordLeavesOutWhatItDoesNotKnow() throws {
        let time = try #require(Timestamp.parse("2026-12-06T10:00:00.000Z"))
        var record = AuditRecord(kind: "operator", time: time, host: "h1", container: "web", action: "hold", status: "done", reason: "held")
        record.who = "ops"
        #expect(record.json == [
            "kind": "operator", "time": "2026-12-06T10:00:00.000000Z", "host": "h1", "container": "web", "action": "hold",
            "dry_run": false, "result": ["status": "done", "reason": "held"], "reported": true, "who": "ops",
        ])
        record.gateDecision = "allowed"
        record.actionsInWindow = 2
        record.requestToActionMs = 12.5
        #expect(record.json["gate"] == ["decision": "allowed", "actions_in_window": 2])
        #expect(record.json["timings"] == ["request_to_action_ms": 12.5])
    }

    /// Records kept by a responder from before phases existed, and what is not a record.
    @Test func storedInFlightRecordsAreRead() throws {
        let legacy = try #require(InFlightAction(json: #"{"message":"{}","container":"web","issued_at":"2026-12-01T10:00:00.000Z"}"#))
        #expect(legacy.phase == .sent && legacy.holder == "")
        #expect(legacy.decidedAt == Timestamp.parse("2026-12-01T10:00:00.000Z") && legacy.sentAt == legacy.decidedAt)
        for text in [
            "not json", "[]", #"{"container":"web","phase":"sent","decided_at":"2026-12-01T10:00:00.000Z"}"#,
            #"{"message":"{}","container":"web","phase":"lost","decided_at":"2026-12-01T10:00:00.000Z"}"#,
            #"{"message":"{}","container":"web","phase":"sent"}"#, #"{"message":"{}","container":"web"}"#,
        ] {
            #expect(InFlightAction(json: text) == nil, "\(text)")
        }
    }

    @Test func concludedActionsLeaveNoInFlightRecord() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        h.engine.add(name: "web", status: "exited", exitCode: 1)
        try await h.running([h.service()]) {
            try await h.publish(h.request("web"))
            try await eventually("a result") { try await !h.completions("web").isEmpty }
        }
        #expect(try await h.redis.send(["HLEN", h.keys.responderInFlight(host: "test-host")]).integer == 0)
    }

    @Test func gracefulShutdownLetsTheEngineCallFinishAndHandsTheVerificationBack() async throws {
        let release = Mutex(false)
        let entered = Mutex(false)
        let engine = InMemoryRemediationEngine(beforeAction: { _, _ in
            entered.withLock { $0 = true }
            while !release.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(10)) }
        })
        let h = try ResponderHarness(engine: engine) { $0.verificationWindow = .seconds(2) }
        defer { Task { await h.cleanUp() } }
        engine.add(name: "busy", status: "exited", exitCode: 1)
        let group = ServiceGroup(services: [h.service()], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        try await h.publish(h.request("busy"))
        try await eventually("action in progress") { entered.withLock { $0 } }
        await group.triggerGracefulShutdown()
        release.withLock { $0 = true }
        try await running.value
        #expect(engine.events(for: "busy").map(\.succeeded) == [true])
        #expect(try await h.completions("busy").isEmpty, "no result for a verification cut short")
        let records = try await h.redis.send(["HVALS", h.keys.responderInFlight(host: "test-host")]).array ?? []
        #expect(records.compactMap { $0.string.flatMap(InFlightAction.init(json:))?.phase } == [.confirmed])
        #expect(try await h.gate().status(container: "busy").inFlight == false, "the lease ended with the handing back")

        // The next responder verifies it and publishes the one result, without acting again.
        try await h.running([h.service()]) {
            try await eventually("a result") { try await !h.completions("busy").isEmpty }
        }
        #expect(try await h.completions("busy").map(\.result.status) == [.success])
        #expect(engine.events(for: "busy").count == 1)
    }
}

@Suite(.enabled(if: TestEnvironment.integration))
struct LegacyLayoutTests {
    @Test func aSingleHostInstallKeepsItsSafetyStateAcrossTheUpgrade() async throws {
        let h = try ResponderHarness()
        defer { Task { await h.cleanUp() } }
        // What the layout before hosts left: an open breaker and a hold on `web`, its history,
        // an unconcluded action, and `web` in the container list.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let until = String(now + 3_600_000)
        _ = try await h.redis.pipeline([
            ["HSET", "\(h.keys.gate):c:web", "breaker_state", "open", "breaker_opened_at", until, "hold_until", until, "hold_by", "ops"],
            ["ZADD", "\(h.keys.gate):c:web:failures", String(now - 3000), "r1", String(now - 2000), "r2", String(now - 1000), "r3"],
            ["LPUSH", "\(h.keys.prefix)remediation:web", "{}"],
            ["HSET", h.keys.legacyResponderInFlight, "alert-1:restart", "{}"],
            ["ZADD", h.keys.containers, "1", "web"],
        ])
        let moved = try await LegacyLayout.migrate(context: h.context(), logger: Logger(label: "test"))
        #expect(moved == 4)
        let status = try await h.gate().status(container: ContainerRef(host: "test-host", name: "web"))
        #expect(status.breakerState == .open && status.breakerFailures == 3)
        #expect(status.heldBy == "ops")
        #expect(try await h.redis.send(["LLEN", h.keys.remediation(ContainerRef(host: "test-host", name: "web"))]).integer == 1)
        #expect(try await h.redis.send(["HLEN", h.keys.responderInFlight(host: "test-host")]).integer == 1)
        #expect(try await h.redis.send(["EXISTS", "\(h.keys.gate):c:web", h.keys.legacyResponderInFlight]).integer == 0)
        #expect(try await h.redis.send(["ZCARD", h.keys.containers]).integer == 0)
        // Once per Redis.
        #expect(try await LegacyLayout.migrate(context: h.context(host: "other"), logger: Logger(label: "test")) == 0)
    }
}

/// The real time, `offset` seconds off: a responder on a machine whose clock is wrong.
struct SkewedClock: WallClock {
    var offset: TimeInterval
    var now: Date { Date().addingTimeInterval(offset) }
    func sleep(until deadline: Date) async throws {
        try await SystemWallClock().sleep(until: deadline.addingTimeInterval(-offset))
    }
}
