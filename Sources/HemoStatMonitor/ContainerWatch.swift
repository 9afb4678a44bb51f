public import HemoStatCore
public import Foundation
public import HemoStatModel

/// What the service must do after the state machine saw something.
public enum WatchAction: Sendable, Hashable {
    /// Publish this alert. `reminder` is true for a repeat of an open incident; `faultAt` is when
    /// the fault happened (the event's time, or the sample's), for the fault-to-alert metric.
    case alert(HealthAlert, reminder: Bool, faultAt: Date)
    /// Publish that the incident is over.
    case recovered(ContainerRecovered)
    /// Call ``ContainerWatch/tick(now:)`` of this container at this time: the watch waits for an
    /// event (``ContainerWatch/Pending``) and announces what it knows if none comes by then.
    case checkAgain(containerID: String, at: Date)
}

/// The anomaly state of one container: a value type with no I/O.
///
/// Samples (from the poll) and events (from the event stream) go in; ``WatchAction``s come out.
/// An incident opens when the first anomaly appears and gets one `health_alert` with a new
/// `incident_id`; while it lasts, a new anomaly type alerts again under the same id, and the
/// alert is repeated every `reminderInterval`; a poll that finds no anomaly closes it with one
/// `container_recovered`. Only a poll closes an incident, so a crash loop's brief running
/// phases do not end it.
///
/// Between events that do not tell the whole story yet, the watch is in one ``Pending`` state
/// (an `oom` without its `die`, a SIGKILL exit without its `oom`, HemoStat's own stop without
/// its restart's `start`, a poll that found the container down before the event stream said
/// how); how the container last went down is its ``Exit``. A new run of the container (its
/// `start`) clears both.
public struct ContainerWatch: Sendable {
    public struct Incident: Sendable, Hashable {
        public var id: String
        public var detectedAt: Date
        public var lastAlertAt: Date
        /// Every anomaly type announced for this incident.
        public var announced: Set<AnomalyType>
        public var types: [AnomalyType]
    }

    /// A stop or kill that came through the engine's API, before its `die`.
    struct StopRequest: Sendable, Hashable {
        var at: Date
        /// `kill` or `stop`.
        var action: String
        var signal: String?
        /// When one of the requests was made while HemoStat's responder held the container's
        /// gate lock (it is acting on the container).
        var byHemoStatAt: Date?

        /// How the operator detail reads: `kill, signal 15` or `stop`.
        var how: String { action == "kill" ? "kill, signal \(signal ?? "unknown")" : "stop" }
    }

    /// What the watch waits for, after an event or a sample that does not tell the whole story
    /// yet. Each is held for a grace period (``MonitorPolicy/oomGrace``, ``MonitorPolicy/killGrace``,
    /// ``MonitorPolicy/ownStopGrace``, ``MonitorPolicy/dieGrace``) from `heldAt`, when the watch
    /// applied it (a loaded engine delivers events late, the awaited one as late as the first);
    /// ``tick(now:)`` announces what was seen when the awaited event has not come by then.
    enum Pending: Sendable, Hashable {
        /// The kernel's `oom` came; its `die` (the engine sends the two in either order) has not.
        case dieAfterOOM(oomAt: Date, heldAt: Date)
        /// A `die` with exit code 137 (SIGKILL) not from the API: the `oom` that would explain it
        /// has not come yet.
        case oomAfterKill(diedAt: Date, heldAt: Date)
        /// HemoStat's own stop ended the container: the `start` of its restart has not come yet.
        case startAfterOwnStop(stoppedAt: Date, heldAt: Date)
        /// A poll found the container down while the event stream is followed: the `die` that
        /// tells whether it crashed or was stopped has not come yet.
        case dieAfterPoll(seenAt: Date, heldAt: Date)

        /// When the engine recorded the event that is waiting.
        var since: Date {
            switch self {
            case .dieAfterOOM(let at, _), .oomAfterKill(let at, _), .startAfterOwnStop(let at, _), .dieAfterPoll(let at, _): at
            }
        }

        var heldAt: Date {
            switch self {
            case .dieAfterOOM(_, let held), .oomAfterKill(_, let held), .startAfterOwnStop(_, let held), .dieAfterPoll(_, let held): held
            }
        }
    }

    /// Why the container is down, as far as the engine's events tell.
    enum Exit: Sendable, Hashable {
        /// Not down, or down and no `die` has told how.
        case untold
        /// Down on its own: a crash when its exit code is not 0.
        case own
        /// Stopped or killed through the API: an operator's, or HemoStat's own remediation.
        case stopped(detail: String)
        /// A `die` came, with the exit code of a signal (SIGINT, SIGKILL, SIGTERM) and no stop
        /// or kill before it, from an engine that may leave stops out of its events.
        case unexplained
    }

