public import Foundation
public import HemoStatCore
public import HemoStatModel

/// Why the responder will not act, before or instead of asking the safety gate.
public struct Refusal: Sendable, Hashable, Error {
    /// `rejected` for policy (not allowed, protected), `skipped` for circumstance (gone,
    /// stopped by an operator, nothing to do).
    public var status: RemediationStatus
    /// A short code, also the `reason` label of the rejection metric: `action_not_allowed`,
    /// `exec_not_allowlisted`, `invalid_parameters`, `protected_name`, `protected_label`,
    /// `opted_out`, `hemostat_itself`, `container_gone`, `stopped_by_operator`, `not_applicable`,
    /// `no_action`.
    public var code: String
    /// A sentence for humans.
    public var reason: String

    public init(_ status: RemediationStatus, _ code: String, _ reason: String) {
        self.status = status
        self.code = code
        self.reason = reason
    }
}

/// What HemoStat itself runs as: never acted on. The same definition as the monitor's
/// ``ContainerScope``: the label `hemostat.role`, the container this process runs in, the name
/// patterns of `monitor.own_containers` (default `hemostat*`); and the Redis HemoStat uses when
/// `redis.host` names a container or compose service rather than an address.
public struct OwnContainers: Sendable, Hashable {
    /// Name patterns (`monitor.own_containers`).
    public var patterns: [String]
    /// Exact container or compose service names (the Redis host).
    public var names: Set<String>
    /// The id, or its 12-character prefix, of the container this process runs in.
    public var ownContainerID: String?

    public init(patterns: [String] = ["hemostat*"], names: Set<String> = [], ownContainerID: String? = nil) {
        self.patterns = patterns
        self.names = names
        self.ownContainerID = ownContainerID
    }

    /// HemoStat's own containers as seen from this process.
    public static func detect(configuration: HemoStatConfiguration, environment: [String: String]) -> OwnContainers {
        var own = OwnContainers(
            patterns: configuration.monitor.ownContainers,
            ownContainerID: ContainerScope.ownContainerIDFromEnvironment(environment))
        let host = configuration.redis.host.lowercased()
        let isAddress = host == "localhost" || host.allSatisfy { $0.isNumber || $0 == "." } || host.contains(":")
        if configuration.redis.socketPath == nil, !host.isEmpty, !isAddress { own.names.insert(configuration.redis.host) }
        return own
    }

    /// Whether the container (by name alone, or with its inspect) is HemoStat's.
    public func contains(name: String, snapshot: ContainerInspection?) -> Bool {
        if names.contains(name) || patterns.contains(where: { Glob.matches($0, name) }) { return true }
        guard let snapshot else { return false }
        if names.contains(snapshot.name) || patterns.contains(where: { Glob.matches($0, snapshot.name) }) { return true }
        if snapshot.labels[ContainerScope.roleLabel] != nil { return true }
        if let service = snapshot.labels["com.docker.compose.service"], names.contains(service) { return true }
        if let own = ownContainerID, !own.isEmpty, snapshot.id.hasPrefix(own) { return true }
        return false
    }
}

/// The responder's checks that need no I/O: which requests it may act on, with which engine
/// command, and which container states rule an action out.
///
/// The service runs them in this order, each able to end the request:
/// 1. ``screen(_:)`` on the request alone: action allowed, `exec` allowlisted, parameters
///    valid, name not protected, not HemoStat's, not flagged as stopped by an operator;
///    `notify` and `none` never reach the engine.
/// 2. ``check(_:command:name:)`` on a fresh inspect: the container exists, is not opted out or
///    protected by label, was not stopped by an operator, and is in a state the action applies to.
/// 3. The safety gate (cooldown, caps, lock, idempotency, breaker), in Redis.
public struct ResponderPolicy: Sendable, Hashable {
    /// What the request asks for, once screened.
    public enum Plan: Sendable, Hashable {
        /// Issue this command (after the inspect check and the gate).
        case act(EngineCommand)
        /// Escalate to a human; the container is not touched.
        case notify
    }

    public var allowedActions: Set<RuleAction>
    public var protectedPatterns: [String]
    public var execAllowlist: Set<String>
    public var stopTimeout: Duration
    public var own: OwnContainers

    public static let optOutLabel = "hemostat.enable"
    public static let protectLabel = "hemostat.protect"

    public init(allowedActions: Set<RuleAction>, protectedPatterns: [String] = [], execAllowlist: Set<String> = [], stopTimeout: Duration = .seconds(10), own: OwnContainers = OwnContainers()) {
        self.allowedActions = allowedActions
        self.protectedPatterns = protectedPatterns
        self.execAllowlist = execAllowlist
        self.stopTimeout = stopTimeout
        self.own = own
    }

    public init(configuration: ResponderConfiguration, own: OwnContainers) {
        self.init(
            allowedActions: Set(configuration.allowedActions), protectedPatterns: configuration.protectedPatterns,
            execAllowlist: Set(configuration.execAllowlist), stopTimeout: configuration.stopTimeout, own: own)
    }

