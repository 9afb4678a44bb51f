import Foundation
@testable import HemoStatAnalyzer
@testable import HemoStatCore
@testable import HemoStatModel
import HemoStatRedis
import HemoStatTestSupport
import Logging
import Synchronization
import Testing

/// The analyzer against the real Redis: alerts in through the stream, decisions out.
@Suite(.enabled(if: TestEnvironment.integration))
struct AnalyzerIntegrationTests {
    let prefix = TestEnvironment.uniquePrefix("an") + ":"
    let redis: RedisClient
    let keys: KeySpace

    init() throws {
        redis = RedisClient(configuration: try RedisConfiguration(url: try TestEnvironment.redisURL()))
        keys = KeySpace(prefix: prefix)
    }

    func context(host: String = "node-1", llm: LLMConfiguration = LLMConfiguration()) throws -> AgentContext {
        var configuration = try HemoStatConfiguration.inspect(
            yaml: nil, path: "", environment: ["REDIS_URL": try TestEnvironment.redisURL(), "HEMOSTAT_REDIS_KEY_PREFIX": prefix]
        ).configuration
        configuration.hostID = host
        configuration.analyzer.rulesDirectory = repositoryRulesDirectory
        configuration.analyzer.statusInterval = .seconds(1)
        configuration.analyzer.llm = llm
        var bus = BusConfiguration()
        bus.blockTime = .milliseconds(100)
        bus.reclaimMinIdle = .milliseconds(500)
        bus.reclaimInterval = .milliseconds(200)
        return AgentContext(configuration: configuration, redis: redis, busConfiguration: bus, logger: analyzerQuietLogger)
    }

    /// Runs `services` until `done` holds (or ``defaultWait`` passes), then cancels them.
    func run(_ services: [AnalyzerService], until done: @escaping @Sendable () async throws -> Bool) async throws {
        let tasks = services.map { service in Task { try await service.run() } }
        _ = try await holds(done)
        for task in tasks { task.cancel() }
        for task in tasks { try await task.value }
    }

    func entries(_ channel: Channel) async throws -> [String] {
        try await redis.xrange(keys.channel(channel)).compactMap { $0[field: MessageBus.messageField] }
    }

    /// Entries read but not acknowledged by the analyzers; -1 before the group exists.
    func pending() async -> Int {
        (try? await redis.xpending(stream: keys.channel(.healthAlert), group: AnalyzerService.group).count) ?? -1
    }

    func publish(_ alert: HealthAlert, at date: Date = Date()) async throws -> Envelope<HealthAlert> {
        let envelope = AnalyzerFixtures.envelope(alert, at: date)
        try await MessageBus(redis: redis, keys: keys).publish(envelope)
        return envelope
    }

    func cleanUp() async {
        if let names = try? await redis.send(["KEYS", prefix + "*"]).array?.compactMap(\.string), !names.isEmpty {
            _ = try? await redis.send(["DEL"] + names)
        }
    }

    @Test func alertsInDecisionsOut() async throws {
        defer { Task { [self] in await cleanUp() } }
        let service = try AnalyzerService(context: try context())
        let crash = try await publish(AnalyzerFixtures.alert(name: "api", status: "exited", exitCode: 3))
        let starting = try await publish(AnalyzerFixtures.alert(name: "db", health: "starting"))
        let loop = try await publish(AnalyzerFixtures.alert(
            name: "worker", status: "exited", exitCode: 1,
            anomalies: [Anomaly(type: .restartLoop, severity: .critical, value: 4, threshold: 3)]))
        _ = try await publish(AnalyzerFixtures.alert(name: "quiet"))

        try await run([service]) {
            let decided = try await entries(.remediationNeeded).count + entries(.falseAlarm).count + entries(.escalation).count
            let open = await pending()
            return decided == 3 && open == 0
        }

        let requests = try await entries(.remediationNeeded).map { try Envelope<RemediationNeeded>.decode($0) }
        #expect(requests.count == 1)
        #expect(requests.first?.data.action == .restart)
        #expect(requests.first?.data.container == "api")
        #expect(requests.first?.data.alertID == crash.id)
        #expect(requests.first?.data.incidentID == crash.data.incidentID)
        #expect(requests.first?.data.analysisMethod == .rules)
        #expect(requests.first?.agent == "analyzer")

        let alarms = try await entries(.falseAlarm).map { try Envelope<FalseAlarm>.decode($0) }
        #expect(alarms.map(\.data.alertID) == [starting.id])
        let escalations = try await entries(.escalation).map { try Envelope<Escalation>.decode($0) }
        #expect(escalations.map(\.data.alertID) == [loop.id])
        #expect(escalations.first?.data.rule == "crash-loop")
        #expect(await pending() == 0)

        let status = try #require(try await redis.send(["GET", keys.rulesStatus]).string)
        let document = try JSONValue.parse(status)
        guard case .array(let rules)? = document["rules"] else { Issue.record("no rules in status: \(status)"); return }
        #expect(rules.contains { $0["name"] == "crash-restart" })
        #expect(document["load_errors"] == [])
    }

