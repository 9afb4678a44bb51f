public import Foundation
public import HemoStatModel
public import HemoStatRedis

/// The limits the gate enforces. Defaults are the documented ones (`responder.*` in
/// `config/hemostat.yaml`).
public struct SafetyPolicy: Sendable, Hashable {
    /// No second action on a container this long after one (default 1 h).
    public var cooldown: Duration = .seconds(3600)
    /// At most this many actions per container in a sliding ``window`` (default 3).
    public var maxActionsPerContainer: Int = 3
    /// At most this many actions on all containers in a sliding ``window``; 0 means no cap
    /// (default 20).
    public var maxActionsGlobal: Int = 20
    /// The sliding window of both caps (one hour).
    public var window: Duration = .seconds(3600)
    /// The lease of an in-flight lock. Its holder renews it while it acts and verifies, so it
    /// runs out only when the holder stops; then another responder may take the action over.
    public var lockTTL: Duration = .seconds(30)
    /// Failed or ineffective remediations within ``breakerWindow`` that open the breaker.
    public var breakerThreshold: Int = 3
    public var breakerWindow: Duration = .seconds(3600)
    /// How long an open breaker stays open before it lets one trial action through.
    public var halfOpenAfter: Duration = .seconds(3600)
    /// How long a request id is remembered, so a redelivered message never acts twice.
    public var requestMemory: Duration = .seconds(86_400)
    /// After a failed or ineffective action, the cooldown is the n-th of these (the last one
    /// once they run out) instead of ``cooldown``, and never longer than it; empty: the
    /// cooldown applies after every action.
    public var retryBackoff: [Duration] = []

    public init() {}

    /// The policy of `responder.*`.
    public init(configuration: ResponderConfiguration) {
        cooldown = configuration.cooldown
        maxActionsPerContainer = configuration.maxActionsPerHour
        maxActionsGlobal = configuration.globalMaxActionsPerHour
        lockTTL = configuration.lockTTL
        breakerThreshold = configuration.breaker.failureThreshold
        breakerWindow = configuration.breaker.window
        halfOpenAfter = configuration.breaker.halfOpenAfter
        retryBackoff = configuration.retryBackoff
    }
}

/// A circuit breaker's state.
public enum BreakerState: String, Sendable, Codable, Hashable {
    case closed
    case open
    case halfOpen = "half_open"
}

/// Why the gate said no.
public enum GateRejection: String, Sendable, Codable, Hashable {
    case held
    case breakerOpen = "breaker_open"
    case inFlight = "in_flight"
    case cooldown
    case rateLimited = "rate_limited"
    case globalRateLimited = "global_rate_limited"
}

/// The gate's answer to one request.
public struct GateDecision: Sendable, Hashable {
    public enum Verdict: Sendable, Hashable {
        case allowed
        case rejected(GateRejection)
        /// The request id was decided before; `previous` is that first decision
        /// (`allowed` or `rejected:<reason>`, prefixed `other_namespace:` when a gate of the
        /// other mode, dry-run or live, decided it). Nothing is done a second time.
        case duplicate(previous: String)
    }

    public var verdict: Verdict
    /// When a rejected request could be retried.
    public var retryAfter: Duration?
    /// The breaker is open and nobody has been told yet: this rejection should reach a human.
    /// A trip reported by ``SafetyGate/complete(container:requestID:outcome:)`` counts as told,
    /// so one opening leads to one escalation.
    public var escalate: Bool
    public var breakerState: BreakerState
    /// Actions on this container in the current window, this one included when allowed.
    public var actionsInWindow: Int
    /// The same incident was already rejected for the same reason: do not report it again.
    public var repeatedRejection: Bool

    public var isAllowed: Bool { verdict == .allowed }
}

/// What `hemostat status` shows for one container.
public struct ContainerGateStatus: Sendable, Hashable {
    public var container: ContainerRef
    public var cooldownRemainingSeconds: Int
    public var actionsThisWindow: Int
    public var breakerState: BreakerState
    public var breakerFailures: Int
    public var heldUntil: Date?
    public var heldBy: String?
    public var lastAction: String?
    public var lastResult: String?
    public var lastActionAt: Date?
    public var inFlight: Bool
}

