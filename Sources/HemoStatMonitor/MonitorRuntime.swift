import Foundation
import HemoStatCore
import HemoStatModel
import HemoStatRedis
import Logging
import Metrics
import ServiceLifecycle

/// The monitor's mutable state and I/O: container watches, the last stats readings, messages
/// waiting for Redis. An actor, so the poll cycle, the event stream and the flusher share it.
actor MonitorRuntime {
    let context: AgentContext
    let engine: any ContainerEngine
    let sampler: ContainerSampler
    let policy: MonitorPolicy
    let logger: Logger

    private(set) var watches: [String: ContainerWatch] = [:]
    private var readings: [String: StatsReading] = [:]
    private(set) var pending: PendingMessages
    /// Cycles that listed the engine since start.
    private(set) var cycles = 0
    private var faultTimes: [String: (Date, AlertSource)] = [:]
    private var flushing = false
    private var cycleRunning = false
    private var redisDown = false
    private var dockerDown = false
    private var eventsDown = false
    private var reportedDropped = 0
    /// Rung by the event stream when it reconnects: the next poll comes at once.
    private let resync = WakeUp()
    /// Containers to look at again (``ContainerWatch/tick(now:)``) and when, earliest first.
    private var checks: [(at: Date, containerID: String)] = []
    /// Rung when a check earlier than all others is added.
    private let checksChanged = WakeUp()
    private var stopping = false

    private let cycleTimer: Metrics.Timer
    private let containersWatched: Gauge
    private let containersUnhealthy: Gauge
    private let containersExcluded: Gauge

    init(context: AgentContext, engine: any ContainerEngine, ownContainerID: String?) {
        self.context = context
        self.engine = engine
        let monitor = context.configuration.monitor
        self.sampler = ContainerSampler(
            engine: engine, scope: ContainerScope(configuration: monitor, ownContainerID: ownContainerID), concurrency: monitor.statsConcurrency)
        self.policy = MonitorPolicy(configuration: monitor)
        var logger = context.logger
        logger[metadataKey: "agent"] = .string(MonitorService.agent)
        self.logger = logger
        self.pending = PendingMessages(limit: monitor.pendingAlertLimit)
        self.cycleTimer = Metrics.Timer(label: MetricNames.monitorCycleSeconds)
        self.containersWatched = Gauge(label: MetricNames.monitorContainers, dimensions: [("state", "watched")])
        self.containersUnhealthy = Gauge(label: MetricNames.monitorContainers, dimensions: [("state", "unhealthy")])
        self.containersExcluded = Gauge(label: MetricNames.monitorContainers, dimensions: [("state", "excluded")])
    }

    // MARK: Poll

    /// One poll cycle. Returns false when the engine could not be listed.
    func runCycle() async -> Bool {
        guard !cycleRunning else { return true }
        cycleRunning = true
        defer { cycleRunning = false }
        let started = ContinuousClock.now
        let clock = context.clock
        let round: ContainerSampler.SampleRound
        // The watches the listing can speak for: one the event stream made while the round was
        // being read (a container started after the listing) is not gone because it is not in it.
        let watchedBefore = Set(watches.keys)
        do {
            round = try await sampler.sampleAll(previous: readings, now: { clock.now }, logger: logger)
        } catch {
            countDockerError("list")
            if !dockerDown {
                logger.error("docker unreachable; retrying with backoff", metadata: ["error": "\(error)"])
                dockerDown = true
            }
            return false
        }
        if dockerDown {
            logger.info("docker reachable again")
            dockerDown = false
        }
        for (operation, count) in round.errors { countDockerError(operation, count: count) }
        // A running container whose stats could not be read this round keeps its last reading,
        // so the next round still has counters to compute CPU from.
        var kept = round.readings
        for sample in round.samples where kept[sample.container.id] == nil && sample.container.isRunning {
            kept[sample.container.id] = readings[sample.container.id]
        }
        readings = kept
        cycles += 1

        let now = clock.now
        var messages: [WatchAction] = []
        var seen: Set<String> = []
        for sample in round.samples {
            seen.insert(sample.container.id)
            var watch = watches[sample.container.id] ?? ContainerWatch(sample: sample, policy: policy)
            messages += watch.observe(sample: sample, now: now, eventsFollowed: !eventsDown)
            watches[sample.container.id] = watch
        }
        for id in watchedBefore where !seen.contains(id) { watches[id] = nil }
        await writeStats(now: now)
        await deliver(messages)

        let watched = watches.values.filter { !$0.isExcluded }
        containersWatched.record(watched.count)
        containersUnhealthy.record(watched.filter { !$0.anomalies.isEmpty }.count)
        containersExcluded.record(watches.count - watched.count)
        cycleTimer.record(duration: ContinuousClock.now - started)
        logger.debug("monitor cycle", metadata: [
            "monitor.containers": "\(round.samples.count)", "monitor.cycle_ms": "\((ContinuousClock.now - started).milliseconds)",
        ])
        return true
    }

    /// Sleeps `duration`, or less when the event stream asks for a resynchronising poll.
    /// Returns at once when the calling task is cancelled or the monitor is stopping.
    func waitForNextCycle(_ duration: Duration) async {
        guard !stopping else { return }
        await resync.wait(upTo: duration)
    }

    private func requestResync() {
        resync.ring()
    }

    private func writeStats(now: Date) async {
        guard !watches.isEmpty else { return }
        let keys = context.keys
        let ttl = String(max(1, Int(context.configuration.monitor.statsTTL.timeInterval)))
        let nowMS = Int64((now.timeIntervalSince1970 * 1000).rounded())
        var commands: [[String]] = []
        var zadd = ["ZADD", keys.containers]
        for watch in watches.values {
            let container = ContainerRef(host: context.hostID, name: watch.latest.name)
            let document = StatsDocument.json(sample: watch.latest, host: context.hostID, anomalies: watch.anomalies, history: watch.history)
            commands.append(["SET", keys.stats(container), document.jsonText, "EX", ttl])
            zadd += [String(nowMS), container.description]
        }
        commands.append(zadd)
        let cutoff = nowMS - Int64(context.configuration.monitor.statsTTL.milliseconds)
        commands.append(["ZREMRANGEBYSCORE", keys.containers, "-inf", "(\(cutoff)"])
        do {
            _ = try await context.redis.pipeline(commands)
            redisBack()
        } catch {
            redisFailed(error, pendingCount: pending.count)
        }
    }

    // MARK: Events

    /// Follows the event stream until cancelled; reconnects with backoff and then asks for a
    /// resynchronising poll. The stream starts at the moment this is called (the engine replays
    /// what happened while it connects), then resumes after the last event seen.
    func followEvents() async {
        var since: Date? = context.clock.now
        var backoff = Backoff(initial: .milliseconds(250), maximum: .seconds(30))
        var connectedOnce = false
        while !Task.isCancelled && !stopping {
            do {
                if connectedOnce { requestResync() }
                connectedOnce = true
                for try await event in engine.events(since: since) {
                    if eventsDown {
                        logger.info("docker event stream connected again")
                        eventsDown = false
                    }
                    backoff.reset()
                    since = event.time
                    await handle(event)
                }
                if Task.isCancelled || stopping { return }
                throw ContainerEngineError(code: .unreachable, message: "event stream ended")
            } catch {
                if Task.isCancelled || stopping { return }
                countDockerError("events")
                let delay = backoff.next()
                if !eventsDown {
                    logger.error("docker event stream dropped; reconnecting with backoff", metadata: ["error": "\(error)", "retry.delay": "\(delay)"])
                    eventsDown = true
                }
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// Applies one engine event.
    func handle(_ event: EngineEvent) async {
        let id = event.containerID
        if event.action == "destroy" {
            watches[id]?.destroyed()
            watches[id] = nil
            readings[id] = nil
            return
        }
        guard EngineEvent.followedActions.contains(event.action) else { return }
        var inspection: ContainerInspection?
        if ["die", "oom", "health_status", "start"].contains(event.action) || watches[id] == nil {
            do {
                inspection = try await engine.inspect(id)
            } catch let error as ContainerEngineError where error.code == .notFound {
                inspection = nil
            } catch {
                countDockerError("inspect")
                inspection = nil
            }
        }
        let now = context.clock.now
        if watches[id] == nil {
            let container = inspection ?? ContainerInspection(
                id: id, name: event.containerName, image: event.attributes["image"] ?? "", status: "running", labels: event.attributes)
            let exclusion = sampler.scope.exclusion(id: id, name: container.name, labels: container.labels)
            watches[id] = ContainerWatch(sample: ContainerSample(container: container, sampledAt: now, exclusion: exclusion), policy: policy)
        }
        guard var watch = watches[id] else { return }
        var byHemoStat = false
        if event.action == "kill" || event.action == "stop" {
            byHemoStat = await responderIsActing(on: watch.latest.container.name)
        }
        let actions = watch.observe(event: event, inspection: inspection, now: now, byHemoStat: byHemoStat)
        watches[id] = watch
        await deliver(actions)
    }

    /// Whether a responder holds `container`'s live gate lock (it is acting on the container
    /// or verifying its action). False when Redis cannot say within a second.
    private func responderIsActing(on container: String) async -> Bool {
        let key = SafetyGate.lockKey(namespace: context.keys.gate, container: ContainerRef(host: context.hostID, name: container))
        guard let held = try? await context.redis.send(["GET", key], timeout: .seconds(1)).string else { return false }
        return SafetyGate.lockHolder(held, nowMilliseconds: context.clock.nowMilliseconds) != nil
    }

    private func tick(_ id: String) async {
        guard var watch = watches[id] else { return }
        let actions = watch.tick(now: context.clock.now)
        watches[id] = watch
        await deliver(actions)
    }

    // MARK: Publishing

    private func deliver(_ actions: [WatchAction]) async {
        guard !actions.isEmpty else { return }
        for action in actions {
            switch action {
            case .alert(var alert, let reminder, let faultAt):
                alert.host = context.hostID
                let envelope = Envelope(agent: MonitorService.agent, host: context.hostID, data: alert, timestamp: context.clock.now)
                if !reminder { faultTimes[envelope.id] = (faultAt, alert.source) }
                pending.append(.alert(envelope, reminder: reminder))
                logger.notice(reminder ? "incident continues" : "health alert", metadata: [
                    "container.name": "\(alert.containerName)", "incident.id": "\(alert.incidentID)",
                    "alert.anomalies": "\(alert.anomalies.map(\.type.rawValue).joined(separator: ","))", "alert.source": "\(alert.source.rawValue)",
                    "alert.stopped_by_operator": "\(alert.stoppedByOperator.map { "\($0)" } ?? "unknown")",
                ])
            case .recovered(var recovered):
                recovered.host = context.hostID
                let envelope = Envelope(agent: MonitorService.agent, host: context.hostID, data: recovered, timestamp: context.clock.now)
                pending.append(.recovered(envelope))
                logger.notice("container recovered", metadata: ["container.name": "\(recovered.containerName)", "incident.id": "\(recovered.incidentID)"])
            case .checkAgain(let containerID, let at):
                schedule(at: at, id: containerID)
            }
        }
        if pending.dropped > reportedDropped {
            logger.error("pending messages over the limit; oldest dropped", metadata: ["monitor.dropped": "\(pending.dropped - reportedDropped)"])
            reportedDropped = pending.dropped
        }
        faultTimes = faultTimes.filter { id, _ in pending.messages.contains { $0.id == id } }
        await flush()
    }

    private func schedule(at: Date, id: String) {
        let index = checks.firstIndex { $0.at > at } ?? checks.endIndex
        checks.insert((at, id), at: index)
        if index == 0 { checksChanged.ring() }
    }

    /// Looks at each container again when its watch asked for it (``WatchAction/checkAgain``),
    /// until the monitor stops.
    func runChecks() async {
        while !Task.isCancelled && !stopping {
            let now = context.clock.now
            while let first = checks.first, first.at <= now {
                checks.removeFirst()
                await tick(first.containerID)
            }
            let wait = checks.first.map { Duration.milliseconds(Int64(max(0, $0.at.timeIntervalSince(now)) * 1000) + 1) }
            await checksChanged.wait(upTo: wait)
        }
    }

    /// Publishes waiting messages in order; stops at the first failure.
    func flush() async {
        guard !flushing else { return }
        flushing = true
        defer { flushing = false }
        while let message = pending.first {
            do {
                switch message {
                case .alert(let envelope, let reminder):
                    _ = try await context.bus.publish(envelope)
                    Counter(label: MetricNames.healthAlerts, dimensions: [("kind", envelope.data.anomalies.first?.type.rawValue ?? "none")]).increment()
                    if !reminder, let (faultAt, source) = faultTimes.removeValue(forKey: envelope.id) {
                        Metrics.Timer(label: MetricNames.faultToAlertSeconds, dimensions: [("source", source.rawValue)])
                            .recordNanoseconds(Int64(max(0, context.clock.now.timeIntervalSince(faultAt)) * 1e9))
                    }
                case .recovered(let envelope):
                    _ = try await context.bus.publish(envelope)
                }
                pending.removeFirst()
                redisBack()
            } catch {
                redisFailed(error, pendingCount: pending.count)
                return
            }
        }
    }

    /// Retries waiting messages every second while there are any.
    func flushLoop() async {
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(30))
        while !Task.isCancelled && !stopping {
            if pending.isEmpty {
                backoff.reset()
                try? await Task.sleep(for: .milliseconds(500))
                continue
            }
            await flush()
            if !pending.isEmpty { try? await Task.sleep(for: backoff.next()) }
        }
    }

    private func redisFailed(_ error: any Error, pendingCount: Int) {
        guard !redisDown else { return }
        redisDown = true
        logger.error("redis unreachable; keeping messages in memory and retrying with backoff", metadata: [
            "error": "\(error)", "monitor.pending": "\(pendingCount)",
        ])
    }

    private func redisBack() {
        guard redisDown else { return }
        redisDown = false
        logger.info("redis reachable again", metadata: ["monitor.pending": "\(pending.count)"])
    }

    private func countDockerError(_ operation: String, count: Int = 1) {
        Counter(label: MetricNames.dockerErrors, dimensions: [("operation", operation)]).increment(by: count)
    }

    // MARK: Lifecycle

    func shutdown() {
        stopping = true
        resync.ring()
        checksChanged.ring()
    }

    func finish() async {
        shutdown()
        if !pending.isEmpty { await flush() }
        if !pending.isEmpty {
            logger.error("monitor stopped with messages not published", metadata: ["monitor.pending": "\(pending.count)"])
        }
    }
}