    @Test func historyFromTheStatsKeyDecides() async throws {
        defer { Task { [self] in await cleanUp() } }
        let context = try context()
        let service = try AnalyzerService(context: context)
        let sustained = AnalyzerFixtures.cpuHistory([95, 96, 97, 98, 97, 96, 97])
        try await redis.send(["SET", keys.stats("node-1/busy"), AnalyzerFixtures.statsDocument(history: sustained)])
        try await redis.send(["SET", keys.stats("node-1/spiky"), AnalyzerFixtures.statsDocument(history: AnalyzerFixtures.cpuHistory([20, 97]))])
        var busy = AnalyzerFixtures.ambiguousCPU
        busy.containerName = "busy"
        var spiky = AnalyzerFixtures.ambiguousCPU
        spiky.containerName = "spiky"
        _ = try await publish(busy)
        _ = try await publish(spiky)

        try await run([service]) {
            let requests = try await entries(.remediationNeeded).count
            let alarms = try await entries(.falseAlarm).count
            return requests == 1 && alarms == 1
        }
        let request = try #require(try await entries(.remediationNeeded).first.map { try Envelope<RemediationNeeded>.decode($0) })
        #expect(request.data.container == "busy")
        #expect(request.data.rule == "cpu-sustained")
        let alarm = try #require(try await entries(.falseAlarm).first.map { try Envelope<FalseAlarm>.decode($0) })
        #expect(alarm.data.container == "spiky")
        #expect(alarm.data.analysisMethod == .rules)
        #expect(alarm.data.reason.contains("LLM not used: no LLM configured"))
    }