/// The responder's safety gate: one atomic Redis script per decision.
///
/// Every method is one EVALSHA (or one read for ``status(container:)``), so several responders
/// against one Redis never both act on a container. Dry-run uses a gate with the
/// ``dryRunNamespace``: simulated cooldowns and budgets behave like real ones and never consume
/// the real budget.
public struct SafetyGate: Sendable {
    public static let liveNamespace = "hemostat:gate"
    public static let dryRunNamespace = "hemostat:dryrun:gate"

    public var policy: SafetyPolicy
    public let namespace: String
    /// The other namespace (dry-run for a live gate, live for a dry-run gate): a request id
    /// decided there counts as decided here too.
    public let otherNamespace: String?
    private let redis: RedisClient
    /// The time the scripts go by: nil for Redis' own clock (production), or a clock a test
    /// moves.
    private let clock: (any WallClock)?

    private static let acquireScript = GateScripts.gateAcquire
    private static let completeScript = GateScripts.gateComplete
    private static let operatorScript = GateScripts.gateOperatorCommand
    private static let refusalScript = GateScripts.gateNoteRefusal
    private static let renewScript = GateScripts.gateRenew
    private static let takeOverScript = GateScripts.gateTakeOver

    public init(redis: RedisClient, policy: SafetyPolicy, namespace: String = SafetyGate.liveNamespace, otherNamespace: String? = nil, clock: (any WallClock)? = nil) {
        self.redis = redis
        self.policy = policy
        self.namespace = namespace
        self.otherNamespace = otherNamespace
        self.clock = clock
    }

    /// Asks for permission to act on `container`. When allowed, the container is locked, its
    /// cooldown starts and the action counts against both caps; call
    /// ``complete(container:requestID:outcome:)`` once the outcome is known, and
    /// ``renew(container:requestID:)`` while it takes longer than the lock's lease.
    ///
    /// - Parameter inFlight: stored in the hash `key` under the request id when, and only when,
    ///   the action is allowed, in the same atomic step.
    public func acquire(
        container: ContainerRef, requestID: String, action: String, incidentID: String, inFlight: (key: String, record: String)? = nil
    ) async throws -> GateDecision {
        let keys = keys(for: container)
        let requestKey = "\(namespace):req:\(requestID)"
        let reply = try await redis.evalSHA(
            Self.acquireScript,
            keys: [
                keys.state, keys.actions, keys.failures, keys.lock, "\(namespace):global:actions", requestKey,
                otherNamespace.map { "\($0):req:\(requestID)" } ?? requestKey, inFlight?.key ?? requestKey,
            ],
            args: [
                nowArgument, requestID, String(policy.cooldown.milliseconds),
                String(policy.maxActionsPerContainer), String(policy.window.milliseconds),
                String(policy.maxActionsGlobal), String(policy.lockTTL.milliseconds),
                String(policy.halfOpenAfter.milliseconds), action, incidentID,
                String(policy.requestMemory.milliseconds), inFlight?.record ?? "",
            ]
        )
        guard case .array(let items) = reply, items.count >= 6 else {
            throw RedisError(code: .unexpectedReply, message: "safety gate returned an unexpected reply")
        }
        let kind = items[0].string ?? ""
        let reason = items[1].string ?? ""
        let verdict: GateDecision.Verdict
        switch kind {
        case "allowed": verdict = .allowed
        case "duplicate": verdict = .duplicate(previous: reason)
        default:
            guard let rejection = GateRejection(rawValue: reason) else {
                throw RedisError(code: .unexpectedReply, message: "safety gate returned an unknown rejection")
            }
            verdict = .rejected(rejection)
        }
        let retryMs = items[2].integer ?? 0
        return GateDecision(
            verdict: verdict,
            retryAfter: retryMs > 0 ? .milliseconds(retryMs) : nil,
            escalate: items[3].integer == 1,
            breakerState: BreakerState(rawValue: items[4].string ?? "closed") ?? .closed,
            actionsInWindow: Int(items[5].integer ?? 0),
            repeatedRejection: items.count > 6 && items[6].integer == 1
        )
    }

