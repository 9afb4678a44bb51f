public import Foundation
public import HemoStatCore
public import HemoStatModel
import HemoStatRedis

/// The operator's side of the safety gate: holds, breaker resets and the status view. Every
/// command is written to the audit stream with who ran it.
///
/// Holds and resets apply to the live and the dry-run gate alike, so a dry run simulates them.
public struct OperatorCommands: Sendable {
    public let context: AgentContext
    private let live: SafetyGate
    private let dryRun: SafetyGate
    private let audit: AuditLog

    public init(context: AgentContext) {
        self.context = context
        let policy = SafetyPolicy(configuration: context.configuration.responder)
        live = SafetyGate(redis: context.redis, policy: policy, keys: context.keys, dryRun: false, clock: context.gateClock)
        dryRun = SafetyGate(redis: context.redis, policy: policy, keys: context.keys, dryRun: true, clock: context.gateClock)
        audit = AuditLog(
            redis: context.redis, keys: context.keys, file: context.configuration.responder.auditFile,
            stateDirectory: context.configuration.stateDirectory, logger: context.logger)
    }

    /// No action on `container` for `duration` (maintenance). Returns when the hold ends.
    @discardableResult
    public func hold(container: ContainerRef, for duration: Duration, reason: String, who: String) async throws -> Date {
        let until = try await live.hold(container: container, for: duration, by: who, reason: reason)
        try await dryRun.hold(container: container, for: duration, by: who, reason: reason)
        try await record("hold", container: container, who: who, reason: "held until \(Timestamp.format(until))\(reason.isEmpty ? "" : ": \(reason)")")
        return until
    }

    /// Ends a hold.
    public func release(container: ContainerRef, who: String) async throws {
        try await live.release(container: container, by: who)
        try await dryRun.release(container: container, by: who)
        try await record("release", container: container, who: who, reason: "hold released")
    }

    /// Closes the breaker after a person fixed the cause.
    public func resetBreaker(container: ContainerRef, who: String) async throws {
        try await live.resetBreaker(container: container, by: who)
        try await dryRun.resetBreaker(container: container, by: who)
        try await record("breaker_reset", container: container, who: who, reason: "breaker closed by an operator")
    }

    /// Every container HemoStat knows of: those the monitors list (`hemostat:containers`) and
    /// those with gate state, live or dry-run.
    public func knownContainers() async throws -> Set<ContainerRef> {
        var known = Set(try await live.containersWithState()).union(try await dryRun.containersWithState())
        if case .array(let listed) = try await context.redis.send(["ZRANGE", context.keys.containers, "0", "-1"]) {
            known.formUnion(listed.compactMap { $0.string.flatMap(ContainerRef.init) })
        }
        return known
    }

    /// The container an operator names: `host/name` as it is, or a bare name that exactly one
    /// known container has.
    /// - Throws: ``OperatorCommandError`` when a bare name is unknown or names containers on
    ///   several hosts (the error lists them).
    public func resolve(_ text: String) async throws -> ContainerRef {
        let (host, name) = ContainerRef.parse(text)
        guard !name.isEmpty else { throw OperatorCommandError(message: "\(text): expected NAME or HOST/NAME") }
        if let host {
            guard ContainerRef.isValidHostID(host) else { throw OperatorCommandError(message: "\(text): \(host) is not a host id") }
            return ContainerRef(host: host, name: name)
        }
        let matches = try await knownContainers().filter { $0.name == name }.sorted()
        switch matches.count {
        case 1: return matches[0]
        case 0: throw OperatorCommandError(message: "no container named \(name) is known; name it as HOST/\(name)")
        default:
            throw OperatorCommandError(message: "\(name) runs on several hosts: \(matches.map(\.description).joined(separator: ", ")); name one as HOST/\(name)")
        }
    }