    /// Step 1: the request alone.
    public func screen(_ request: RemediationNeeded) -> Result<Plan, Refusal> {
        let action = request.action
        if action == .none {
            return .failure(Refusal(.skipped, "no_action", "the analyzer asked for no action"))
        }
        guard allowedActions.contains(action) else {
            return .failure(Refusal(.rejected, "action_not_allowed", "action \(action.rawValue) is not in responder.allowed_actions"))
        }
        if own.contains(name: request.container, snapshot: nil) {
            return .failure(Refusal(.rejected, "hemostat_itself", "HemoStat never acts on its own containers or its Redis"))
        }
        if let pattern = protectedPatterns.first(where: { Glob.matches($0, request.container) }) {
            return .failure(Refusal(.rejected, "protected_name", "the container name matches the protected pattern \(pattern)"))
        }
        if request.stoppedByOperator == true {
            return .failure(Refusal(.skipped, "stopped_by_operator", "an operator stopped the container; it is not healed"))
        }
        let parameters = request.parameters ?? ActionParameters()
        let command: EngineCommand
        switch action {
        case .notify: return .success(.notify)
        case .none: return .failure(Refusal(.skipped, "no_action", "the analyzer asked for no action"))
        case .restart: command = .restart(timeout: parameters.timeoutSeconds.map { .seconds($0) } ?? stopTimeout)
        case .stop: command = .stop(timeout: parameters.timeoutSeconds.map { .seconds($0) } ?? stopTimeout)
        case .start: command = .start
        case .pause: command = .pause
        case .unpause: command = .unpause
        case .kill:
            let signal = parameters.signal ?? "SIGKILL"
            guard Self.isValidSignal(signal) else {
                return .failure(Refusal(.rejected, "invalid_parameters", "kill: \(signal) is not a signal name or number"))
            }
            command = .kill(signal: signal)
        case .updateResources:
            guard parameters.memoryLimit != nil || parameters.cpus != nil else {
                return .failure(Refusal(.rejected, "invalid_parameters", "update_resources needs memory_limit or cpus"))
            }
            command = .updateResources(memoryBytes: parameters.memoryLimit, cpus: parameters.cpus)
        case .exec:
            guard let argv = parameters.command, !argv.isEmpty else {
                return .failure(Refusal(.rejected, "invalid_parameters", "exec needs a command"))
            }
            guard execAllowlist.contains(argv.joined(separator: " ")) else {
                return .failure(Refusal(.rejected, "exec_not_allowlisted", "the command is not on responder.exec_allowlist"))
            }
            command = .exec(command: argv)
        }
        return .success(.act(command))
    }

    /// Step 2: a fresh inspect (nil: the container is gone). Nil when the action may go ahead.
    ///
    /// `ownExit`: the monitor saw the container's exit before this time happen on its own (no
    /// stop or kill through the API), so an exit code that looks like an operator's stop is not
    /// taken for one: a SIGKILL that no API call sent, or an OOM kill on an engine that does not
    /// report them (Podman 4). A later exit is judged by its code again.
    public func check(_ snapshot: ContainerInspection?, command: EngineCommand, name: String, ownExit: Date? = nil) -> Refusal? {
        guard let snapshot else {
            return Refusal(.skipped, "container_gone", "the container no longer exists")
        }
        if snapshot.labels[Self.optOutLabel]?.lowercased() == "false" {
            return Refusal(.rejected, "opted_out", "the container is labelled hemostat.enable=false")
        }
        if snapshot.labels[Self.protectLabel]?.lowercased() == "true" {
            return Refusal(.rejected, "protected_label", "the container is labelled hemostat.protect=true")
        }
        if own.contains(name: name, snapshot: snapshot) {
            return Refusal(.rejected, "hemostat_itself", "HemoStat never acts on its own containers or its Redis")
        }
        if let pattern = protectedPatterns.first(where: { Glob.matches($0, snapshot.name) }) {
            return Refusal(.rejected, "protected_name", "the container name matches the protected pattern \(pattern)")
        }
        if Self.looksStoppedByOperator(snapshot), !Self.exitSeen(snapshot, before: ownExit) {
            return Refusal(.skipped, "stopped_by_operator", "the container was stopped (exit \(snapshot.exitCode)) and is not healed")
        }
        let notApplicable: String?
        switch command {
        case .start where !snapshot.isStopped: notApplicable = "start: the container is \(snapshot.status)"
        case .stop where !(snapshot.isRunning || snapshot.isPaused): notApplicable = "stop: the container is \(snapshot.status)"
        case .kill where !(snapshot.isRunning || snapshot.isPaused): notApplicable = "kill: the container is \(snapshot.status)"
        case .pause where !snapshot.isRunning: notApplicable = "pause: the container is \(snapshot.status)"
        case .unpause where !snapshot.isPaused: notApplicable = "unpause: the container is \(snapshot.status)"
        case .exec where !snapshot.isRunning: notApplicable = "exec: the container is \(snapshot.status)"
        default: notApplicable = nil
        }
        if let notApplicable {
            return Refusal(.skipped, "not_applicable", notApplicable)
        }
        return nil
    }

    /// An exited container whose exit status says it was stopped (SIGTERM: 143, SIGKILL: 137,
    /// SIGINT: 130) without the kernel's OOM killer: `docker stop`, `docker kill`, or an
    /// orchestrator. A crash exits with its own code, and a container the engine is bringing
    /// back by its restart policy is `restarting`, not exited.
    public static func looksStoppedByOperator(_ snapshot: ContainerInspection) -> Bool {
        guard snapshot.status == "exited", !snapshot.oomKilled else { return false }
        return [130, 137, 143].contains(snapshot.exitCode)
    }

    /// Whether the snapshot's exit is the one the monitor saw by `seenBy` (allowing a second
    /// between the engine's clock and the monitor's).
    static func exitSeen(_ snapshot: ContainerInspection, before seenBy: Date?) -> Bool {
        guard let seenBy, let finished = snapshot.finishedAt else { return false }
        return finished <= seenBy.addingTimeInterval(1)
    }

    static func isValidSignal(_ signal: String) -> Bool {
        if let number = Int(signal) { return (1...64).contains(number) }
        let name = signal.hasPrefix("SIG") ? signal.dropFirst(3) : Substring(signal)
        return !name.isEmpty && name.count <= 10 && name.allSatisfy { ($0.isASCII && $0.isUppercase) || $0.isNumber || $0 == "+" || $0 == "-" }
    }
}
