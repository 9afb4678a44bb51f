import Foundation
@testable import HemoStatCore
@testable import HemoStatModel
@testable import HemoStatMonitor
import Testing

/// Step-by-step tests of the per-container anomaly state machine with hand-made samples.
@Suite struct MonitorWatchTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let policy = MonitorPolicy(sustainedSamples: 3, restartLoopCount: 3, restartLoopWindow: 300, memoryGrowthHorizon: 900, reminderInterval: 900, historyLength: 20)

    func container(status: String = "running", health: String = "none", exit: Int = 0, oom: Bool = false, restarts: Int = 0) -> ContainerInspection {
        ContainerInspection(id: "c1", name: "web", image: "nginx", status: status, healthStatus: health, exitCode: exit, oomKilled: oom, restartCount: restarts)
    }

    func sample(_ c: ContainerInspection, cpu: Double? = 5, memory: Int = 10_000_000, limit: Int = 100_000_000, at seconds: Double) -> ContainerSample {
        let metrics = c.isRunning ? ContainerMetrics(cpuPercent: cpu ?? 0, memoryPercent: Double(memory) / Double(limit) * 100, memoryUsage: memory, memoryLimit: limit) : nil
        return ContainerSample(container: c, metrics: metrics, cpuKnown: cpu != nil, sampledAt: Self.t0.addingTimeInterval(seconds))
    }

    func at(_ seconds: Double) -> Date { Self.t0.addingTimeInterval(seconds) }

    func alerts(_ actions: [WatchAction]) -> [(HealthAlert, Bool)] {
        actions.compactMap { if case .alert(let a, let r, _) = $0 { (a, r) } else { nil } }
    }

    func recoveries(_ actions: [WatchAction]) -> [ContainerRecovered] {
        actions.compactMap { if case .recovered(let r) = $0 { r } else { nil } }
    }

    func event(_ action: String, _ seconds: Double, _ attributes: [String: String] = [:]) -> EngineEvent {
        EngineEvent(action: action, containerID: "c1", containerName: "web", attributes: attributes, time: at(seconds))
    }

    @Test func aCrashLoopIsAlertedOnTheDeathThatCompletesTheCount() throws {
        // Restart policy `always`: die, start, die, start, die within seconds; no poll between.
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        let first = alerts(watch.observe(event: event("die", 10, ["exitCode": "3"]), inspection: container(status: "exited", exit: 3), now: at(10.01)))
        #expect(first.map { $0.0.anomalies.map(\.type) } == [[.nonZeroExit]])
        #expect(watch.observe(event: event("start", 10.2), inspection: container(restarts: 1), now: at(10.2)).isEmpty)
        #expect(alerts(watch.observe(event: event("die", 12.2, ["exitCode": "3"]), inspection: container(status: "exited", exit: 3, restarts: 1), now: at(12.21))).isEmpty)
        #expect(watch.observe(event: event("start", 12.6), inspection: container(restarts: 2), now: at(12.6)).isEmpty)
        let third = alerts(watch.observe(event: event("die", 14.6, ["exitCode": "3"]), inspection: container(status: "exited", exit: 3, restarts: 2), now: at(14.61)))
        try #require(third.count == 1)
        #expect(third[0].0.incidentID == first[0].0.incidentID, "the same incident")
        let loop = try #require(third[0].0.anomalies.first { $0.type == .restartLoop })
        #expect(loop.value == 3 && loop.message == "3 crashes within 300 s")
        #expect(third[0].0.source == .event)
    }

    @Test func stopsThroughTheAPIAreNotCrashes() {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        for i in 0..<4 {
            let t = Double(i) * 10
            _ = watch.observe(event: event("kill", t, ["signal": "15"]), inspection: nil, now: at(t))
            _ = watch.observe(event: event("die", t + 0.1, ["exitCode": "143"]), inspection: container(status: "exited", exit: 143), now: at(t + 0.1))
            _ = watch.observe(event: event("start", t + 1), inspection: container(), now: at(t + 1))
        }
        #expect(!watch.currentAnomalies(now: at(35)).contains { $0.type == .restartLoop })
    }

    @Test func sustainedCPUAlertsOnceThenRemindsThenRecovers() throws {
        let c = container()
        var watch = ContainerWatch(sample: sample(c, at: 0), policy: policy)
        #expect(watch.observe(sample: sample(c, cpu: 95, at: 0), now: at(0)).isEmpty)
        #expect(watch.observe(sample: sample(c, cpu: 95, at: 30), now: at(30)).isEmpty)
        let first = alerts(watch.observe(sample: sample(c, cpu: 95, at: 60), now: at(60)))
        try #require(first.count == 1)
        #expect(first[0].0.anomalies.map(\.type) == [.highCPU])
        #expect(first[0].0.anomalies[0].value == 95)
        #expect(first[0].0.anomalies[0].threshold == 85)
        #expect(first[0].0.source == .poll)
        #expect(first[0].1 == false)
        let incident = first[0].0.incidentID
        // Still high for several cycles: no new alert until the reminder interval.
        for step in 1...29 {
            #expect(alerts(watch.observe(sample: sample(c, cpu: 96, at: 60 + Double(step) * 30), now: at(60 + Double(step) * 30))).isEmpty)
        }
        let reminder = alerts(watch.observe(sample: sample(c, cpu: 97, at: 960), now: at(960)))
        try #require(reminder.count == 1)
        #expect(reminder[0].1 == true)
        #expect(reminder[0].0.incidentID == incident)
        let back = recoveries(watch.observe(sample: sample(c, cpu: 3, at: 990), now: at(990)))
        try #require(back.count == 1)
        #expect(back[0].incidentID == incident)
        #expect(back[0].resolvedAnomalies == [.highCPU])
        // A new incident gets a new id.
        _ = watch.observe(sample: sample(c, cpu: 95, at: 1020), now: at(1020))
        _ = watch.observe(sample: sample(c, cpu: 95, at: 1050), now: at(1050))
        let again = alerts(watch.observe(sample: sample(c, cpu: 95, at: 1080), now: at(1080)))
        #expect(again.count == 1 && again[0].0.incidentID != incident)
    }

    @Test func aSampleWhoseStatsCouldNotBeReadDoesNotEndAnIncident() throws {
        let c = container()
        var watch = ContainerWatch(sample: sample(c, at: 0), policy: policy)
        for step in 0..<2 { _ = watch.observe(sample: sample(c, cpu: 95, at: Double(step) * 30), now: at(Double(step) * 30)) }
        let opened = alerts(watch.observe(sample: sample(c, cpu: 95, at: 60), now: at(60)))
        try #require(opened.count == 1)
        // The engine did not answer the stats call (a loaded engine): no metrics in this sample.
        let unread = ContainerSample(container: c, metrics: nil, cpuKnown: false, sampledAt: at(90))
        #expect(watch.observe(sample: unread, now: at(90)).isEmpty, "no recovery from a sample that says nothing")
        #expect(watch.anomalies.map(\.type) == [.highCPU])
        // Still high at the next sample: still the same incident, nothing new to say.
        #expect(watch.observe(sample: sample(c, cpu: 96, at: 120), now: at(120)).isEmpty)
        #expect(watch.incident?.id == opened[0].0.incidentID)
    }

    @Test func shortBurstIsNotAlerted() {
        let c = container()
        var watch = ContainerWatch(sample: sample(c, at: 0), policy: policy)
        var all: [WatchAction] = []
        for (i, cpu) in [10.0, 99, 99, 10, 99, 10, 99, 99, 5].enumerated() {
            all += watch.observe(sample: sample(c, cpu: cpu, at: Double(i) * 30), now: at(Double(i) * 30))
        }
        #expect(all.isEmpty)
    }

    @Test func unknownCPUNeitherCountsNorBreaksAStreak() {
        let c = container()
        var watch = ContainerWatch(sample: sample(c, at: 0), policy: policy)
        _ = watch.observe(sample: sample(c, cpu: 95, at: 0), now: at(0))
        _ = watch.observe(sample: sample(c, cpu: nil, at: 30), now: at(30))
        _ = watch.observe(sample: sample(c, cpu: 95, at: 60), now: at(60))
        #expect(watch.anomalies.isEmpty)
        #expect(alerts(watch.observe(sample: sample(c, cpu: 95, at: 90), now: at(90))).count == 1)
    }

    @Test func highMemorySustainedAndCriticalNearTheLimit() throws {
        let c = container()
        var watch = ContainerWatch(sample: sample(c, at: 0), policy: policy)
        _ = watch.observe(sample: sample(c, memory: 96_000_000, at: 0), now: at(0))
        _ = watch.observe(sample: sample(c, memory: 96_000_000, at: 30), now: at(30))
        let a = alerts(watch.observe(sample: sample(c, memory: 96_000_000, at: 60), now: at(60)))
        try #require(a.count == 1)
        let anomaly = try #require(a[0].0.anomalies.first { $0.type == .highMemory })
        #expect(anomaly.severity == .critical)
        #expect(anomaly.threshold == 80)
    }

    @Test func healthStartingIsNotUnhealthy() throws {
        var watch = ContainerWatch(sample: sample(container(health: "starting"), at: 0), policy: policy)
        #expect(watch.observe(sample: sample(container(health: "starting"), at: 0), now: at(0)).isEmpty)
        #expect(watch.observe(event: event("health_status: starting", 10), inspection: nil, now: at(10)).isEmpty)
        let a = alerts(watch.observe(event: event("health_status: unhealthy", 20), inspection: container(health: "unhealthy"), now: at(20.1)))
        try #require(a.count == 1)
        #expect(a[0].0.anomalies.map(\.type) == [.unhealthy])
        #expect(a[0].0.source == .event)
        #expect(a[0].0.detectedAt == at(20))
        // The poll sees the same unhealthy state: same incident, no second alert.
        #expect(alerts(watch.observe(sample: sample(container(health: "unhealthy"), at: 30), now: at(30))).isEmpty)
        let back = recoveries(watch.observe(sample: sample(container(health: "healthy"), at: 60), now: at(60)))
        #expect(back.count == 1 && back[0].resolvedAnomalies == [.unhealthy])
    }

    @Test func crashThroughTheEventPathIsOneIncident() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(sample: sample(container(), at: 0), now: at(0))
        let exited = container(status: "exited", exit: 3)
        let a = alerts(watch.observe(event: event("die", 10, ["exitCode": "3"]), inspection: exited, now: at(10.05)))
        try #require(a.count == 1)
        #expect(a[0].0.anomalies.map(\.type) == [.nonZeroExit])
        #expect(a[0].0.anomalies[0].severity == .critical)
        #expect(a[0].0.exitCode == 3)
        #expect(a[0].0.stoppedByOperator == false)
        #expect(a[0].0.source == .event)
        #expect(a[0].0.metrics == nil)
        // Later polls of the exited container: nothing new.
        #expect(watch.observe(sample: sample(exited, at: 30), now: at(30)).isEmpty)
        #expect(watch.observe(sample: sample(exited, at: 60), now: at(60)).isEmpty)
        // Restarted and running at the next poll: recovered.
        #expect(watch.observe(event: event("start", 70), inspection: container(restarts: 0), now: at(70)).isEmpty)
        #expect(recoveries(watch.observe(sample: sample(container(), at: 90), now: at(90))).count == 1)
    }

    @Test func pollInspectedBeforeTheDieDoesNotCloseTheIncident() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(sample: sample(container(), at: 0), now: at(0))
        let exited = container(status: "exited", exit: 3)
        // The poll inspects at 29.5 (running), the container dies at 30, the event is applied
        // at 30.05, and the poll's sample arrives at 31 after reading stats.
        var stale = sample(container(), at: 31)
        stale.inspectedAt = at(29.5)
        let opened = alerts(watch.observe(event: event("die", 30, ["exitCode": "3"]), inspection: exited, now: at(30.05)))
        try #require(opened.count == 1)
        #expect(watch.observe(sample: stale, now: at(31)).isEmpty)
        #expect(watch.latest.container.status == "exited")
        // The next poll sees it exited: still the same incident, nothing new.
        var next = sample(exited, at: 61)
        next.inspectedAt = at(60)
        #expect(watch.observe(sample: next, now: at(61)).isEmpty)
        // Restarted by hand and inspected after the last event: recovered, same incident.
        var running = sample(container(), at: 91)
        running.inspectedAt = at(90)
        let back = recoveries(watch.observe(sample: running, now: at(91)))
        try #require(back.count == 1)
        #expect(back[0].incidentID == opened[0].0.incidentID)
    }

    @Test func exitZeroIsNotACrash() {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        #expect(watch.observe(event: event("die", 10, ["exitCode": "0"]), inspection: container(status: "exited"), now: at(10)).isEmpty)
    }

    @Test func hemoStatsOwnRestartIsNotAnnounced() throws {
        // An unhealthy container restarted by the responder: SIGTERM, then SIGKILL after the
        // stop timeout, `die`, `stop`, `start`, while the responder holds the gate lock.
        var watch = ContainerWatch(sample: sample(container(health: "unhealthy"), at: 0), policy: policy)
        let opened = alerts(watch.observe(sample: sample(container(health: "unhealthy"), at: 0), now: at(0)))
        try #require(opened.count == 1)
        #expect(watch.observe(event: event("kill", 10, ["signal": "15"]), inspection: nil, now: at(10), byHemoStat: true).isEmpty)
        #expect(watch.observe(event: event("kill", 20, ["signal": "9"]), inspection: nil, now: at(20), byHemoStat: true).isEmpty)
        let died = watch.observe(event: event("die", 20.1, ["exitCode": "137"]), inspection: container(status: "exited", exit: 137), now: at(20.1))
        #expect(alerts(died).isEmpty)
        #expect(died.contains(.checkAgain(containerID: "c1", at: at(20.1 + policy.ownStopGrace))))
        // A poll between the stop and the start announces nothing either.
        #expect(watch.observe(sample: sample(container(status: "exited", exit: 137), at: 20.5), now: at(20.5)).isEmpty)
        #expect(watch.observe(event: event("stop", 20.2), inspection: nil, now: at(20.6), byHemoStat: true).isEmpty)
        #expect(watch.observe(event: event("start", 21), inspection: container(), now: at(21)).isEmpty)
        #expect(watch.tick(now: at(40)).isEmpty)
        // Running and healthy at the next poll: the incident that asked for the restart is over.
        let back = recoveries(watch.observe(sample: sample(container(), at: 30), now: at(41)))
        try #require(back.count == 1)
        #expect(back[0].incidentID == opened[0].0.incidentID)
    }

    @Test func hemoStatsOwnStopWithoutAStartIsAnnouncedAsAStop() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(sample: sample(container(), at: 0), now: at(0))
        #expect(watch.observe(event: event("kill", 10, ["signal": "9"]), inspection: nil, now: at(10), byHemoStat: true).isEmpty)
        let died = watch.observe(event: event("die", 10.1, ["exitCode": "137"]), inspection: container(status: "exited", exit: 137), now: at(10.1))
        #expect(alerts(died).isEmpty)
        #expect(watch.tick(now: at(15)) == [.checkAgain(containerID: "c1", at: at(10.1 + policy.ownStopGrace))])
        let a = alerts(watch.tick(now: at(10.1 + policy.ownStopGrace)))
        try #require(a.count == 1)
        #expect(a[0].0.stoppedByOperator == true)
        #expect(a[0].0.anomalies.map(\.type) == [.containerStopped])
        #expect(a[0].0.anomalies[0].message == "stopped by HemoStat's remediation (kill, signal 9)")
    }

    @Test func operatorStopIsMarked() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        #expect(watch.observe(event: event("kill", 10, ["signal": "15"]), inspection: nil, now: at(10)).isEmpty)
        let a = alerts(watch.observe(event: event("die", 20, ["exitCode": "137"]), inspection: container(status: "exited", exit: 137), now: at(20)))
        try #require(a.count == 1)
        #expect(a[0].0.stoppedByOperator == true)
        #expect(a[0].0.anomalies.map(\.type) == [.containerStopped])
        #expect(a[0].0.anomalies[0].severity == .info)
        #expect(a[0].0.anomalies[0].message?.contains("signal 15") == true)
        #expect(watch.observe(event: event("stop", 20.1), inspection: nil, now: at(20.1)).isEmpty)
        // Polls of the stopped container neither repeat nor call it a crash, even past the reminder interval.
        #expect(watch.observe(sample: sample(container(status: "exited", exit: 137), at: 30), now: at(30)).isEmpty)
        #expect(watch.observe(sample: sample(container(status: "exited", exit: 137), at: 2000), now: at(2000)).isEmpty)
        // Started again, then a real crash: not the operator's.
        _ = watch.observe(event: event("start", 2010), inspection: container(), now: at(2010))
        _ = watch.observe(sample: sample(container(), at: 2020), now: at(2020))
        let crash = alerts(watch.observe(event: event("die", 2030, ["exitCode": "1"]), inspection: container(status: "exited", exit: 1), now: at(2030)))
        try #require(crash.count == 1)
        #expect(crash[0].0.stoppedByOperator == false)
        #expect(crash[0].0.anomalies.map(\.type) == [.nonZeroExit])
    }

    @Test func killLongBeforeTheDieIsNotAnOperatorStop() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(event: event("kill", 10, ["signal": "1"]), inspection: nil, now: at(10))
        let a = alerts(watch.observe(event: event("die", 500, ["exitCode": "2"]), inspection: container(status: "exited", exit: 2), now: at(500)))
        #expect(a.count == 1 && a[0].0.stoppedByOperator == false)
    }

    @Test func oomThenDieIsOneAlertWithBoth() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        let first = watch.observe(event: event("oom", 10), inspection: container(), now: at(10))
        #expect(alerts(first).isEmpty)
        #expect(first == [.checkAgain(containerID: "c1", at: at(10.3))])
        let a = alerts(watch.observe(event: event("die", 10.05, ["exitCode": "137"]), inspection: container(status: "exited", exit: 137, oom: true), now: at(10.06)))
        try #require(a.count == 1)
        #expect(Set(a[0].0.anomalies.map(\.type)) == [.nonZeroExit, .oomKilled])
        #expect(a[0].0.oomKilled)
        #expect(a[0].0.source == .event)
        // The scheduled check finds nothing pending.
        #expect(watch.tick(now: at(10.3)).isEmpty)
    }

    @Test func dieBeforeOOMIsOneAlertWithBoth() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        let first = watch.observe(event: event("die", 10, ["exitCode": "137"]), inspection: container(status: "exited", exit: 137), now: at(10.01))
        #expect(first == [.checkAgain(containerID: "c1", at: at(12.01))])
        let a = alerts(watch.observe(event: event("oom", 10.02), inspection: nil, now: at(10.03)))
        try #require(a.count == 1)
        #expect(Set(a[0].0.anomalies.map(\.type)) == [.nonZeroExit, .oomKilled])
        #expect(a[0].0.oomKilled)
        #expect(a[0].0.detectedAt == at(10))
        #expect(watch.tick(now: at(12.01)).isEmpty)
    }

    @Test func sigkillExitWithoutOOMIsAlertedAfterTheGrace() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        #expect(alerts(watch.observe(event: event("die", 10, ["exitCode": "137"]), inspection: container(status: "exited", exit: 137), now: at(10))).isEmpty)
        #expect(watch.tick(now: at(10.5)) == [.checkAgain(containerID: "c1", at: at(12))])
        let a = alerts(watch.tick(now: at(12)))
        try #require(a.count == 1)
        #expect(a[0].0.anomalies.map(\.type) == [.nonZeroExit])
        #expect(!a[0].0.oomKilled)
        #expect(a[0].0.detectedAt == at(10))
        // No stop or kill through the API came before it: the exit was its own, whatever its code.
        #expect(a[0].0.stoppedByOperator == false)
    }

    /// The event stream was away while the container ran again and stopped: how the earlier
    /// run ended says nothing of this one, so the alert does not say it was its own exit.
    @Test func aRunThePollAloneSawEndsOfUnknownCause() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(sample: sample(container(), at: 0), now: at(0))
        let crash = alerts(watch.observe(event: event("die", 10, ["exitCode": "3"]), inspection: container(status: "exited", exit: 3), now: at(10)))
        try #require(crash.count == 1)
        #expect(crash[0].0.stoppedByOperator == false)
        #expect(watch.stoppedByOperator == false)
        // Restarted by its policy and stopped while the stream was away: one incident still,
        // whose next alert no longer says the exit was the container's own.
        _ = watch.observe(sample: sample(container(status: "exited", exit: 143, restarts: 1), at: 100), now: at(100))
        #expect(watch.stoppedByOperator == nil)
    }

    /// A loaded engine delivers the `die` late, and its `oom` as late: the grace runs from when
    /// the watch applied the `die`, so the `oom` still makes one alert with both.
    @Test func theGraceForALateDieRunsFromWhenItArrived() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        #expect(alerts(watch.observe(event: event("die", 10, ["exitCode": "137"]), inspection: container(status: "exited", exit: 137), now: at(11.5))).isEmpty)
        #expect(watch.tick(now: at(12.2)) == [.checkAgain(containerID: "c1", at: at(11.5 + policy.killGrace))])
        let a = alerts(watch.observe(event: event("oom", 10.1), inspection: nil, now: at(13)))
        try #require(a.count == 1)
        #expect(Set(a[0].0.anomalies.map(\.type)) == [.nonZeroExit, .oomKilled])
        #expect(a[0].0.detectedAt == at(10), "the fault's time is the engine's")
    }

    /// Podman's stream leaves out a `stop` now and then: a signal's exit code with no stop or
    /// kill before it may be an operator's, so the alert does not say it was not.
    @Test func aSignalExitOnAnEngineThatMayMissStopsIsOfUnknownCause() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        var died = event("die", 10, ["exitCode": "143"])
        died.stopsMayBeMissing = true
        let a = alerts(watch.observe(event: died, inspection: container(status: "exited", exit: 143), now: at(10)))
        try #require(a.count == 1)
        #expect(a[0].0.stoppedByOperator == nil)
        // A crash's own exit code is the container's own, on any engine.
        watch = ContainerWatch(sample: sample(container(), at: 20), policy: policy)
        var crashed = event("die", 30, ["exitCode": "3"])
        crashed.stopsMayBeMissing = true
        let b = alerts(watch.observe(event: crashed, inspection: container(status: "exited", exit: 3), now: at(30)))
        try #require(b.count == 1)
        #expect(b[0].0.stoppedByOperator == false)
    }

    /// A loaded engine may deliver the `die` of an OOM kill after a poll has seen the container
    /// down: the `oom` and the engine's own OOMKilled tell how it went down, and no operator did.
    @Test func anOOMKillWhoseDieIsLateWasNotAnOperatorStop() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(event: event("oom", 10), inspection: container(), now: at(10))
        let down = sample(container(status: "exited", exit: 137, oom: true), at: 10.1)
        let polled = alerts(watch.observe(sample: down, now: at(10.1)))
        let ticked = alerts(watch.tick(now: at(10.3)))
        let a = polled + ticked
        try #require(a.count == 1)
        #expect(a[0].0.anomalies.contains { $0.type == .oomKilled })
        #expect(a[0].0.stoppedByOperator == false)
        #expect(watch.stoppedByOperator == false)
    }

    @Test func aCrashThePollSeesFirstWaitsForItsDie() throws {
        // The poll reads the container down before the engine has delivered its `die`: the alert
        // waits for the event that tells a crash from a stop.
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(sample: sample(container(), at: 1), now: at(1), eventsFollowed: true)
        let down = sample(container(status: "exited", exit: 3), at: 10)
        #expect(watch.observe(sample: down, now: at(10), eventsFollowed: true) == [.checkAgain(containerID: "c1", at: at(13))])
        #expect(watch.observe(sample: sample(container(status: "exited", exit: 3), at: 11), now: at(11), eventsFollowed: true).isEmpty)
        let a = alerts(watch.observe(event: event("die", 9.5, ["exitCode": "3"]), inspection: container(status: "exited", exit: 3), now: at(11.5)))
        try #require(a.count == 1)
        #expect(a[0].0.stoppedByOperator == false)
        #expect(a[0].0.source == .event)
        #expect(a[0].0.detectedAt == at(9.5))
        #expect(watch.tick(now: at(13)).isEmpty, "the wait ended with the die")
    }

    @Test func aStopThePollSeesFirstIsAnnouncedAsAStop() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(sample: sample(container(), at: 1), now: at(1), eventsFollowed: true)
        _ = watch.observe(event: event("kill", 9.5, ["signal": "15"]), inspection: nil, now: at(9.5))
        #expect(alerts(watch.observe(sample: sample(container(status: "exited", exit: 143), at: 10), now: at(10), eventsFollowed: true)).isEmpty)
        let a = alerts(watch.observe(event: event("die", 9.9, ["exitCode": "143"]), inspection: container(status: "exited", exit: 143), now: at(10.2)))
        try #require(a.count == 1)
        #expect(a[0].0.stoppedByOperator == true)
        #expect(a[0].0.anomalies.map(\.type) == [.containerStopped])
    }

    @Test func aDownContainerWhoseDieNeverComesIsAnnouncedAfterTheGraceAsUnknown() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(sample: sample(container(), at: 1), now: at(1), eventsFollowed: true)
        #expect(alerts(watch.observe(sample: sample(container(status: "exited", exit: 3), at: 10), now: at(10), eventsFollowed: true)).isEmpty)
        #expect(watch.tick(now: at(12)) == [.checkAgain(containerID: "c1", at: at(13))])
        let a = alerts(watch.tick(now: at(13)))
        try #require(a.count == 1)
        #expect(a[0].0.stoppedByOperator == nil, "how it went down is not known")
        #expect(a[0].0.source == .poll)
        #expect(a[0].0.detectedAt == at(10))
        // Still down at the next polls: no new wait, no new alert.
        #expect(watch.observe(sample: sample(container(status: "exited", exit: 3), at: 14), now: at(14), eventsFollowed: true).isEmpty)
        #expect(watch.tick(now: at(17)).isEmpty)
        // Without the event stream, the poll announces at once.
        var unfollowed = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = unfollowed.observe(sample: sample(container(), at: 1), now: at(1))
        let now = alerts(unfollowed.observe(sample: sample(container(status: "exited", exit: 3), at: 10), now: at(10)))
        #expect(now.map(\.0.stoppedByOperator) == [nil])
    }

    @Test func oomWithoutDieIsAlertedAfterTheGrace() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(event: event("oom", 10), inspection: container(), now: at(10))
        #expect(watch.tick(now: at(10.1)) == [.checkAgain(containerID: "c1", at: at(10.3))])
        let a = alerts(watch.tick(now: at(10.3)))
        try #require(a.count == 1)
        #expect(a[0].0.anomalies.map(\.type) == [.oomKilled])
        #expect(a[0].0.status == "running")
        #expect(a[0].0.detectedAt == at(10))
        // The container kept running: the next poll closes the incident.
        #expect(recoveries(watch.observe(sample: sample(container(), at: 30), now: at(30))).count == 1)
    }

    @Test func restartLoopWithinTheWindow() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(sample: sample(container(restarts: 0), at: 0), now: at(0))
        _ = watch.observe(sample: sample(container(restarts: 1), at: 30), now: at(30))
        #expect(watch.observe(sample: sample(container(restarts: 2), at: 60), now: at(60)).isEmpty)
        let a = alerts(watch.observe(sample: sample(container(restarts: 3), at: 90), now: at(90)))
        try #require(a.count == 1)
        let loop = try #require(a[0].0.anomalies.first)
        #expect(loop.type == .restartLoop && loop.value == 3 && loop.threshold == 3)
        // Restarts spread over more than the window are not a loop.
        var slow = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        var all: [WatchAction] = []
        for i in 0..<8 {
            all += slow.observe(sample: sample(container(restarts: i), at: Double(i) * 200), now: at(Double(i) * 200))
        }
        #expect(all.isEmpty)
    }

    @Test func crashLoopStaysOneIncidentAcrossRunningPhasesSeenByEvents() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        _ = watch.observe(sample: sample(container(), at: 0), now: at(0))
        var all: [WatchAction] = []
        for i in 0..<3 {
            let t = 10 + Double(i) * 2
            all += watch.observe(event: event("die", t, ["exitCode": "1"]), inspection: container(status: "exited", exit: 1, restarts: i), now: at(t))
            all += watch.observe(event: event("start", t + 1), inspection: container(restarts: i + 1), now: at(t + 1))
        }
        // The first death opens the incident; the third completes the loop, announced under it.
        let announced = alerts(all)
        #expect(announced.map { $0.0.anomalies.map(\.type) } == [[.nonZeroExit], [.nonZeroExit, .restartLoop]])
        #expect(Set(announced.map(\.0.incidentID)).count == 1)
        #expect(recoveries(all).isEmpty)
    }

    @Test func memoryGrowthProjectsTimeToLimit() throws {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        var found: [(HealthAlert, Bool)] = []
        // 1 MB per 10 s toward a 100 MB limit, starting at 40 MB: 600 s to the limit at the fourth sample.
        for i in 0..<4 {
            let memory = 40_000_000 + i * 1_000_000
            found += alerts(watch.observe(sample: sample(container(), memory: memory, at: Double(i) * 10), now: at(Double(i) * 10)))
        }
        try #require(found.count == 1)
        let growth = try #require(found[0].0.anomalies.first)
        #expect(growth.type == .memoryGrowth)
        let projected = try #require(growth.projectedSecondsToLimit)
        #expect(abs(projected - 570) < 1)
        #expect(abs(growth.value - 100_000) < 1)
    }

    @Test func flatOrNoisyMemoryIsNotGrowth() {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        var all: [WatchAction] = []
        for (i, memory) in [40, 80, 30, 70, 35, 75, 40].enumerated() {
            all += watch.observe(sample: sample(container(), memory: memory * 1_000_000, at: Double(i) * 10), now: at(Double(i) * 10))
        }
        #expect(all.isEmpty)
        // Slow growth that reaches the limit only after the horizon.
        var slow = ContainerWatch(sample: sample(container(), at: 0), policy: policy)
        for i in 0..<6 {
            all += slow.observe(sample: sample(container(), memory: 10_000_000 + i * 1000, at: Double(i) * 30), now: at(Double(i) * 30))
        }
        #expect(all.isEmpty)
    }

    @Test func newAnomalyTypeInAnOpenIncidentAlertsUnderTheSameID() throws {
        let c = container()
        var watch = ContainerWatch(sample: sample(c, at: 0), policy: policy)
        for i in 0..<2 { _ = watch.observe(sample: sample(c, cpu: 95, at: Double(i) * 30), now: at(Double(i) * 30)) }
        let first = alerts(watch.observe(sample: sample(c, cpu: 95, at: 60), now: at(60)))
        let second = alerts(watch.observe(event: event("health_status: unhealthy", 70), inspection: container(health: "unhealthy"), now: at(70)))
        try #require(first.count == 1 && second.count == 1)
        #expect(second[0].0.incidentID == first[0].0.incidentID)
        #expect(Set(second[0].0.anomalies.map(\.type)) == [.highCPU, .unhealthy])
        #expect(second[0].1 == false)
    }

    @Test func excludedContainerIsNeverAlerted() {
        let c = container(status: "exited", exit: 1)
        var watch = ContainerWatch(sample: ContainerSample(container: c, sampledAt: at(0), exclusion: "label hemostat.enable=false"), policy: policy)
        var all = watch.observe(sample: ContainerSample(container: c, sampledAt: at(0), exclusion: "label hemostat.enable=false"), now: at(0))
        all += watch.observe(event: event("die", 10, ["exitCode": "1"]), inspection: c, now: at(10))
        #expect(all.isEmpty)
    }

    @Test func exitBeforeTheMonitorStartedIsAWarning() throws {
        let c = container(status: "exited", exit: 1)
        var watch = ContainerWatch(sample: sample(c, at: 0), policy: policy)
        let a = alerts(watch.observe(sample: sample(c, at: 0), now: at(0)))
        try #require(a.count == 1)
        #expect(a[0].0.anomalies[0].severity == .warning)
        #expect(a[0].0.source == .poll)
        // Nobody saw how it went down.
        #expect(a[0].0.stoppedByOperator == nil)
        #expect(a[0].0.json["stopped_by_operator"] == nil)
    }

    @Test func historyIsCapped() {
        var watch = ContainerWatch(sample: sample(container(), at: 0), policy: MonitorPolicy(historyLength: 5))
        for i in 0..<12 { _ = watch.observe(sample: sample(container(), at: Double(i)), now: at(Double(i))) }
        #expect(watch.history.count == 5)
        #expect(watch.history.first?.timestamp == at(7))
    }

    /// What is unknown about a container is written as null in its stats document, not left out.
    @Test func theStatsDocumentWritesWhatIsUnknownAsNull() {
        let down = sample(container(status: "exited", exit: 1), at: 5)
        let document = StatsDocument.json(sample: down, host: "h1", anomalies: [], history: [HistoryPoint(sample: down)])
        #expect(document["metrics"] == .null && document["started_at"] == .null && document["finished_at"] == .null)
        #expect(document["cpu_known"] == nil && document["exclusion_reason"] == nil)
        let up = sample(container(), at: 6)
        let running = StatsDocument.json(sample: up, host: "h1", anomalies: [], history: [])
        #expect(running["metrics"]?["memory_limit"] == 100_000_000 && running["cpu_known"] == true)
        #expect(running["updated_at"] == .string(Timestamp.format(at(6))) && running["history"] == [])
    }
}

