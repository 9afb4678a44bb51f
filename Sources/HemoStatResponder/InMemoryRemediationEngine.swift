public import Foundation
public import HemoStatCore
import HemoStatModel
import Synchronization

/// A container engine held in memory, for tests, benchmarks and demonstrations.
///
/// Every mutating command is recorded as an ``Event`` (like the Docker events stream), so a
/// test can count what the responder actually did. Each container has a ``Behavior`` that says
/// what a start or restart leads to.
public final class InMemoryRemediationEngine: RemediationEngine {
    /// What happens to a container once it is (re)started.
    public enum Behavior: Sendable, Hashable {
        /// It stays running (and healthy when it has a health check).
        case recovers
        /// It runs, then exits again with this code on the next inspect: a crash loop.
        case crashesAgain(exitCode: Int)
        /// It runs but its health check reports unhealthy.
        case staysUnhealthy
    }

    /// One mutating command the engine carried out (or refused).
    public struct Event: Sendable, Hashable {
        public var container: String
        /// `restart`, `start`, `stop`, `kill`, `pause`, `unpause`, `update`, `exec_start`.
        public var action: String
        public var time: Date
        public var succeeded: Bool
    }

    private struct Entry {
        var snapshot: ContainerInspection
        var behavior: Behavior
        var crashPending = false
    }

    private struct State {
        var containers: [String: Entry] = [:]
        var events: [Event] = []
        var failures: [String: ContainerEngineError] = [:]
        var nextID = 1
    }

    private let state = Mutex(State())
    private let actionDelay: Duration
    private let beforeAction: (@Sendable (EngineCommand, String) async -> Void)?

    /// - Parameters:
    ///   - actionDelay: how long each mutating command takes.
    ///   - beforeAction: awaited before each mutating command is carried out (a test can hold
    ///     an action in progress there).
    public init(actionDelay: Duration = .zero, beforeAction: (@Sendable (EngineCommand, String) async -> Void)? = nil) {
        self.actionDelay = actionDelay
        self.beforeAction = beforeAction
    }

    /// Adds (or replaces) a container.
    public func add(_ snapshot: ContainerInspection, behavior: Behavior = .recovers) {
        state.withLock { $0.containers[snapshot.name] = Entry(snapshot: snapshot, behavior: behavior) }
    }

    /// Adds a container by name in a given state.
    @discardableResult
    public func add(
        name: String, status: String = "running", labels: [String: String] = [:], health: String = "none",
        exitCode: Int = 0, restartPolicy: String = "no", behavior: Behavior = .recovers
    ) -> ContainerInspection {
        let id = state.withLock { s in
            defer { s.nextID += 1 }
            return String(format: "%012x", s.nextID)
        }
        let snapshot = ContainerInspection(
            id: id, name: name, image: "busybox", status: status, healthStatus: health, exitCode: exitCode,
            startedAt: Date(), finishedAt: status == "running" ? nil : Date(), restartPolicy: restartPolicy, labels: labels)
        add(snapshot, behavior: behavior)
        return snapshot
    }

    /// Removes a container (it is gone, as after `docker rm`).
    public func remove(_ name: String) {
        state.withLock { _ = $0.containers.removeValue(forKey: name) }
    }

    /// Changes a container's state (as a crash or an operator would).
    public func update(_ name: String, _ change: @Sendable (inout ContainerInspection) -> Void) {
        state.withLock { s in
            if var entry = s.containers[name] {
                change(&entry.snapshot)
                s.containers[name] = entry
            }
        }
    }

    /// Changes what a (re)start leads to.
    public func setBehavior(_ name: String, _ behavior: Behavior) {
        state.withLock { $0.containers[name]?.behavior = behavior }
    }

    /// Makes every mutating command on `name` fail with `error` (nil clears it).
    public func failActions(on name: String, with error: ContainerEngineError?) {
        state.withLock { $0.failures[name] = error }
    }

    /// Every mutating command so far, oldest first.
    public var events: [Event] { state.withLock { $0.events } }

    /// Mutating commands on one container, optionally only those of one action.
    public func events(for container: String, action: String? = nil) -> [Event] {
        events.filter { $0.container == container && (action == nil || $0.action == action) }
    }

    public func actions(on container: String, since: Date) async throws -> [String] {
        events.filter { $0.container == container && $0.succeeded && $0.time >= since }.map(\.action)
    }

    public func inspect(_ container: String) async throws -> ContainerInspection? {
        state.withLock { s in
            guard var entry = s.containers[container] ?? s.containers.values.first(where: { $0.snapshot.id == container }) else {
                return nil
            }
            if entry.crashPending, case .crashesAgain(let code) = entry.behavior {
                entry.crashPending = false
                entry.snapshot.status = "exited"
                entry.snapshot.exitCode = code
                entry.snapshot.finishedAt = Date()
                s.containers[entry.snapshot.name] = entry
            }
            return entry.snapshot
        }
    }

    public func perform(_ command: EngineCommand, on container: String) async throws {
        if let beforeAction { await beforeAction(command, container) }
        if actionDelay > .zero { try await Task.sleep(for: actionDelay) }
        try state.withLock { s in
            let eventName = command.engineEvent
            guard var entry = s.containers[container] else {
                throw ContainerEngineError(code: .notFound, message: "no such container: \(container)")
            }
            if let failure = s.failures[container] {
                s.events.append(Event(container: container, action: eventName, time: Date(), succeeded: false))
                throw failure
            }
            let now = Date()
            func run() {
                entry.snapshot.status = "running"
                entry.snapshot.startedAt = now
                entry.snapshot.finishedAt = nil
                entry.snapshot.exitCode = 0
                switch entry.behavior {
                case .recovers:
                    if entry.snapshot.hasHealthCheck { entry.snapshot.healthStatus = "healthy" }
                case .crashesAgain:
                    entry.crashPending = true
                case .staysUnhealthy:
                    entry.snapshot.healthStatus = "unhealthy"
                }
            }
            func halt(_ code: Int) {
                entry.snapshot.status = "exited"
                entry.snapshot.exitCode = code
                entry.snapshot.finishedAt = now
            }
            switch command {
            case .restart: run()
            case .start:
                guard !entry.snapshot.isRunning else {
                    throw ContainerEngineError(code: .failed, message: "container already running")
                }
                run()
            case .stop: halt(143)
            case .kill: halt(137)
            case .pause: entry.snapshot.status = "paused"
            case .unpause: entry.snapshot.status = "running"
            case .updateResources, .exec: break
            }
            s.containers[container] = entry
            s.events.append(Event(container: container, action: eventName, time: now, succeeded: true))
        }
    }
}