    public let policy: MonitorPolicy
    public private(set) var latest: ContainerSample
    /// Recent samples, oldest first, at most `policy.historyLength`.
    public private(set) var history: [HistoryPoint] = []
    public private(set) var incident: Incident?
    /// The anomalies of the last evaluation.
    public private(set) var anomalies: [Anomaly] = []

    /// The last stop or kill through the API in this run of the container.
    private var stopRequest: StopRequest?
    /// How the container last went down.
    private var exit: Exit = .untold
    private var pending: Pending?
    /// When the kernel's `oom` came in this run of the container (a process inside may have
    /// been killed while the container kept running).
    private var oomSeen: Date?

    private var cpuStreak = 0
    private var memoryStreak = 0
    private var restartObservations: [(at: Date, count: Int)] = []
    /// When the container died on its own (not stopped through the API), from the event
    /// stream: a crash loop is seen on the death that completes it, whatever the poll interval.
    private var deaths: [Date] = []
    private var firstObservation = true
    /// When the last engine event was applied (the monitor's clock).
    private var lastEventAppliedAt: Date?

    /// Whether the last exit was caused by a stop or kill through the API; nil when the
    /// container is down and neither a `die` event nor an OOM kill (the `oom` event, or the
    /// engine's OOMKilled) told how it went down (it was down when first seen, or the event
    /// stream was away).
    public var stoppedByOperator: Bool? {
        switch exit {
        case .stopped: return true
        case .own: return false
        case .untold, .unexplained:
            let oomKilled = oomSeen != nil || latest.container.oomKilled
            return latest.container.isDown && !oomKilled ? nil : false
        }
    }

    public init(sample: ContainerSample, policy: MonitorPolicy) {
        self.policy = policy
        self.latest = sample
    }

    public var containerID: String { latest.container.id }
    public var isExcluded: Bool { latest.isExcluded }

    // MARK: Inputs

    /// A poll sample of this container. `eventsFollowed` is true while the service follows the
    /// engine's event stream: a container the poll finds down is then not announced until its
    /// `die` says how it went down, or ``MonitorPolicy/dieGrace`` passes.
    public mutating func observe(sample: ContainerSample, now: Date, eventsFollowed: Bool = false) -> [WatchAction] {
        if let applied = lastEventAppliedAt, let inspected = sample.inspectedAt, applied > inspected,
           sample.container.status != latest.container.status {
            // Inspected before an event this watch has already applied (a poll that read a
            // running container just before its `die`): its state is older than what the
            // watch knows, and would close the incident the event opened.
            return []
        }
        if case .startAfterOwnStop? = pending, !sample.container.isRunning {
            // Between the stop and the start of HemoStat's own restart: nothing to announce yet.
            latest = sample
            record(sample)
            return []
        }
        let previous = latest
        latest = sample
        let sameRun = previous.container.restartCount == sample.container.restartCount && previous.container.startedAt == sample.container.startedAt
        // Another run than the watch knows (no events told of it): what the watch knew of how
        // the last run ended is not this one's; a run that already ended ended unseen.
        if !sameRun { startedAgain() }
        if sample.metrics == nil, sample.container.isRunning, previous.container.isRunning, sameRun {
            // The engine did not give this sample's stats (a loaded engine times out): it says
            // nothing about resource use, so the last known metrics stand rather than the
            // incident they show ending.
            latest.metrics = previous.metrics
        }
        if let oom = oomSeen, pending == nil, sample.container.isRunning, sample.sampledAt.timeIntervalSince(oom) > policy.oomGrace {
            // A process inside was OOM-killed but the container kept running: announced once by
            // the event path, not a lasting condition.
            oomSeen = nil
        }
        record(sample)
        if let metrics = sample.metrics, sample.container.isRunning {
            if sample.cpuKnown {
                cpuStreak = metrics.cpuPercent > policy.cpuThresholdPercent ? cpuStreak + 1 : 0
            }
            memoryStreak = metrics.memoryPercent > policy.memoryThresholdPercent ? memoryStreak + 1 : 0
        } else if !sample.container.isRunning {
            cpuStreak = 0
            memoryStreak = 0
        }
        defer { firstObservation = false }
        if latest.container.isDown, case .untold = exit, !firstObservation {
            if case .dieAfterPoll? = pending { return [] }
            // Only the poll that first finds this run down waits: a container that stays down
            // without a `die` (down when first seen, or the wait passed) is not held again.
            if eventsFollowed, pending == nil, !previous.container.isDown {
                pending = .dieAfterPoll(seenAt: sample.sampledAt, heldAt: now)
                return [.checkAgain(containerID: containerID, at: now.addingTimeInterval(policy.dieGrace))]
            }
        }
        return reconcile(now: now, source: .poll, faultAt: sample.sampledAt, closing: true)
    }