@Suite struct MonitorMathTests {
    func reading(total: UInt64, system: UInt64, cpus: Int = 2, previous: StatsReading.CPU? = nil) -> StatsReading {
        StatsReading(
            read: Date(), cpu: .init(totalUsage: total, systemUsage: system, onlineCPUs: cpus), previousCPU: previous,
            memoryUsage: 300_000_000, memoryInactiveFile: 100_000_000, memoryLimit: 400_000_000)
    }

    @Test func cpuAsDockerStatsComputesIt() throws {
        // 0.5 s of container CPU over 2 s of host CPU time on 2 CPUs: 50 %.
        let value = try #require(MetricMath.cpuPercent(
            current: .init(totalUsage: 1_500_000_000, systemUsage: 12_000_000_000, onlineCPUs: 2),
            previous: .init(totalUsage: 1_000_000_000, systemUsage: 10_000_000_000, onlineCPUs: 2)))
        #expect(abs(value - 50) < 1e-9)
    }

    @Test func oneShotWithoutPreviousCountersUsesTheLastCycle() throws {
        let zero = StatsReading.CPU(totalUsage: 0, systemUsage: 0, onlineCPUs: 0)
        let first = MetricMath.metrics(reading(total: 1_000_000_000, system: 10_000_000_000, previous: zero), earlier: nil)
        #expect(!first.cpuKnown)
        #expect(first.metrics.cpuPercent == 0)
        let second = MetricMath.metrics(
            reading(total: 2_000_000_000, system: 14_000_000_000, previous: zero), earlier: reading(total: 1_000_000_000, system: 10_000_000_000))
        #expect(second.cpuKnown)
        #expect(abs(second.metrics.cpuPercent - 50) < 1e-9)
        // The engine's own previous counters win when present.
        let own = MetricMath.metrics(
            reading(total: 2_000_000_000, system: 14_000_000_000, previous: .init(totalUsage: 1_900_000_000, systemUsage: 13_000_000_000, onlineCPUs: 2)),
            earlier: reading(total: 1_000_000_000, system: 10_000_000_000))
        #expect(abs(own.metrics.cpuPercent - 20) < 1e-9)
    }

    @Test func counterResetGivesNoCPU() {
        #expect(MetricMath.cpuPercent(
            current: .init(totalUsage: 10, systemUsage: 20_000, onlineCPUs: 1),
            previous: .init(totalUsage: 5_000, systemUsage: 10_000, onlineCPUs: 1)) == nil)
    }

    @Test func memoryWithoutInactiveFileCache() {
        let m = MetricMath.metrics(reading(total: 1, system: 1), earlier: nil).metrics
        #expect(m.memoryUsage == 200_000_000)
        #expect(abs(m.memoryPercent - 50) < 1e-9)
        #expect(m.memoryLimit == 400_000_000)
    }

    @Test func linearFit() throws {
        let fit = try #require(MetricMath.linearFit([(0, 1), (1, 3), (2, 5), (3, 7)]))
        #expect(abs(fit.slope - 2) < 1e-9 && abs(fit.intercept - 1) < 1e-9 && abs(fit.r2 - 1) < 1e-9)
        #expect(MetricMath.linearFit([(1, 1)]) == nil)
        #expect(MetricMath.linearFit([(1, 1), (1, 2)]) == nil)
    }
}

