import Foundation
public import HemoStatCore

/// Watches a container after an action and decides whether the action worked. No I/O: the
/// service feeds it inspects and the time elapsed since the action.
///
/// - restart, start, unpause (and update_resources or exec on a running container): success
///   when, for the whole window, the container stays running, its health check (if any) ends
///   `healthy`, and it is not restarted again; ineffective as soon as it exits, restarts, turns
///   unhealthy or disappears, or when it is not healthy by the end of the window.
/// - stop and kill: success when it is still stopped at the end of the window.
/// - pause: success when it is still paused at the end of the window.
/// - update_resources or exec on a container that was not running: success at once (nothing
///   to watch).
public struct Verification: Sendable, Hashable {
    public enum Expectation: Sendable, Hashable {
        case running, stopped, paused, nothing
    }

    public enum Verdict: Sendable, Hashable {
        case pending
        case success(String)
        case ineffective(String)
    }

    public let expectation: Expectation
    public let window: Duration
    /// The first inspect after the action: a later start or restart count differing from it
    /// means the container was restarted again.
    private(set) var baseline: ContainerInspection?

    public init(command: EngineCommand, before: ContainerInspection?, window: Duration) {
        switch command {
        case .restart, .start, .unpause: expectation = .running
        case .stop, .kill: expectation = .stopped
        case .pause: expectation = .paused
        case .updateResources, .exec: expectation = before?.isRunning == true ? .running : .nothing
        }
        self.window = window
    }

    /// Whether the verdict needs no inspect at all.
    public var isImmediate: Bool { expectation == .nothing }

    /// Feeds one inspect (nil: the container is gone) taken `elapsed` after the action.
    public mutating func observe(_ snapshot: ContainerInspection?, elapsed: Duration) -> Verdict {
        let done = elapsed >= window
        switch expectation {
        case .nothing:
            return .success("nothing to watch after the action")
        case .stopped:
            guard let snapshot else { return .success("the container is gone") }
            if !done { return .pending }
            return snapshot.isStopped ? .success("still stopped after \(Self.seconds(window))") : .ineffective("the container is \(snapshot.status) again")
        case .paused:
            guard let snapshot else { return .ineffective("the container disappeared") }
            if !snapshot.isPaused { return .ineffective("the container is \(snapshot.status), not paused") }
            return done ? .success("still paused after \(Self.seconds(window))") : .pending
        case .running:
            guard let snapshot else { return .ineffective("the container disappeared") }
            if snapshot.isStopped {
                return .ineffective("the container exited again (code \(snapshot.exitCode))\(snapshot.oomKilled ? ", OOM-killed" : "")")
            }
            if snapshot.status == "restarting" { return .ineffective("the container is restarting again") }
            if snapshot.healthStatus == "unhealthy" { return .ineffective("the health check reports unhealthy") }
            if let baseline {
                if snapshot.restartCount > baseline.restartCount || (snapshot.startedAt != nil && snapshot.startedAt != baseline.startedAt) {
                    return .ineffective("the container was restarted again")
                }
            } else {
                baseline = snapshot
            }
            guard done else { return .pending }
            switch snapshot.healthStatus {
            case "none": return snapshot.isRunning ? .success("running for \(Self.seconds(window)) (no health check)") : .ineffective("the container is \(snapshot.status)")
            case "healthy": return snapshot.isRunning ? .success("running and healthy for \(Self.seconds(window))") : .ineffective("the container is \(snapshot.status)")
            default: return .ineffective("not healthy by the end of the window (\(snapshot.healthStatus))")
            }
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let ms = duration.milliseconds
        return ms % 1000 == 0 ? "\(ms / 1000) s" : String(format: "%.1f s", Double(ms) / 1000)
    }
}
