import Foundation
@testable import HemoStatCore
@testable import HemoStatModel
import HemoStatRedis
import HemoStatTestSupport
import Testing

/// The gate's semantics, against the real Redis, with time moved by a manual clock.
@Suite(.enabled(if: TestEnvironment.integration))
struct SafetyGateTests {
    let redis: RedisClient
    let clock = ManualWallClock()
    let namespace = "\(TestEnvironment.uniquePrefix("gate")):gate"

    init() throws {
        redis = RedisClient(configuration: try RedisConfiguration(url: try TestEnvironment.redisURL()))
    }

    func gate(_ configure: (inout SafetyPolicy) -> Void = { _ in }) -> SafetyGate {
        var policy = SafetyPolicy()
        configure(&policy)
        return SafetyGate(redis: redis, policy: policy, namespace: namespace, clock: clock)
    }

    @Test func withoutAnInjectedClockTheGateGoesByRedisTime() async throws {
        // Responders whose own clocks disagree: without an injected clock the gate reads Redis'
        // clock, so every time it keeps is on that one time line.
        var policy = SafetyPolicy()
        policy.cooldown = .seconds(600)
        let server = SafetyGate(redis: redis, policy: policy, namespace: namespace)
        let before = try await server.nowMilliseconds()
        #expect(try await server.acquire(container: "skew", requestID: "s-1", action: "restart", incidentID: "1").isAllowed)
        try await server.complete(container: "skew", requestID: "s-1", outcome: .success)
        let again = try await server.acquire(container: "skew", requestID: "s-2", action: "restart", incidentID: "2")
        #expect(again.verdict == .rejected(.cooldown))
        let until = Int64(try await server.hold(container: "skew", for: .seconds(60), by: "ops", reason: "").timeIntervalSince1970 * 1000)
        let status = try await server.status(container: "skew")
        let after = try await server.nowMilliseconds()
        #expect((before + 60_000...after + 60_000).contains(until), "the hold ends 60 s after Redis' now")
        let cooldownLeft = Int64(status.cooldownRemainingSeconds) * 1000
        #expect((before + 600_000 - after...600_000).contains(cooldownLeft), "the cooldown started at Redis' now")
    }

    @Test func cooldownRejectsUntilItExpires() async throws {
        let gate = gate { $0.cooldown = .seconds(600) }
        let first = try await gate.acquire(container: "web", requestID: "r1", action: "restart", incidentID: "i1")
        #expect(first.isAllowed)
        try await gate.complete(container: "web", requestID: "r1", outcome: .success)

        clock.advance(by: .seconds(599))
        let second = try await gate.acquire(container: "web", requestID: "r2", action: "restart", incidentID: "i2")
        #expect(second.verdict == .rejected(.cooldown))
        #expect(second.retryAfter == .seconds(1))

        clock.advance(by: .seconds(1))
        let third = try await gate.acquire(container: "web", requestID: "r3", action: "restart", incidentID: "i3")
        #expect(third.isAllowed)
    }

    @Test func slidingHourCapsActionsPerContainer() async throws {
        let gate = gate {
            $0.cooldown = .seconds(60)
            $0.maxActionsPerContainer = 3
        }
        for n in 0..<3 {
            let decision = try await gate.acquire(container: "api", requestID: "a\(n)", action: "restart", incidentID: "i\(n)")
            #expect(decision.isAllowed)
            try await gate.complete(container: "api", requestID: "a\(n)", outcome: .success)
            clock.advance(by: .seconds(61))
        }
        let fourth = try await gate.acquire(container: "api", requestID: "a3", action: "restart", incidentID: "i3")
        #expect(fourth.verdict == .rejected(.rateLimited))
        // The oldest action was 183 s ago; it leaves the window after 3600 s.
        #expect(fourth.retryAfter == .seconds(3600 - 183))

        clock.advance(by: .seconds(3600 - 183))
        let later = try await gate.acquire(container: "api", requestID: "a4", action: "restart", incidentID: "i4")
        #expect(later.isAllowed)
    }