@Suite struct MonitorScopeTests {
    @Test func globs() {
        #expect(Glob.matches("hemostat*", "hemostat-redis-1"))
        #expect(Glob.matches("web-?", "web-1"))
        #expect(!Glob.matches("web-?", "web-10"))
        #expect(Glob.matches("*db*", "my-db-2"))
        #expect(!Glob.matches("api", "api-1"))
        #expect(Glob.matches("*", ""))
    }

    @Test func exclusionRules() {
        let scope = ContainerScope(include: ["app-*", "hemostat-x"], exclude: ["app-test-*"], ownPatterns: ["hemostat*"], ownContainerID: "abcdef123456")
        #expect(scope.exclusion(id: "1", name: "app-web", labels: [:]) == nil)
        #expect(scope.exclusion(id: "1", name: "app-web", labels: ["hemostat.enable": "false"]) != nil)
        #expect(scope.exclusion(id: "1", name: "app-web", labels: ["hemostat.enable": "true"]) == nil)
        #expect(scope.exclusion(id: "1", name: "app-web", labels: ["hemostat.role": "redis"]) != nil)
        #expect(scope.exclusion(id: "abcdef1234567890", name: "app-web", labels: [:]) != nil)
        #expect(scope.exclusion(id: "1", name: "app-test-1", labels: [:]) != nil)
        #expect(scope.exclusion(id: "1", name: "other", labels: [:]) != nil)
        #expect(scope.exclusion(id: "1", name: "hemostat-x", labels: [:])?.contains("own") == true)
        #expect(ContainerScope().exclusion(id: "1", name: "anything", labels: [:]) == nil)
    }