    /// An engine event about this container. `inspection`, when the service could read one right
    /// after the event, replaces what the event implies.
    ///
    /// `byHemoStat` is true when HemoStat's responder held the container's gate lock as the
    /// event arrived (it is acting on the container): a stop then belongs to its remediation.
    public mutating func observe(event: EngineEvent, inspection: ContainerInspection?, now: Date, byHemoStat: Bool = false) -> [WatchAction] {
        if let inspection { latest.container = inspection }
        lastEventAppliedAt = now
        firstObservation = false
        switch event.action {
        case "kill", "stop":
            // `docker stop` sends `kill` before `die` and `stop` after it (Podman: `stop` before
            // `died`); `docker kill` sends `kill`.
            var request = stopRequest
            if event.action == "kill" || request == nil {
                request = StopRequest(at: event.time, action: event.action, signal: event.attributes["signal"], byHemoStatAt: request?.byHemoStatAt)
            }
            if byHemoStat, event.action == "kill" || request?.byHemoStatAt == nil { request?.byHemoStatAt = event.time }
            stopRequest = request
            return []
        case "die":
            return died(event, inspection: inspection, now: now)
        case "oom":
            oomSeen = event.time
            if case .oomAfterKill(let killed, _)? = pending {
                pending = nil
                latest.container.oomKilled = true
                return reconcile(now: now, source: .event, faultAt: killed, closing: false)
            }
            pending = .dieAfterOOM(oomAt: event.time, heldAt: now)
            return [.checkAgain(containerID: containerID, at: now.addingTimeInterval(policy.oomGrace))]
        case "health_status":
            if let status = event.healthStatus { latest.container.healthStatus = status }
            return reconcile(now: now, source: .event, faultAt: event.time, closing: false)
        case "start":
            latest.container.status = "running"
            startedAgain()
            return []
        case "pause":
            latest.container.status = "paused"
            return []
        case "unpause":
            latest.container.status = "running"
            return []
        default:
            return []
        }
    }

    /// A `die`: how the container went down decides what to wait for and what to announce.
    private mutating func died(_ event: EngineEvent, inspection: ContainerInspection?, now: Date) -> [WatchAction] {
        switch pending {
        case .dieAfterOOM?, .dieAfterPoll?: pending = nil
        case .oomAfterKill?, .startAfterOwnStop?, nil: break
        }
        if inspection == nil {
            latest.container.status = "exited"
            if let code = event.exitCode { latest.container.exitCode = code }
            latest.container.finishedAt = event.time
        } else if let code = event.exitCode {
            latest.container.exitCode = code
        }
        if oomSeen != nil { latest.container.oomKilled = true }
        latest.metrics = nil
        if let request = stopRequest, Self.within(policy.operatorStopWindow, of: request.at, event.time) {
            if let own = request.byHemoStatAt, Self.within(policy.operatorStopWindow, of: own, event.time) {
                // HemoStat's own action stopped it (a restart past its stop timeout, or a stop
                // or kill remediation): wait for the restart's `start`; announced as a stop
                // through the API only when none comes.
                exit = .stopped(detail: "stopped by HemoStat's remediation (\(request.how))")
                pending = .startAfterOwnStop(stoppedAt: event.time, heldAt: now)
                return [.checkAgain(containerID: containerID, at: now.addingTimeInterval(policy.ownStopGrace))]
            }
            exit = .stopped(detail: "stopped through the API (\(request.how))")
            return reconcile(now: now, source: .event, faultAt: event.time, closing: false)
        }
        // Exit codes of SIGINT, SIGKILL and SIGTERM with no stop or kill before them: the
        // container's own when the engine reports every stop, unknown when it may not.
        exit = event.stopsMayBeMissing && [130, 137, 143].contains(latest.container.exitCode) ? .unexplained : .own
        recordDeath(at: event.time)
        if oomSeen == nil, !latest.container.oomKilled, latest.container.exitCode == 137 {
            pending = .oomAfterKill(diedAt: event.time, heldAt: now)
            return [.checkAgain(containerID: containerID, at: now.addingTimeInterval(policy.killGrace))]
        }
        return reconcile(now: now, source: .event, faultAt: event.time, closing: false)
    }