    @Test func globalCapCountsEveryContainer() async throws {
        let gate = gate { $0.maxActionsGlobal = 2 }
        #expect(try await gate.acquire(container: "a", requestID: "g1", action: "restart", incidentID: "1").isAllowed)
        #expect(try await gate.acquire(container: "b", requestID: "g2", action: "restart", incidentID: "2").isAllowed)
        let third = try await gate.acquire(container: "c", requestID: "g3", action: "restart", incidentID: "3")
        #expect(third.verdict == .rejected(.globalRateLimited))
    }

    @Test func inFlightLockExpiresWhenItsHolderDies() async throws {
        let gate = gate {
            $0.cooldown = .zero
            $0.lockTTL = .seconds(120)
        }
        #expect(try await gate.acquire(container: "db", requestID: "l1", action: "restart", incidentID: "1").isAllowed)
        // The holder never completes.
        let blocked = try await gate.acquire(container: "db", requestID: "l2", action: "restart", incidentID: "2")
        #expect(blocked.verdict == .rejected(.inFlight))
        clock.advance(by: .seconds(121))
        #expect(try await gate.acquire(container: "db", requestID: "l3", action: "restart", incidentID: "3").isAllowed)
    }

    @Test func aRedeliveredRequestNeverActsTwice() async throws {
        let gate = gate { $0.cooldown = .zero }
        #expect(try await gate.acquire(container: "q", requestID: "same", action: "restart", incidentID: "1").isAllowed)
        try await gate.complete(container: "q", requestID: "same", outcome: .success)
        let again = try await gate.acquire(container: "q", requestID: "same", action: "restart", incidentID: "1")
        #expect(again.verdict == .duplicate(previous: "allowed"))
        #expect(try await gate.status(container: "q").actionsThisWindow == 1)
    }

