import Foundation
@testable import HemoStatAlert
@testable import HemoStatApp
@testable import HemoStatCore
import HemoStatHTTP
@testable import HemoStatModel
import HemoStatRedis
import HemoStatTestSupport
import Logging
import Testing

/// The alert agent against the real Redis and a local receiver speaking Slack's webhook wire
/// format over real HTTP.
@Suite(.enabled(if: TestEnvironment.integration))
struct AlertServiceTests {
    let prefix = TestEnvironment.uniquePrefix("alert") + ":"

    func context(clock: any WallClock = SystemWallClock(), _ configure: (inout AlertConfiguration) -> Void) throws -> AgentContext {
        var configuration = HemoStatConfiguration(hostID: "node-1")
        configuration.redis.keyPrefix = prefix
        configuration.alert.groupingWindow = .seconds(2)
        configuration.alert.retry = RetryConfiguration(maxAttempts: 3, initialBackoff: .milliseconds(50), maxBackoff: .seconds(2))
        configure(&configuration.alert)
        let redis = RedisClient(configuration: try RedisConfiguration(url: try TestEnvironment.redisURL()))
        var bus = BusConfiguration()
        bus.blockTime = .milliseconds(100)
        return AgentContext(configuration: configuration, redis: redis, busConfiguration: bus, clock: clock, logger: Logger(label: "test"))
    }

    func complete(_ container: String, status: RemediationStatus = .success, dryRun: Bool = false) -> RemediationComplete {
        RemediationComplete(
            container: container, containerID: "id-\(container)", action: .restart,
            result: RemediationResult(status: status, reason: "verified for 1 s"), dryRun: dryRun,
            analysisMethod: .rules, rule: "crash-restart", incidentID: "inc-\(container)")
    }

    /// Runs the agent while `body` runs.
    func withAlertAgent(_ context: AgentContext, _ body: () async throws -> Void) async throws {
        let client = HTTPClient(logger: Logger(label: "test"))
        defer { client.shutdown() }
        let service = AlertService(context: context, transport: HTTPNotificationTransport(client: client))
        let task = Task { try await service.run() }
        defer { task.cancel() }
        try await body()
    }

    @Test func aRemediationReachesSlackAsOneBlockKitMessageAndTheEventLog() async throws {
        let receiver = try await WebhookReceiver()
        let context = try context { $0.slackWebhookURL = Secret(receiver.baseURL + "/services/T000/B000/XXXX") }
        try await withAlertAgent(context) {
            try await context.publish(complete("web"), agent: "responder")
            let requests = await receiver.wait { $0.count >= 1 }
            #expect(requests.count == 1)
            let body = try #require(requests.first?.json)
            #expect((body["text"] as? String)?.contains("web") == true)
            #expect((body["blocks"] as? [Any])?.isEmpty == false)
            #expect(requests.first?.path == "/services/T000/B000/XXXX")
            #expect(requests.first?.headers["Content-Type"]?.hasPrefix("application/json") == true)

            let logged = try await EventLog(redis: context.redis, keys: context.keys, capacity: 10, ttl: .seconds(60))
                .recent(eventType: "remediation_complete")
            #expect(logged.count == 1)
        }
    }

    @Test func repeatsAreGroupedButDifferentContainersNeverAre() async throws {
        let receiver = try await WebhookReceiver()
        let clock = ManualWallClock()
        let context = try context(clock: clock) { $0.webhookURL = Secret(receiver.baseURL + "/hook") }
        try await withAlertAgent(context) {
            for _ in 0..<3 { try await context.publish(complete("web", status: .failed), agent: "responder") }
            try await context.publish(complete("db", status: .failed), agent: "responder")
            // The first of each container goes out at once; the two repeats of web wait for
            // the end of the grouping window (2 s), which only the clock can bring.
            _ = await receiver.wait { $0.count >= 2 }
            let eventLog = EventLog(redis: context.redis, keys: context.keys, capacity: 10, ttl: .seconds(60))
            try await eventually("the four results in the event log") {
                try await eventLog.recent(eventType: "remediation_complete").count >= 4
            }
            // Nothing more is sent before the clock moves: a repeat would come within this.
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.requests().count == 2)
            clock.advance(by: .seconds(2))
            _ = await receiver.wait { $0.count >= 3 }
            let bodies = receiver.requests().compactMap(\.json)
            #expect(bodies.count == 3)
            let web = bodies.filter { $0["container"] as? String == "web" }
            let db = bodies.filter { $0["container"] as? String == "db" }
            #expect(web.compactMap { $0["repeat_count"] as? Int } == [1, 2])
            #expect(db.compactMap { $0["repeat_count"] as? Int } == [1])
        }
    }

    @Test func rateLimitedWebhooksAreRetriedAfterRetryAfter() async throws {
        let receiver = try await WebhookReceiver(failFirst: 2, failStatus: 429, retryAfter: 1)
        let context = try context { $0.slackWebhookURL = Secret(receiver.baseURL + "/services/x") }
        try await withAlertAgent(context) {
            try await context.publish(complete("web", dryRun: true), agent: "responder")
            let requests = await receiver.wait { $0.count >= 3 }
            #expect(requests.count == 3)
            #expect(requests.last?.body == requests.first?.body)
            #expect((requests.last?.json?["text"] as? String)?.hasPrefix("[DRY RUN]") == true)
        }
    }

    @Test func aDeadWebhookIsGivenUpAndRecordedWithoutItsURL() async throws {
        let receiver = try await WebhookReceiver(failFirst: 100, failStatus: 500)
        let secretPath = "/services/T123/B456/very-secret-token"
        let context = try context { $0.slackWebhookURL = Secret(receiver.baseURL + secretPath) }
        try await withAlertAgent(context) {
            try await context.publish(complete("web", status: .ineffective), agent: "responder")
            let eventLog = EventLog(redis: context.redis, keys: context.keys, capacity: 10, ttl: .seconds(60))
            var failures: [String] = []
            _ = try await holds {
                failures = try await eventLog.recent(eventType: "notification_failed")
                return !failures.isEmpty
            }
            #expect(receiver.requests().count == 3)
            #expect(failures.count == 1)
            #expect(failures.first?.contains("HTTP status 500") == true)
            #expect(failures.first?.contains("very-secret-token") == false)
        }
    }

    @Test func malformedMessagesGoToTheDeadLetterStream() async throws {
        let context = try context { _ in }
        try await withAlertAgent(context) {
            try await context.bus.publish(channel: context.keys.channel(.falseAlarm), message: #"{"event_type":"false_alarm"}"#)
            var letters: [RedisStreamEntry] = []
            _ = try await holds {
                letters = try await context.redis.xrange(context.keys.channel(.deadLetter))
                return !letters.isEmpty
            }
            #expect(letters.count == 1)
            #expect(letters.first?[field: "reason"]?.isEmpty == false)
        }
    }
}
