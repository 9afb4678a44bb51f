import Foundation
@testable import HemoStatCore
@testable import HemoStatModel
@testable import HemoStatMonitor
import HemoStatRedis
@testable import HemoStatResponder
import HemoStatTestSupport
import Logging
import Synchronization
import Testing

/// A container engine held in memory: tests set containers and push events.
final class InMemoryContainerEngine: ContainerEngine {
    struct State {
        var containers: [String: ContainerInspection] = [:]
        var readings: [String: StatsReading] = [:]
        var continuations: [AsyncThrowingStream<EngineEvent, any Error>.Continuation] = []
        var unreachable = false
        var statsCalls = 0
        /// When set, the next listing is read at once and returned only after this finishes.
        var listGate: (@Sendable () async -> Void)?
    }

    let state = Mutex(State())

    func set(_ container: ContainerInspection, cpuTotal: UInt64 = 0, system: UInt64 = 0) {
        state.withLock {
            $0.containers[container.id] = container
            $0.readings[container.id] = StatsReading(
                read: Date(), cpu: .init(totalUsage: cpuTotal, systemUsage: system, onlineCPUs: 2),
                memoryUsage: 10_000_000, memoryLimit: 100_000_000)
        }
    }

    func emit(_ event: EngineEvent) {
        for c in state.withLock({ $0.continuations }) { c.yield(event) }
    }

    func dropEventStreams() {
        let all = state.withLock { s in
            defer { s.continuations = [] }
            return s.continuations
        }
        for c in all { c.finish(throwing: ContainerEngineError(code: .unreachable, message: "dropped")) }
    }

    func listContainers() async throws -> [EngineContainer] {
        let (listed, gate) = try state.withLock { s in
            if s.unreachable { throw ContainerEngineError(code: .unreachable, message: "no engine") }
            defer { s.listGate = nil }
            return (s.containers.values.map { EngineContainer(id: $0.id, name: $0.name, image: $0.image, state: $0.status, labels: $0.labels) }, s.listGate)
        }
        await gate?()
        return listed
    }

    func inspect(_ id: String) async throws -> ContainerInspection {
        try state.withLock { s in
            guard let c = s.containers[id] else { throw ContainerEngineError(code: .notFound, message: "no such container") }
            return c
        }
    }

    func stats(_ id: String, waitForPrevious: Bool) async throws -> StatsReading {
        try state.withLock { s in
            s.statsCalls += 1
            guard let r = s.readings[id] else { throw ContainerEngineError(code: .notFound, message: "no such container") }
            return r
        }
    }

    func events(since: Date?) -> AsyncThrowingStream<EngineEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<EngineEvent, any Error>.makeStream()
        state.withLock { $0.continuations.append(continuation) }
        return stream
    }
}

/// The monitor service against a real Redis and an in-memory engine.
@Suite(.enabled(if: TestEnvironment.integration))
struct MonitorServiceTests {
    let prefix = TestEnvironment.uniquePrefix("mon") + ":"

    func context(redisURL: String? = nil, poll: Duration = .seconds(60)) throws -> AgentContext {
        var configuration = HemoStatConfiguration(hostID: "test-host")
        configuration.redis.keyPrefix = prefix
        configuration.monitor.pollInterval = poll
        let redis = RedisClient(configuration: try RedisConfiguration(url: try redisURL ?? TestEnvironment.redisURL()), logger: Logger(label: "test"))
        return AgentContext(configuration: configuration, redis: redis, logger: Logger(label: "test"))
    }

    func alerts(_ context: AgentContext) async throws -> [Envelope<HealthAlert>] {
        try await context.redis.xrange(context.keys.channel(.healthAlert)).compactMap { $0[field: "message"] }.map { try Envelope<HealthAlert>.decode($0) }
    }

    func running(_ id: String, _ name: String, labels: [String: String] = [:]) -> ContainerInspection {
        ContainerInspection(id: id, name: name, image: "busybox", status: "running", healthStatus: "none", labels: labels)
    }