    @Test func concurrentRequestsForOneContainerAllowExactlyOne() async throws {
        let gate = gate()
        let decisions = try await withThrowingTaskGroup(of: GateDecision.self) { group in
            for n in 0..<20 {
                group.addTask { try await gate.acquire(container: "race", requestID: "c\(n)", action: "restart", incidentID: "\(n)") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(decisions.filter(\.isAllowed).count == 1)
    }

    @Test func breakerOpensEscalatesOnceHalfOpensAndClosesOnSuccess() async throws {
        let gate = gate {
            $0.cooldown = .seconds(10)
            $0.maxActionsPerContainer = 100
            $0.breakerThreshold = 3
            $0.halfOpenAfter = .seconds(900)
        }
        var tripped: [Bool] = []
        for n in 0..<3 {
            #expect(try await gate.acquire(container: "loop", requestID: "b\(n)", action: "restart", incidentID: "i").isAllowed)
            tripped.append(try await gate.complete(container: "loop", requestID: "b\(n)", outcome: .ineffective).tripped)
            clock.advance(by: .seconds(11))
        }
        #expect(tripped == [false, false, true])

        let first = try await gate.acquire(container: "loop", requestID: "b3", action: "restart", incidentID: "i")
        let second = try await gate.acquire(container: "loop", requestID: "b4", action: "restart", incidentID: "i")
        #expect(first.verdict == .rejected(.breakerOpen))
        // The trip itself was the one escalation; the rejections while open are not.
        #expect(!first.escalate)
        #expect(!second.escalate)
        #expect(second.repeatedRejection)

        clock.advance(by: .seconds(900))
        let trial = try await gate.acquire(container: "loop", requestID: "b5", action: "restart", incidentID: "i")
        #expect(trial.isAllowed)
        #expect(trial.breakerState == .halfOpen)
        let closed = try await gate.complete(container: "loop", requestID: "b5", outcome: .success)
        #expect(closed.breaker == .closed)
        #expect(try await gate.status(container: "loop").breakerState == .closed)
    }

    @Test func aFailedTrialReopensTheBreaker() async throws {
        let gate = gate {
            $0.cooldown = .zero
            $0.breakerThreshold = 1
            $0.halfOpenAfter = .seconds(60)
        }
        #expect(try await gate.acquire(container: "x", requestID: "f1", action: "restart", incidentID: "i").isAllowed)
        #expect(try await gate.complete(container: "x", requestID: "f1", outcome: .failed).tripped)
        clock.advance(by: .seconds(60))
        #expect(try await gate.acquire(container: "x", requestID: "f2", action: "restart", incidentID: "i").isAllowed)
        let again = try await gate.complete(container: "x", requestID: "f2", outcome: .failed)
        #expect(again.breaker == .open)
    }

    @Test func holdAndReleaseAndReset() async throws {
        let gate = gate { $0.cooldown = .zero; $0.breakerThreshold = 1 }
        try await gate.hold(container: "m", for: .seconds(300), by: "alice", reason: "maintenance")
        let held = try await gate.acquire(container: "m", requestID: "h1", action: "restart", incidentID: "i")
        #expect(held.verdict == .rejected(.held))
        #expect(try await gate.status(container: "m").heldBy == "alice")
        try await gate.release(container: "m", by: "alice")
        #expect(try await gate.acquire(container: "m", requestID: "h2", action: "restart", incidentID: "i").isAllowed)
        #expect(try await gate.complete(container: "m", requestID: "h2", outcome: .failed).tripped)
        #expect(try await gate.status(container: "m").breakerState == .open)
        try await gate.resetBreaker(container: "m", by: "alice")
        #expect(try await gate.status(container: "m").breakerState == .closed)
    }

    @Test func statusesOfSeveralContainersInOnePipeline() async throws {
        let gate = gate { $0.cooldown = .zero; $0.breakerThreshold = 1 }
        try await gate.hold(container: "s1", for: .seconds(300), by: "bob", reason: "maintenance")
        #expect(try await gate.acquire(container: "s2", requestID: "f1", action: "restart", incidentID: "i").isAllowed)
        #expect(try await gate.complete(container: "s2", requestID: "f1", outcome: .failed).tripped)
        let all = try await gate.statuses(containers: ["s1", "s2", "s3"])
        #expect(all.map(\.container) == ["s1", "s2", "s3"])
        #expect(all[0].heldBy == "bob" && all[0].breakerState == .closed)
        #expect(all[1].heldBy == nil && all[1].breakerState == .open && all[1].lastAction == "restart" && all[1].actionsThisWindow == 1)
        #expect(all[2].heldBy == nil && all[2].breakerState == .closed && all[2].lastAction == nil)
        #expect(try await gate.status(container: "s2").breakerFailures == all[1].breakerFailures)
        #expect(try await gate.statuses(containers: []).isEmpty)
    }

    @Test func dryRunNamespaceNeverConsumesTheLiveBudget() async throws {
        let live = gate()
        let dry = SafetyGate(redis: redis, policy: live.policy, namespace: namespace + ":dryrun", clock: clock)
        #expect(try await dry.acquire(container: "w", requestID: "d1", action: "restart", incidentID: "i").isAllowed)
        #expect(try await dry.acquire(container: "w", requestID: "d2", action: "restart", incidentID: "i").verdict == .rejected(.inFlight))
        let status = try await live.status(container: "w")
        #expect(status.actionsThisWindow == 0)
        #expect(status.cooldownRemainingSeconds == 0)
        #expect(try await live.acquire(container: "w", requestID: "l1", action: "restart", incidentID: "i").isAllowed)
    }

    @Test func aRequestDecidedInDryRunIsNotActedOnLiveLater() async throws {
        let keys = KeySpace(prefix: namespace + ":")
        let live = SafetyGate(redis: redis, policy: SafetyPolicy(), keys: keys, dryRun: false, clock: clock)
        let dry = SafetyGate(redis: redis, policy: SafetyPolicy(), keys: keys, dryRun: true, clock: clock)
        #expect(try await dry.acquire(container: "n", requestID: "once", action: "restart", incidentID: "i").isAllowed)
        let later = try await live.acquire(container: "n", requestID: "once", action: "restart", incidentID: "i")
        #expect(later.verdict == .duplicate(previous: "other_namespace:allowed"))
        #expect(try await live.status(container: "n").actionsThisWindow == 0)
    }
}