    @Test func ownContainerFromHostname() {
        #expect(ContainerScope.ownContainerIDFromEnvironment(["HOSTNAME": "0123456789ab"]) == "0123456789ab")
        #expect(ContainerScope.ownContainerIDFromEnvironment(["HOSTNAME": "build-server"]) == nil)
        #expect(ContainerScope.ownContainerIDFromEnvironment([:]) == nil)
    }

    @Test func eventActionParsing() {
        let e = EngineEvent(action: "health_status: unhealthy", containerID: "x", containerName: "x", time: Date())
        #expect(e.action == "health_status" && e.healthStatus == "unhealthy")
        #expect(EngineEvent(action: "die", containerID: "x", containerName: "x", attributes: ["exitCode": "137"], time: Date()).exitCode == 137)
    }
}

@Suite struct MonitorPendingTests {
    func alert(_ reminder: Bool, _ name: String) -> MonitorMessage {
        .alert(Envelope(agent: "monitor", host: "h", data: HealthAlert(containerID: name, containerName: name, image: "", status: "running", healthStatus: "none", anomalies: [], source: .poll)), reminder: reminder)
    }

    @Test func boundedDropsRemindersFirstAndKeepsOrder() {
        var queue = PendingMessages(limit: 3)
        let a = alert(false, "a"), r = alert(true, "r"), b = alert(false, "b"), c = alert(false, "c"), d = alert(false, "d")
        for m in [a, r, b, c] { queue.append(m) }
        #expect(queue.messages.map(\.id) == [a, b, c].map(\.id))
        queue.append(d)
        #expect(queue.messages.map(\.id) == [b, c, d].map(\.id))
        #expect(queue.dropped == 2)
        queue.removeFirst()
        #expect(queue.first?.id == c.id)
    }

    @Test func containerRecoveredRoundTrip() throws {
        let recovered = ContainerRecovered(
            containerID: "abc", containerName: "web", image: "nginx", status: "running", healthStatus: "healthy", restartCount: 1,
            resolvedAnomalies: [.unhealthy], incidentID: "i-1", detectedAt: Date(timeIntervalSince1970: 100), recoveredAt: Date(timeIntervalSince1970: 160))
        let envelope = Envelope(agent: "monitor", host: "h", data: recovered)
        let decoded = try Envelope<ContainerRecovered>.decode(envelope.encode())
        #expect(decoded == envelope)
        #expect(decoded.data.durationSeconds == 60)
        guard case .containerRecovered = try Message.decode(envelope.encode()) else {
            Issue.record("decoded as another kind")
            return
        }
    }
}