    /// The live or dry-run gate of a key space (``KeySpace/gate``, ``KeySpace/dryRunGate``).
    public init(redis: RedisClient, policy: SafetyPolicy, keys: KeySpace, dryRun: Bool, clock: (any WallClock)? = nil) {
        self.init(
            redis: redis, policy: policy, namespace: dryRun ? keys.dryRunGate : keys.gate,
            otherNamespace: dryRun ? keys.gate : keys.dryRunGate, clock: clock)
    }

    /// Records a refusal decided before the gate was asked (protected container, container gone,
    /// stopped by an operator) and returns true when the same incident was already refused for
    /// the same reason, so the caller reports it once. Remembered for ``SafetyPolicy/requestMemory``.
    public func noteRefusal(container: ContainerRef, incidentID: String, reason: String) async throws -> Bool {
        let reply = try await redis.evalSHA(
            Self.refusalScript,
            keys: ["\(keys(for: container).state):reported"],
            args: ["\(incidentID)|\(reason)", String(policy.requestMemory.milliseconds)]
        )
        return reply.integer == 1
    }

    /// Every container with safety state in this namespace (cooldown, counters, breaker, hold),
    /// sorted by host and name.
    public func containersWithState() async throws -> [ContainerRef] {
        let prefix = "\(namespace):c:"
        var cursor = "0"
        var names = Set<ContainerRef>()
        repeat {
            let reply = try await redis.send(["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"])
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].string, case .array(let found) = parts[1] else {
                throw RedisError(code: .unexpectedReply, message: "SCAN returned an unexpected reply")
            }
            for key in found.compactMap(\.string) {
                let rest = key.dropFirst(prefix.count)
                // Host ids and Docker names never contain ':'; what follows one is a sub-key.
                let name = rest.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
                if let container = ContainerRef(name) { names.insert(container) }
            }
            cursor = next
        } while cursor != "0"
        return names.sorted()
    }

    /// Outcomes of an allowed action, as the breaker counts them.
    public enum Outcome: String, Sendable {
        case success, failed, ineffective, skipped
    }

    /// Records the outcome of an allowed action, releases its lock and moves the breaker.
    /// Returns the breaker's state and whether this outcome opened it.
    @discardableResult
    public func complete(container: ContainerRef, requestID: String, outcome: Outcome) async throws -> (breaker: BreakerState, tripped: Bool) {
        let completed = try await completeWithRetry(container: container, requestID: requestID, outcome: outcome)
        return (completed.breaker, completed.tripped)
    }

    /// ``complete(container:requestID:outcome:)``, with when the next action may come after a
    /// failed or ineffective one (``SafetyPolicy/retryBackoff``); nil after any other outcome,
    /// when the breaker opened, or with no backoff configured.
    public func completeWithRetry(
        container: ContainerRef, requestID: String, outcome: Outcome
    ) async throws -> (breaker: BreakerState, tripped: Bool, retryIn: Duration?) {
        let keys = keys(for: container)
        let backoff = policy.retryBackoff.map { String(min($0, policy.cooldown).milliseconds) }.joined(separator: ",")
        let reply = try await redis.evalSHA(
            Self.completeScript,
            keys: [keys.state, keys.failures, keys.lock],
            args: [
                nowArgument, requestID, outcome.rawValue,
                String(policy.breakerThreshold), String(policy.breakerWindow.milliseconds), backoff,
            ]
        )
        guard case .array(let items) = reply, items.count == 3 else {
            throw RedisError(code: .unexpectedReply, message: "safety gate returned an unexpected reply")
        }
        let retry = items[2].integer ?? 0
        return (BreakerState(rawValue: items[0].string ?? "closed") ?? .closed, items[1].integer == 1, retry > 0 ? .milliseconds(retry) : nil)
    }

    /// Extends the lease of the lock `requestID` holds on `container` by ``SafetyPolicy/lockTTL``
    /// from now. False when the lock is no longer the request's.
    @discardableResult
    public func renew(container: ContainerRef, requestID: String) async throws -> Bool {
        let reply = try await redis.evalSHA(
            Self.renewScript, keys: [keys(for: container).lock],
            args: [nowArgument, requestID, String(policy.lockTTL.milliseconds)])
        return reply.integer == 1
    }

    /// Ends the lease of the lock `requestID` holds on `container` now, so the next responder of
    /// the host takes the action over at its next look instead of after the lease (a responder
    /// that stops hands back what it could not finish). False when the lock is not the request's.
    @discardableResult
    public func handBack(container: ContainerRef, requestID: String) async throws -> Bool {
        let reply = try await redis.evalSHA(
            Self.renewScript, keys: [keys(for: container).lock], args: [nowArgument, requestID, "0"])
        return reply.integer == 1
    }

    /// The answer of ``takeOver(container:requestID:inFlightKey:)``.
    public enum TakeOver: Sendable, Hashable {
        /// The caller now holds the lock; `record` is the in-flight record, `heldFor` the time
        /// left of an operator's hold (nil when there is none).
        case taken(record: String, heldFor: Duration?)
        /// The record is gone: the action was concluded meanwhile.
        case gone
        /// A live lock is on the container (its responder is still at work, or a later request).
        case busy
        /// A later action on the container was decided: conclude this one without acting.
        case superseded(record: String)
    }

    /// Takes over an allowed action whose responder stopped: its record is still in
    /// `inFlightKey` and its lock's lease ran out. One caller wins; it then holds the lock.
    public func takeOver(container: ContainerRef, requestID: String, inFlightKey: String) async throws -> TakeOver {
        let keys = keys(for: container)
        let reply = try await redis.evalSHA(
            Self.takeOverScript, keys: [inFlightKey, keys.lock, keys.state],
            args: [requestID, nowArgument, String(policy.lockTTL.milliseconds)])
        guard case .array(let items) = reply, items.count == 3, let verdict = items[0].string else {
            throw RedisError(code: .unexpectedReply, message: "safety gate returned an unexpected reply")
        }
        let record = items[1].string ?? ""
        switch verdict {
        case "taken":
            let held = items[2].integer ?? 0
            return .taken(record: record, heldFor: held > 0 ? .milliseconds(held) : nil)
        case "gone": return .gone
        case "busy": return .busy
        case "superseded": return .superseded(record: record)
        default: throw RedisError(code: .unexpectedReply, message: "safety gate returned an unknown take-over verdict")
        }
    }

    /// No action on `container` for `duration` from now (maintenance). Returns when the hold
    /// ends.
    @discardableResult
    public func hold(container: ContainerRef, for duration: Duration, by who: String, reason: String) async throws -> Date {
        let fields = try await operatorCommand("hold", container: container, holdFor: duration, who: who, reason: reason)
        let until = fields["hold_until"].flatMap { Int64($0) } ?? 0
        return Date(timeIntervalSince1970: Double(until) / 1000)
    }

    /// Ends a hold.
    public func release(container: ContainerRef, by who: String) async throws {
        try await operatorCommand("release", container: container, holdFor: nil, who: who, reason: "")
    }

    /// Closes the breaker after a person fixed the cause.
    public func resetBreaker(container: ContainerRef, by who: String) async throws {
        try await operatorCommand("reset", container: container, holdFor: nil, who: who, reason: "")
    }

    /// The gate's view of one container.
    public func status(container: ContainerRef) async throws -> ContainerGateStatus {
        try await statuses(containers: [container])[0]
    }

    /// The gate's view of several containers, in order, read in one pipeline (four commands a
    /// container): one round trip however many there are.
    public func statuses(containers: [ContainerRef]) async throws -> [ContainerGateStatus] {
        guard !containers.isEmpty else { return [] }
        let now = try await nowMilliseconds()
        var commands: [[String]] = []
        commands.reserveCapacity(containers.count * 4)
        for container in containers {
            let keys = keys(for: container)
            commands += [
                ["HGETALL", keys.state],
                ["ZCOUNT", keys.actions, String(now - policy.window.milliseconds), "+inf"],
                ["ZCOUNT", keys.failures, String(now - policy.breakerWindow.milliseconds), "+inf"],
                ["GET", keys.lock],
            ]
        }
        let replies = try await redis.pipeline(commands)
        return containers.enumerated().map { index, container in
            Self.status(container: container, replies: Array(replies[index * 4..<index * 4 + 4]), now: now)
        }
    }

    private static func status(container: ContainerRef, replies: [RedisValue], now: Int64) -> ContainerGateStatus {
        var fields: [String: String] = [:]
        if case .array(let flat) = replies[0] {
            var i = 0
            while i + 1 < flat.count {
                if let k = flat[i].string, let v = flat[i + 1].string { fields[k] = v }
                i += 2
            }
        }
        func millis(_ key: String) -> Int64? { fields[key].flatMap { Int64($0) } }
        func date(_ key: String) -> Date? { millis(key).map { Date(timeIntervalSince1970: Double($0) / 1000) } }
        let holdUntil = millis("hold_until").flatMap { $0 > now ? $0 : nil }
        var inFlight = false
        if let lock = replies[3].string, let sep = lock.lastIndex(of: "|"), let expires = Int64(lock[lock.index(after: sep)...]) {
            inFlight = expires > now
        }
        return ContainerGateStatus(
            container: container,
            cooldownRemainingSeconds: Int(max(0, ((millis("cooldown_until") ?? 0) - now + 999) / 1000)),
            actionsThisWindow: Int(replies[1].integer ?? 0),
            breakerState: BreakerState(rawValue: fields["breaker_state"] ?? "closed") ?? .closed,
            breakerFailures: Int(replies[2].integer ?? 0),
            heldUntil: holdUntil.map { Date(timeIntervalSince1970: Double($0) / 1000) },
            heldBy: holdUntil == nil ? nil : fields["hold_by"],
            lastAction: fields["last_action"],
            lastResult: fields["last_result"],
            lastActionAt: date("last_at"),
            inFlight: inFlight
        )
    }

    @discardableResult
    private func operatorCommand(_ command: String, container: ContainerRef, holdFor: Duration?, who: String, reason: String) async throws -> [String: String] {
        let keys = keys(for: container)
        let reply = try await redis.evalSHA(
            Self.operatorScript,
            keys: [keys.state, keys.failures],
            args: [command, nowArgument, String(holdFor?.milliseconds ?? 0), who, reason]
        )
        var fields: [String: String] = [:]
        if case .array(let flat) = reply {
            var i = 0
            while i + 1 < flat.count {
                if let k = flat[i].string, let v = flat[i + 1].string { fields[k] = v }
                i += 2
            }
        }
        return fields
    }

    /// What the scripts take as the time: the test clock's, or `0` for Redis' own clock.
    private var nowArgument: String { clock.map { String($0.nowMilliseconds) } ?? "0" }

    /// The gate's time now: the test clock's, or Redis' (`TIME`).
    public func nowMilliseconds() async throws -> Int64 {
        if let clock { return clock.nowMilliseconds }
        guard case .array(let parts) = try await redis.send(["TIME"]), parts.count == 2,
              let seconds = parts[0].string.flatMap({ Int64($0) }), let micros = parts[1].string.flatMap({ Int64($0) })
        else { throw RedisError(code: .unexpectedReply, message: "TIME returned an unexpected reply") }
        return seconds * 1000 + micros / 1000
    }

    private func keys(for container: ContainerRef) -> (state: String, actions: String, failures: String, lock: String) {
        let base = "\(namespace):c:\(container)"
        return (base, "\(base):actions", "\(base):failures", Self.lockKey(namespace: namespace, container: container))
    }

    /// The key holding `container`'s in-flight action in a gate namespace (present while a
    /// responder acts on it and verifies the result).
    public static func lockKey(namespace: String, container: ContainerRef) -> String {
        "\(namespace):c:\(container):lock"
    }

    /// The request holding a lock, from the lock key's value (`request_id|expires_at_ms`), or
    /// nil when the value is not a lock or has expired by `nowMilliseconds` (the key outlives
    /// its lock by a minute).
    public static func lockHolder(_ value: String, nowMilliseconds: Int64) -> Substring? {
        guard let bar = value.lastIndex(of: "|"), let expires = Int64(value[value.index(after: bar)...]),
              expires > nowMilliseconds
        else { return nil }
        return value[..<bar]
    }
}