    @Test func malformedAlertsGoToTheDeadLetterStream() async throws {
        defer { Task { [self] in await cleanUp() } }
        let service = try AnalyzerService(context: try context())
        let bus = MessageBus(redis: redis, keys: keys)
        try await bus.publish(channel: keys.channel(.healthAlert), message: "{not json")
        try await bus.publish(channel: keys.channel(.healthAlert), message: #"{"event_type":"health_alert","timestamp":"2026-01-01T00:00:00Z","agent":"m","host":"h","id":"x","data":{"incident_id":"i"}}"#)
        try await run([service]) { try await redis.xrange(keys.channel(.deadLetter)).count == 2 }
        let letters = try await redis.xrange(keys.channel(.deadLetter))
        #expect(letters.count == 2)
        #expect(letters.allSatisfy { $0[field: "group"] == "analyzer" && !($0[field: "reason"] ?? "").isEmpty })
        #expect(letters.last?[field: "reason"]?.contains("container_id") == true)
        #expect(try await entries(.remediationNeeded).isEmpty)
    }

    @Test func twoAnalyzersNeverHandleOneAlertTwice() async throws {
        defer { Task { [self] in await cleanUp() } }
        // Both members are alive throughout: with the default reclaim time nothing is claimed
        // from a slow but living member, so each alert is delivered exactly once.
        var first = try context(host: "node-a"), second = try context(host: "node-b")
        first.bus = MessageBus(redis: first.redis, configuration: BusConfiguration(), keys: first.keys)
        second.bus = MessageBus(redis: second.redis, configuration: BusConfiguration(), keys: second.keys)
        let firstService = try AnalyzerService(context: first)
        let secondService = try AnalyzerService(context: second)
        var ids: Set<String> = []
        for n in 0..<60 {
            ids.insert(try await publish(AnalyzerFixtures.alert(name: "c\(n)", status: "exited", exitCode: 1)).id)
        }
        try await run([firstService, secondService]) {
            let answered = try await entries(.remediationNeeded).count
            let open = await pending()
            return answered >= 60 && open == 0
        }
        let answered = try await entries(.remediationNeeded).map { try Envelope<RemediationNeeded>.decode($0).data.alertID }
        #expect(answered.count == 60)
        #expect(Set(answered) == ids)
        let consumers = try await redis.send(["XINFO", "CONSUMERS", keys.channel(.healthAlert), AnalyzerService.group]).array ?? []
        #expect(consumers.count == 2)
    }

    @Test func staleAlertsAreDroppedUnanswered() async throws {
        defer { Task { [self] in await cleanUp() } }
        let service = try AnalyzerService(context: try context())
        _ = try await publish(AnalyzerFixtures.alert(name: "old", status: "exited", exitCode: 1), at: Date().addingTimeInterval(-1200))
        let fresh = try await publish(AnalyzerFixtures.alert(name: "new", status: "exited", exitCode: 1))
        try await run([service]) {
            let answered = try await entries(.remediationNeeded).count
            let open = await pending()
            return answered == 1 && open == 0
        }
        let requests = try await entries(.remediationNeeded).map { try Envelope<RemediationNeeded>.decode($0) }
        #expect(requests.map(\.data.alertID) == [fresh.id])
    }

    // MARK: the LLM through Redis (budget and cache), with a scripted provider

    func llmService(_ transport: ScriptedTransport, budget: Int = 60, key: String? = "sk-ant-test") throws -> AnalyzerService {
        try AnalyzerService(
            context: try context(llm: LLMConfiguration(
                provider: .anthropic, hourlyCallBudget: budget, anthropicAPIKey: key.map(Secret.init))),
            llmTransport: transport)
    }

    func ambiguous(_ name: String) async throws -> Envelope<HealthAlert> {
        try await redis.send(["SET", keys.stats(ContainerRef(host: "node-1", name: name)), AnalyzerFixtures.statsDocument(history: AnalyzerFixtures.cpuHistory([20, 97]))])
        var alert = AnalyzerFixtures.ambiguousCPU
        alert.containerName = name
        return AnalyzerFixtures.envelope(alert)
    }

    @Test func withoutAKeyNoRequestIsMade() async throws {
        defer { Task { [self] in await cleanUp() } }
        let transport = ScriptedTransport([])
        let service = try llmService(transport, key: nil)
        let decision = try await service.decide(try await ambiguous("web"))
        #expect(transport.count == 0)
        #expect(decision.method == .rules)
        guard case .falseAlarm(let alarm) = decision.outcome else { Issue.record("expected the fallback"); return }
        #expect(alarm.reason.contains("no API key for anthropic"))
    }

    @Test func answersAreCachedByFingerprint() async throws {
        defer { Task { [self] in await cleanUp() } }
        let transport = ScriptedTransport([
            ScriptedTransport.anthropic(#"{"action":"restart","confidence":0.66,"reason":"looks stuck","is_false_alarm":false}"#),
        ])
        let service = try llmService(transport)
        let first = try await service.decide(try await ambiguous("web"))
        let second = try await service.decide(try await ambiguous("web"))
        #expect(transport.count == 1)
        for decision in [first, second] {
            #expect(decision.method == .llm)
            guard case .remediate(let request) = decision.outcome else { Issue.record("expected a restart"); continue }
            #expect(request.action == .restart)
            #expect(request.confidence == 0.66)
        }
        if case .remediate(let request) = second.outcome { #expect(request.reason.contains("cached answer")) }
        let cached = try await redis.send(["KEYS", keys.llmCache("*")]).array ?? []
        #expect(cached.count == 1)
    }

    @Test func theHourlyBudgetIsShared() async throws {
        defer { Task { [self] in await cleanUp() } }
        // The budget is per clock hour: both calls must fall in one.
        let intoHour = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 3600)
        if intoHour > 3570 { try await Task.sleep(for: .seconds(3601 - intoHour)) }
        let answer = #"{"action":"restart","confidence":0.66,"reason":"r","is_false_alarm":false}"#
        let transport = ScriptedTransport([ScriptedTransport.anthropic(answer), ScriptedTransport.anthropic(answer)])
        let one = try llmService(transport, budget: 1)
        let other = try llmService(transport, budget: 1)
        let first = try await one.decide(try await ambiguous("a"))
        let second = try await other.decide(try await ambiguous("b"))
        #expect(transport.count == 1)
        #expect(first.method == .llm)
        #expect(second.method == .rules)
        if case .falseAlarm(let alarm) = second.outcome {
            #expect(alarm.reason.contains("budget"))
        } else {
            Issue.record("expected the rules' fallback once the budget is spent")
        }
        let used = try await redis.send(["GET", keys.llmBudget(at: Date())]).integer
        #expect(used == 2)
        #expect(try await redis.send(["TTL", keys.llmBudget(at: Date())]).integer ?? 0 > 0)
    }

    @Test func aDisallowedAnswerFallsBackToTheRules() async throws {
        defer { Task { [self] in await cleanUp() } }
        let transport = ScriptedTransport([
            ScriptedTransport.anthropic(#"{"action":"kill","confidence":0.9,"reason":"kill it","is_false_alarm":false}"#),
        ])
        let service = try llmService(transport)
        var envelope = try await ambiguous("guarded")
        envelope.data.labels = ["hemostat.deny_actions": "kill"]
        let decision = try await service.decide(envelope)
        #expect(transport.count == 1)
        #expect(decision.method == .rules)
        guard case .falseAlarm(let alarm) = decision.outcome else { Issue.record("expected the fallback"); return }
        #expect(alarm.reason.contains("not allowed"))
        #expect((try await redis.send(["KEYS", keys.llmCache("*")]).array ?? []).isEmpty)
    }
}