    /// Whether `event` came no later than `window` after `request`, nor more than a second before.
    private static func within(_ window: TimeInterval, of request: Date, _ event: Date) -> Bool {
        event.timeIntervalSince(request) <= window && event >= request.addingTimeInterval(-1)
    }

    /// Time passed: a pending OOM whose `die` did not come, a SIGKILL exit whose `oom` did not
    /// come, or a stop by HemoStat's own action whose `start` did not come, is alerted now.
    public mutating func tick(now: Date) -> [WatchAction] {
        guard let waiting = pending else { return [] }
        let grace: TimeInterval = switch waiting {
        case .startAfterOwnStop: policy.ownStopGrace
        case .oomAfterKill: policy.killGrace
        case .dieAfterOOM: policy.oomGrace
        case .dieAfterPoll: policy.dieGrace
        }
        guard now.timeIntervalSince(waiting.heldAt) >= grace - 0.001 else {
            return [.checkAgain(containerID: containerID, at: waiting.heldAt.addingTimeInterval(grace))]
        }
        pending = nil
        if case .dieAfterPoll = waiting {
            return reconcile(now: now, source: .poll, faultAt: waiting.since, closing: true)
        }
        return reconcile(now: now, source: .event, faultAt: waiting.since, closing: false)
    }

    /// The container is gone: forget its incident without a recovery message.
    public mutating func destroyed() {
        incident = nil
        anomalies = []
    }

    // MARK: Evaluation

    /// The anomalies the current state shows.
    public func currentAnomalies(now: Date) -> [Anomaly] {
        let c = latest.container
        var found: [Anomaly] = []
        let down = c.isDown
        let awaitingDie: Bool
        if case .dieAfterOOM? = pending { awaitingDie = true } else { awaitingDie = false }
        if down, case .stopped(let detail) = exit {
            found.append(Anomaly(type: .containerStopped, severity: .info, value: Double(c.exitCode), threshold: 0, message: detail))
        } else if down, c.exitCode != 0 {
            let before = firstObservation && !awaitingDie && oomSeen == nil
            found.append(Anomaly(
                type: .nonZeroExit, severity: before ? .warning : .critical, value: Double(c.exitCode), threshold: 0,
                message: before ? "exited with code \(c.exitCode) before the monitor started watching; cause unknown" : "exited with code \(c.exitCode)"))
        }
        if stoppedByOperator != true, (c.oomKilled && down) || (oomSeen != nil && !awaitingDie) {
            found.append(Anomaly(type: .oomKilled, severity: .critical, value: 1, threshold: 0, message: "killed by the kernel for exceeding its memory limit"))
        }
        if c.healthStatus == "unhealthy", !down {
            found.append(Anomaly(type: .unhealthy, severity: .critical, value: 1, threshold: 0, message: "health check failing"))
        }
        if c.isRunning, let m = latest.metrics {
            if cpuStreak >= policy.sustainedSamples {
                found.append(Anomaly(
                    type: .highCPU, severity: .warning, value: m.cpuPercent, threshold: policy.cpuThresholdPercent,
                    message: "CPU above \(format(policy.cpuThresholdPercent)) % for \(cpuStreak) samples"))
            }
            if memoryStreak >= policy.sustainedSamples {
                found.append(Anomaly(
                    type: .highMemory, severity: m.memoryPercent >= policy.memoryCriticalPercent ? .critical : .warning,
                    value: m.memoryPercent, threshold: policy.memoryThresholdPercent,
                    message: "memory above \(format(policy.memoryThresholdPercent)) % for \(memoryStreak) samples"))
            }
            if let growth = memoryGrowth() { found.append(growth) }
        }
        let restarts = restartsInWindow(now: now)
        let crashes = deaths.filter { now.timeIntervalSince($0) <= policy.restartLoopWindow }.count
        if max(restarts, crashes) >= policy.restartLoopCount {
            found.append(Anomaly(
                type: .restartLoop, severity: .critical, value: Double(max(restarts, crashes)), threshold: Double(policy.restartLoopCount),
                message: crashes >= restarts
                    ? "\(crashes) crashes within \(format(policy.restartLoopWindow)) s"
                    : "\(restarts) restarts within \(format(policy.restartLoopWindow)) s"))
        }
        return found
    }

