import Foundation
@testable import HemoStatCore
@testable import HemoStatModel
import HemoStatRedis
@testable import HemoStatResponder
import HemoStatTestSupport
import Logging
import Testing

/// A responder against the real Redis (own key prefix) and an in-memory engine that records
/// every mutating command.
struct ResponderHarness {
    let keys: KeySpace
    let redis: RedisClient
    let engine: InMemoryRemediationEngine
    /// What the services act through: ``engine`` unless another was given.
    let actingEngine: any RemediationEngine
    let configuration: HemoStatConfiguration
    let redisSettings: RedisSettings

    /// - Parameter redisURL: another server than the shared test Redis (`redis://127.0.0.1:port`).
    init(engine: InMemoryRemediationEngine = InMemoryRemediationEngine(), actingEngine: (any RemediationEngine)? = nil, redisURL: String? = nil, configure: (inout ResponderConfiguration) -> Void = { _ in }) throws {
        let prefix = TestEnvironment.uniquePrefix("resp") + ":"
        var settings = RedisSettings(connectTimeout: .seconds(1), commandTimeout: .seconds(2), keyPrefix: prefix)
        let url = try redisURL ?? TestEnvironment.redisURL()
        if url.hasPrefix("unix://") {
            settings.socketPath = String(url.dropFirst("unix://".count))
        } else if let components = URLComponents(string: url) {
            settings.host = components.host ?? "127.0.0.1"
            settings.port = components.port ?? 6379
        }
        var responder = ResponderConfiguration(
            cooldown: .zero, maxActionsPerHour: 100, globalMaxActionsPerHour: 0,
            verificationWindow: .milliseconds(300), lockTTL: .seconds(30), stopTimeout: .seconds(1),
            verificationInterval: .milliseconds(25))
        configure(&responder)
        redisSettings = settings
        configuration = HemoStatConfiguration(hostID: "test-host", stateDirectory: NSTemporaryDirectory(), redis: settings, responder: responder)
        keys = KeySpace(prefix: prefix)
        redis = RedisClient(configuration: settings.clientConfiguration(clientName: "responder-test"))
        self.engine = engine
        self.actingEngine = actingEngine ?? engine
    }

    func context(host: String = "test-host") -> AgentContext {
        var configuration = configuration
        configuration.hostID = host
        var bus = BusConfiguration()
        bus.blockTime = .milliseconds(100)
        bus.reclaimMinIdle = .milliseconds(500)
        bus.reclaimInterval = .milliseconds(200)
        var logger = Logger(label: "responder-test")
        logger.logLevel = .critical
        return AgentContext(
            configuration: configuration, redis: RedisClient(configuration: redisSettings.clientConfiguration()),
            busConfiguration: bus, logger: logger)
    }

    func service(host: String = "test-host", dryRun: Bool? = nil) -> ResponderService {
        ResponderService(context: context(host: host), engine: actingEngine, dryRun: dryRun, own: OwnContainers(names: ["test-redis"]), persistFor: .seconds(20))
    }

    /// Runs `services` while `body` runs, then stops them and checks none failed.
    func running<T>(_ services: [ResponderService], _ body: () async throws -> T) async throws -> T {
        let tasks = services.map { service in Task { try await service.run() } }
        do {
            let value = try await body()
            for task in tasks { task.cancel() }
            for task in tasks { try await task.value }
            return value
        } catch {
            for task in tasks { task.cancel() }
            throw error
        }
    }

    func request(
        _ container: String, _ action: RuleAction = .restart, alertID: String = UUID().uuidString, incidentID: String = "incident-1",
        dryRun: Bool = false, parameters: ActionParameters? = nil, stoppedByOperator: Bool? = nil
    ) -> Envelope<RemediationNeeded> {
        Envelope(agent: "analyzer", host: "test-host", data: RemediationNeeded(
            container: container, containerID: "id-\(container)", action: action, parameters: parameters, reason: "test",
            confidence: 0.9, rule: "test.lua:on_alert", analysisMethod: .rules, dryRun: dryRun, incidentID: incidentID,
            alertID: alertID, detectedAt: Date().addingTimeInterval(-5), stoppedByOperator: stoppedByOperator))
    }

    func publish(_ envelope: Envelope<RemediationNeeded>) async throws {
        try await MessageBus(redis: redis, keys: keys).publish(envelope)
    }

    func completions(_ container: String? = nil) async throws -> [RemediationComplete] {
        try await redis.xrange(keys.channel(.remediationComplete)).compactMap { entry in
            try entry[field: MessageBus.messageField].map { try Envelope<RemediationComplete>.decode($0).data }
        }.filter { container == nil || $0.container == container }
    }

    func escalations() async throws -> [Escalation] {
        try await redis.xrange(keys.channel(.escalation)).compactMap { entry in
            try entry[field: MessageBus.messageField].map { try Envelope<Escalation>.decode($0).data }
        }
    }

    func auditRecords() async throws -> [JSONValue] {
        try await redis.xrange(keys.audit).compactMap { entry in
            try entry[field: AuditLog.recordField].map { try JSONValue.parse($0) }
        }
    }

    func gate(dryRun: Bool = false) -> SafetyGate {
        SafetyGate(redis: redis, policy: SafetyPolicy(configuration: configuration.responder), keys: keys, dryRun: dryRun)
    }

    /// Every key of this harness, deleted.
    func cleanUp() async {
        var cursor = "0"
        repeat {
            guard case .array(let parts)? = try? await redis.send(["SCAN", cursor, "MATCH", keys.prefix + "*", "COUNT", "1000"]),
                  parts.count == 2, let next = parts[0].string, case .array(let found) = parts[1] else { return }
            let names = found.compactMap(\.string)
            if !names.isEmpty { _ = try? await redis.send(["DEL"] + names) }
            cursor = next
        } while cursor != "0"
    }
}

extension JSONValue {
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}
