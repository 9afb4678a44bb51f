public import Foundation
public import HemoStatCore

/// What the responder needs from the container engine: one read (inspect) and the mutating
/// commands it may issue. Nothing here removes a container, an image or a volume.
///
/// ``DockerRemediationEngine`` implements it over the Docker client; tests and benchmarks use
/// ``InMemoryRemediationEngine``. Failures are ``ContainerEngineError`` (`notFound` when the
/// container is gone).
public protocol RemediationEngine: Sendable {
    /// The container's current state, or nil when no container has that name or id.
    func inspect(_ container: String) async throws -> ContainerInspection?
    /// Issues one mutating command and returns once the engine has carried it out.
    /// - Throws: ``ContainerEngineError`` (`notFound` when the container is gone).
    func perform(_ command: EngineCommand, on container: String) async throws
    /// The engine's record of what was done to `container` from `since` until now: event
    /// actions such as `restart`, `start`, `stop`, `kill`, `die`, oldest first. It tells whether
    /// a command whose caller stopped before hearing the answer reached the engine.
    func actions(on container: String, since: Date) async throws -> [String]
}

/// A mutating command. Every case changes the container; dry-run issues none of them.
public enum EngineCommand: Sendable, Hashable, CustomStringConvertible {
    case restart(timeout: Duration)
    case start
    case stop(timeout: Duration)
    /// `signal`: a name (`SIGTERM`) or a number (`9`).
    case kill(signal: String)
    case pause
    case unpause
    /// Either limit may be nil (left as it is).
    case updateResources(memoryBytes: Int?, cpus: Double?)
    /// The command's argv, already checked against the allowlist.
    case exec(command: [String])

    /// The action's name as in the message contract (`update_resources`).
    public var name: String {
        switch self {
        case .restart: "restart"
        case .start: "start"
        case .stop: "stop"
        case .kill: "kill"
        case .pause: "pause"
        case .unpause: "unpause"
        case .updateResources: "update_resources"
        case .exec: "exec"
        }
    }

    /// The engine event that shows this command was carried out (`update` for
    /// `update_resources`, `exec_start` for `exec`). An engine records `restart` only for a
    /// restart asked through its API, not for one by the container's restart policy.
    public var engineEvent: String {
        switch self {
        case .updateResources: "update"
        case .exec: "exec_start"
        default: name
        }
    }

    /// Whether the command (re)starts the container.
    public var startsContainer: Bool {
        switch self {
        case .restart, .start: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .restart(let timeout): "restart (stop timeout \(timeout.milliseconds / 1000) s)"
        case .stop(let timeout): "stop (timeout \(timeout.milliseconds / 1000) s)"
        case .kill(let signal): "kill with \(signal)"
        case .updateResources(let memory, let cpus):
            "update_resources (memory \(memory.map(String.init) ?? "unchanged"), cpus \(cpus.map { String($0) } ?? "unchanged"))"
        case .exec(let command): "exec \(command.joined(separator: " "))"
        default: name
        }
    }
}