    private func memoryGrowth() -> Anomaly? {
        let run = latest.container.restartCount
        var points: [(x: Double, y: Double)] = []
        var limit = 0
        for p in history.reversed() {
            guard p.restartCount == run, p.status == "running" else { break }
            guard let usage = p.memoryUsage else { continue }
            points.append((p.timestamp.timeIntervalSince1970, Double(usage)))
            limit = max(limit, p.memoryLimit ?? 0)
        }
        guard points.count >= policy.memoryGrowthMinimumSamples, limit > 0,
              let fit = MetricMath.linearFit(points), fit.slope > 0, fit.r2 >= policy.memoryGrowthMinimumFit,
              let current = points.first?.y else { return nil }
        let remaining = max(0, Double(limit) - current)
        let seconds = remaining / fit.slope
        guard seconds <= policy.memoryGrowthHorizon else { return nil }
        return Anomaly(
            type: .memoryGrowth, severity: .warning, value: fit.slope, threshold: Double(limit),
            message: "memory grows \(Int(fit.slope)) bytes/s; the limit is reached in about \(Int(seconds)) s",
            projectedSecondsToLimit: seconds)
    }

    private func restartsInWindow(now: Date) -> Int {
        let recent = restartObservations.filter { now.timeIntervalSince($0.at) <= policy.restartLoopWindow }
        guard let first = recent.first?.count, let last = recent.last?.count else { return 0 }
        return max(0, last - first)
    }

    private mutating func record(_ sample: ContainerSample) {
        history.append(HistoryPoint(sample: sample))
        if history.count > policy.historyLength { history.removeFirst(history.count - policy.historyLength) }
        restartObservations.append((sample.sampledAt, sample.container.restartCount))
        restartObservations.removeAll { sample.sampledAt.timeIntervalSince($0.at) > policy.restartLoopWindow * 2 }
    }

    private mutating func recordDeath(at time: Date) {
        deaths.append(time)
        deaths.removeAll { time.timeIntervalSince($0) > policy.restartLoopWindow }
    }

    /// A new run of the container began: what the last one ended with no longer applies.
    private mutating func startedAgain() {
        exit = .untold
        stopRequest = nil
        pending = nil
        oomSeen = nil
    }

    /// Compares what is wrong now with the open incident and says what to announce.
    private mutating func reconcile(now: Date, source: AlertSource, faultAt: Date, closing: Bool) -> [WatchAction] {
        guard !latest.isExcluded else {
            anomalies = []
            incident = nil
            return []
        }
        let found = currentAnomalies(now: now)
        anomalies = found
        if found.isEmpty {
            guard closing, let open = incident else { return [] }
            incident = nil
            let c = latest.container
            return [.recovered(ContainerRecovered(
                containerID: c.id, containerName: c.name, image: c.image, status: c.status, healthStatus: c.healthStatus,
                restartCount: c.restartCount, resolvedAnomalies: open.types, incidentID: open.id, detectedAt: open.detectedAt, recoveredAt: now))]
        }
        let types = found.map(\.type)
        guard var open = incident else {
            let id = UUID().uuidString.lowercased()
            incident = Incident(id: id, detectedAt: faultAt, lastAlertAt: now, announced: Set(types), types: types)
            return [.alert(makeAlert(found, source: source, incidentID: id, detectedAt: faultAt), reminder: false, faultAt: faultAt)]
        }
        for type in types where !open.types.contains(type) { open.types.append(type) }
        let fresh = !Set(types).isSubset(of: open.announced)
        let remind = now.timeIntervalSince(open.lastAlertAt) >= policy.reminderInterval && !found.allSatisfy { $0.severity == .info }
        guard fresh || remind else {
            incident = open
            return []
        }
        open.announced.formUnion(types)
        open.lastAlertAt = now
        incident = open
        let alert = makeAlert(found, source: source, incidentID: open.id, detectedAt: open.detectedAt)
        return [.alert(alert, reminder: !fresh, faultAt: fresh ? faultAt : open.detectedAt)]
    }

    private func makeAlert(_ found: [Anomaly], source: AlertSource, incidentID: String, detectedAt: Date) -> HealthAlert {
        let c = latest.container
        return HealthAlert(
            containerID: c.id, containerName: c.name, image: c.image, status: c.status, healthStatus: c.healthStatus,
            exitCode: c.exitCode, oomKilled: c.oomKilled || found.contains { $0.type == .oomKilled }, restartCount: c.restartCount,
            labels: c.labels, stoppedByOperator: stoppedByOperator, startedAt: c.startedAt, finishedAt: c.finishedAt,
            metrics: c.isRunning ? latest.metrics : nil, anomalies: found, source: source, incidentID: incidentID, detectedAt: detectedAt)
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