    /// The gate's view of every known container (``knownContainers()``), sorted by host and name.
    /// - Parameter dryRun: show the dry-run namespace instead of the live one.
    public func status(dryRun useDryRun: Bool = false) async throws -> [ContainerStatusReport] {
        let gate = useDryRun ? dryRun : live
        let names = try await knownContainers()
        var reports: [ContainerStatusReport] = []
        var statuses: [ContainerGateStatus] = []
        for name in names.sorted() {
            let status = try await gate.status(container: name)
            statuses.append(status)
            var report = ContainerStatusReport(status: status)
            if let latest = try await context.redis.send(["LINDEX", context.keys.remediation(name), "0"]).string,
               let envelope = try? Envelope<RemediationComplete>.decode(latest)
            {
                report.lastReport = "\(envelope.data.action.rawValue): \(envelope.data.result.status.rawValue)\(envelope.data.dryRun ? " (dry run)" : "")"
                report.lastReportAt = envelope.timestamp
                if report.lastAction == nil {
                    report.lastAction = envelope.data.action.rawValue
                    report.lastResult = envelope.data.result.status.rawValue
                    report.lastActionAt = envelope.timestamp
                }
            }
            reports.append(report)
        }
        let reader = Waiting.Reader(redis: context.redis, keys: context.keys, maxActionsPerContainer: gate.policy.maxActionsPerContainer)
        let waiting = try await reader.waiting(statuses, rechecks: !useDryRun, now: context.clock.now)
        for index in reports.indices { reports[index].waiting = waiting[index]?.description }
        return reports
    }

    private func record(_ command: String, container: ContainerRef, who: String, reason: String) async throws {
        var record = AuditRecord(
            kind: "operator", time: context.clock.now, host: container.host, container: container.name, action: command,
            status: "done", reason: reason)
        record.who = who
        record.actor = "hemostat-cli"
        try await audit.write(record)
    }
}

/// An operator command that cannot be carried out as given; the message says why.
public struct OperatorCommandError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// One line of `hemostat status`.
public struct ContainerStatusReport: Sendable, Hashable {
    public var container: ContainerRef
    public var cooldownRemainingSeconds: Int
    public var actionsThisHour: Int
    public var breakerState: BreakerState
    public var breakerFailures: Int
    public var heldUntil: Date?
    public var heldBy: String?
    public var inFlight: Bool
    public var lastAction: String?
    public var lastResult: String?
    public var lastActionAt: Date?
    /// The newest `remediation_complete` for the container (`restart: success`), which may be a
    /// rejection or a dry run.
    public var lastReport: String?
    public var lastReportAt: Date?
    /// Set when the container is down or sick and HemoStat is holding back: what it is waiting
    /// for and until when (`running: high_cpu; waiting for the cooldown until …`).
    public var waiting: String?

    init(status: ContainerGateStatus) {
        container = status.container
        cooldownRemainingSeconds = status.cooldownRemainingSeconds
        actionsThisHour = status.actionsThisWindow
        breakerState = status.breakerState
        breakerFailures = status.breakerFailures
        heldUntil = status.heldUntil
        heldBy = status.heldBy
        inFlight = status.inFlight
        lastAction = status.lastAction
        lastResult = status.lastResult
        lastActionAt = status.lastActionAt
    }

    /// The report as JSON (snake_case keys; absent values as null).
    public var json: JSONValue {
        func date(_ d: Date?) -> JSONValue { d.map { .string(Timestamp.format($0)) } ?? .null }
        func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return [
            "host": .string(container.host),
            "container": .string(container.name),
            "cooldown_remaining_seconds": .integer(cooldownRemainingSeconds),
            "actions_this_hour": .integer(actionsThisHour),
            "breaker_state": .string(breakerState.rawValue),
            "breaker_failures": .integer(breakerFailures),
            "held_until": date(heldUntil),
            "held_by": text(heldBy),
            "in_flight": .bool(inFlight),
            "last_action": text(lastAction),
            "last_result": text(lastResult),
            "last_action_at": date(lastActionAt),
            "last_report": text(lastReport),
            "last_report_at": date(lastReportAt),
            "waiting": text(waiting),
        ]
    }
}