    @Test func crashOnTheEventPathIsAlertedBeforeTheNextPoll() async throws {
        let context = try context()
        let engine = InMemoryContainerEngine()
        engine.set(running("c1", "web"))
        engine.set(running("c2", "quiet", labels: ["hemostat.enable": "false"]))
        let service = MonitorService(context: context, engine: engine, ownContainerID: nil)
        let task = Task { try await service.run() }
        defer { task.cancel() }
        // The first cycle writes the stats documents and the container index.
        try await eventually("stats") { try await context.redis.send(["EXISTS", context.keys.stats("web")]).integer == 1 }
        let document = try JSONValue.parse(try #require(try await context.redis.send(["GET", context.keys.stats("web")]).string))
        #expect(document["host"] == .string("test-host"))
        #expect(document["history"]?.arrayValue?.count == 1)
        let quiet = try JSONValue.parse(try #require(try await context.redis.send(["GET", context.keys.stats("quiet")]).string))
        #expect(quiet["excluded"] == .bool(true))
        #expect(try await context.redis.send(["ZCARD", context.keys.containers]).integer == 2)
        #expect(try await context.redis.send(["TTL", context.keys.stats("web")]).integer ?? 0 > 0)

        // Crash both; only the watched one is alerted, from the event, with the poll 60 s away.
        for (id, name) in [("c1", "web"), ("c2", "quiet")] {
            var dead = engine.state.withLock { $0.containers[id]! }
            dead.status = "exited"
            dead.exitCode = 2
            engine.set(dead)
            engine.emit(EngineEvent(action: "die", containerID: id, containerName: name, attributes: ["exitCode": "2"], time: Date()))
        }
        try await eventually("alert") { try await !alerts(context).isEmpty }
        let published = try await alerts(context)
        #expect(published.count == 1)
        let alert = try #require(published.first)
        #expect(alert.data.containerName == "web")
        #expect(alert.data.source == .event)
        #expect(alert.data.anomalies.map(\.type) == [.nonZeroExit])
        #expect(alert.data.stoppedByOperator == false)
        #expect(alert.host == "test-host")
        // Several more cycles of the same crash: still one alert.
        for _ in 0..<3 { try #require(await service.runCycle()) }
        #expect(try await alerts(context).count == 1)
        // Running again: recovered once, with the alert's incident id.
        engine.set(running("c1", "web"))
        try #require(await service.runCycle())
        let recovered = try await context.redis.xrange(context.keys.channel(.containerRecovered)).compactMap { $0[field: "message"] }
            .map { try Envelope<ContainerRecovered>.decode($0) }
        #expect(recovered.map(\.data.incidentID) == [alert.data.incidentID])
    }

    @Test func aContainerThatDiesWhileAPollIsReadingIsOneIncident() async throws {
        let context = try context()
        let engine = InMemoryContainerEngine()
        engine.set(running("c1", "web"))
        let service = MonitorService(context: context, engine: engine, ownContainerID: nil)
        try #require(await service.runCycle())
        // A poll lists the containers; before it is done, a container started after the listing
        // dies and its `die` is handled.
        let (listed, listedContinuation) = AsyncStream<Void>.makeStream()
        let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
        engine.state.withLock { s in
            s.listGate = {
                listedContinuation.yield()
                for await _ in release { break }
            }
        }
        let cycle = Task { await service.runCycle() }
        for await _ in listed { break }
        var late = running("c2", "late")
        late.status = "exited"
        late.exitCode = 2
        engine.set(late)
        await service.runtime.handle(EngineEvent(action: "die", containerID: "c2", containerName: "late", attributes: ["exitCode": "2"], time: Date()))
        releaseContinuation.yield()
        try #require(await cycle.value)
        // The next polls list it: still the one incident the event opened.
        for _ in 0..<2 { try #require(await service.runCycle()) }
        let published = try await alerts(context).filter { $0.data.containerName == "late" }
        #expect(published.count == 1, "\(published.map(\.data.incidentID))")
        #expect(published.first?.data.source == .event)
    }

    @Test func operatorKillIsMarkedAndTheStreamReconnects() async throws {
        let context = try context()
        let engine = InMemoryContainerEngine()
        engine.set(running("c1", "api"))
        let service = MonitorService(context: context, engine: engine, ownContainerID: nil)
        let task = Task { try await service.run() }
        defer { task.cancel() }
        try await eventually("stats") { try await context.redis.send(["EXISTS", context.keys.stats("api")]).integer == 1 }
        try await eventually("event stream") { engine.state.withLock { !$0.continuations.isEmpty } }
        engine.dropEventStreams()
        try await eventually("event stream again") { engine.state.withLock { !$0.continuations.isEmpty } }
        var dead = running("c1", "api")
        dead.status = "exited"
        dead.exitCode = 137
        engine.set(dead)
        engine.emit(EngineEvent(action: "kill", containerID: "c1", containerName: "api", attributes: ["signal": "9"], time: Date()))
        engine.emit(EngineEvent(action: "die", containerID: "c1", containerName: "api", attributes: ["exitCode": "137"], time: Date()))
        try await eventually("alert") { try await !alerts(context).isEmpty }
        let alert = try #require(try await alerts(context).first)
        #expect(alert.data.stoppedByOperator == true)
        #expect(alert.data.anomalies.map(\.type) == [.containerStopped])
        #expect(alert.data.source == .event)
    }

    @Test func alertsMadeWhileRedisIsDownArePublishedWhenItIsBack() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let context = try context(redisURL: server.unixURL)
        let engine = InMemoryContainerEngine()
        engine.set(running("c1", "db"))
        let service = MonitorService(context: context, engine: engine, ownContainerID: nil)
        let task = Task { try await service.run() }
        defer { task.cancel() }
        try await eventually("stats") { try await context.redis.send(["EXISTS", context.keys.stats("db")]).integer == 1 }
        server.stop()
        var dead = running("c1", "db")
        dead.status = "exited"
        dead.exitCode = 1
        engine.set(dead)
        engine.emit(EngineEvent(action: "die", containerID: "c1", containerName: "db", attributes: ["exitCode": "1"], time: Date()))
        try await eventually("queued") { await service.pendingMessageCount == 1 }
        try server.restart()
        try await eventually("published", timeout: .seconds(30)) { await service.pendingMessageCount == 0 }
        let published = try await alerts(context)
        #expect(published.map(\.data.containerName) == ["db"])
    }

    @Test func dockerUnreachableDoesNotStopTheMonitor() async throws {
        let context = try context(poll: .seconds(1))
        let engine = InMemoryContainerEngine()
        engine.state.withLock { $0.unreachable = true }
        let service = MonitorService(context: context, engine: engine, ownContainerID: nil)
        #expect(await service.runCycle() == false)
        engine.state.withLock { $0.unreachable = false }
        engine.set(running("c1", "cache"))
        #expect(await service.runCycle())
        #expect(try await context.redis.send(["EXISTS", context.keys.stats("cache")]).integer == 1)
    }

    @Test func cpuComesFromTheLastCycleWhenOneShotStatsHaveNoPreviousReading() async throws {
        let context = try context()
        let engine = InMemoryContainerEngine()
        engine.set(running("c1", "worker"), cpuTotal: 1_000_000_000, system: 10_000_000_000)
        let service = MonitorService(context: context, engine: engine, ownContainerID: nil)
        try #require(await service.runCycle())
        engine.set(running("c1", "worker"), cpuTotal: 2_000_000_000, system: 12_000_000_000)
        try #require(await service.runCycle())
        let document = try JSONValue.parse(try #require(try await context.redis.send(["GET", context.keys.stats("worker")]).string))
        #expect(document["metrics"]?["cpu_percent"] == .number(100))
        #expect(document["cpu_known"] == .bool(true))
        let history = try #require(document["history"]?.arrayValue)
        #expect(history.count == 2)
        #expect(history[0]["cpu_percent"] == nil)
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { fields[key] } else { nil }
    }

    var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }
}
