public import Foundation
public import HemoStatCore
public import HemoStatModel
public import HemoStatRedis

/// What keeps HemoStat from acting on a container that is down or sick now, and until when:
/// shown by `hemostat status` and the dashboard, so no state in which HemoStat holds back is
/// silent.
public struct Waiting: Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// An operator's hold, until then.
        case hold(by: String, until: Date)
        /// The breaker is open: only a person closes it.
        case breakerOpen
        /// A person was told, and HemoStat does not try again on its own.
        case person
        /// The cooldown after the last action, until then.
        case cooldown(until: Date)
        /// The container's hourly budget is spent.
        case budget(used: Int)
        /// The analyzer evaluates the incident again with each new sample.
        case evidence(incident: String)
    }

    public var container: ContainerRef
    /// What is wrong now: `exited: non_zero_exit` or `running: high_cpu, high_memory`.
    public var sick: String
    public var reason: Reason

    /// `exited: non_zero_exit; waiting for the cooldown until 2026-12-05T10:00:00Z`.
    public var description: String { "\(sick); \(waitingFor)" }

    /// What it waits for, and until when.
    public var waitingFor: String {
        switch reason {
        case .hold(let by, let until): "waiting for the hold by \(by) until \(Timestamp.format(until))"
        case .breakerOpen: "waiting: the breaker is open (hemostat breaker reset \(container))"
        case .person: "waiting for a person: it was escalated, and HemoStat does not try again on its own"
        case .cooldown(let until): "waiting for the cooldown until \(Timestamp.format(until))"
        case .budget(let used): "waiting for the hourly budget (\(used) actions used)"
        case .evidence(let incident): "waiting for evidence: incident \(incident) is evaluated again with each new sample"
        }
    }

    /// Decides from what is known, without I/O. Nil when the container is well (its stats
    /// document lists no anomaly but a stop by an operator), an action is in flight, or nothing
    /// holds HemoStat back.
    ///
    /// - Parameters:
    ///   - stats: the container's stats document (`hemostat:stats:<host>:<name>`).
    ///   - escalated: a person was told about the container (`hemostat:escalated:<container>`).
    ///   - recheck: the incident of the container the analyzer evaluates again, if any.
    public static func assess(
        stats: JSONValue?, status: ContainerGateStatus, escalated: Bool, maxActionsPerContainer: Int, recheck: String?, now: Date
    ) -> Waiting? {
        guard let stats else { return nil }
        let anomalies = (stats["anomalies"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue }
            .filter { $0 != AnomalyType.containerStopped.rawValue }
        guard !anomalies.isEmpty else { return nil }
        let sick = (stats["status"]?.stringValue ?? "") + ": " + anomalies.joined(separator: ", ")
        if let until = status.heldUntil, until > now {
            return Waiting(container: status.container, sick: sick, reason: .hold(by: status.heldBy ?? "?", until: until))
        }
        if status.breakerState == .open { return Waiting(container: status.container, sick: sick, reason: .breakerOpen) }
        if status.inFlight { return nil }
        if escalated { return Waiting(container: status.container, sick: sick, reason: .person) }
        if status.cooldownRemainingSeconds > 0 {
            return Waiting(container: status.container, sick: sick, reason: .cooldown(until: now.addingTimeInterval(TimeInterval(status.cooldownRemainingSeconds))))
        }
        if status.actionsThisWindow >= maxActionsPerContainer {
            return Waiting(container: status.container, sick: sick, reason: .budget(used: status.actionsThisWindow))
        }
        if let recheck { return Waiting(container: status.container, sick: sick, reason: .evidence(incident: recheck)) }
        return nil
    }

    /// Reads what ``assess(stats:status:escalated:maxActionsPerContainer:recheck:now:)`` needs
    /// from Redis for several containers at once.
    public struct Reader: Sendable {
        public let redis: RedisClient
        public let keys: KeySpace
        public let maxActionsPerContainer: Int

        public init(redis: RedisClient, keys: KeySpace, maxActionsPerContainer: Int) {
            self.redis = redis
            self.keys = keys
            self.maxActionsPerContainer = maxActionsPerContainer
        }

        /// The waiting state of each container whose gate status is given, in their order.
        /// - Parameters:
        ///   - stats: the containers' parsed stats documents where already read; the others
        ///     are read here.
        ///   - rechecks: whether to look at the analyzer's re-evaluations (not for dry-run
        ///     gates: the analyzer's incidents are the live ones).
        public func waiting(
            _ statuses: [ContainerGateStatus], stats: [ContainerRef: JSONValue] = [:], rechecks: Bool, now: Date
        ) async throws -> [Waiting?] {
            guard !statuses.isEmpty else { return [] }
            var commands: [[String]] = statuses.map { ["EXISTS", keys.containerEscalated($0.container)] }
            let unread = statuses.map(\.container).filter { stats[$0] == nil }
            commands += unread.map { ["GET", keys.stats($0)] }
            let replies = try await redis.pipeline(commands)
            if let error = replies.lazy.compactMap(\.redisError).first { throw error }
            var documents = stats
            for (index, container) in unread.enumerated() {
                if let text = replies[statuses.count + index].string, let document = try? JSONValue.parse(text) {
                    documents[container] = document
                }
            }
            let open = rechecks ? try await openRechecks() : [:]
            return statuses.enumerated().map { index, status in
                Waiting.assess(
                    stats: documents[status.container], status: status, escalated: replies[index].integer == 1,
                    maxActionsPerContainer: maxActionsPerContainer, recheck: open[status.container], now: now)
            }
        }

        /// The incidents the analyzer evaluates again, by container (at most 1,000 read).
        public func openRechecks() async throws -> [ContainerRef: String] {
            let ids = (try await redis.send(["ZRANGE", keys.analyzerRechecks, "0", "999"]).array ?? []).compactMap(\.string)
            guard !ids.isEmpty else { return [:] }
            let replies = try await redis.pipeline(ids.map { ["HGET", keys.analyzerRecheck($0), "alert"] })
            var open: [ContainerRef: String] = [:]
            for (id, reply) in zip(ids, replies) {
                guard let text = reply.string, let alert = try? Envelope<HealthAlert>.decode(text) else { continue }
                open[alert.container] = open[alert.container] ?? id
            }
            return open
        }
    }
}
