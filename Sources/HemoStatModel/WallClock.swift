public import Foundation
import Synchronization

/// Where HemoStat reads the time for cooldowns, windows, breakers and backoff, and waits for it.
///
/// Production code uses ``SystemWallClock``; tests inject a ``ManualWallClock`` and move it, so
/// a one-hour cooldown or verification window is tested without waiting an hour.
public protocol WallClock: Sendable {
    /// The current time.
    var now: Date { get }
    /// Returns once the clock reads `deadline` or later; throws `CancellationError` when the
    /// calling task is cancelled first.
    func sleep(until deadline: Date) async throws
}

extension WallClock {
    /// Milliseconds since the Unix epoch, the unit of every time stored in Redis.
    public var nowMilliseconds: Int64 { Int64((now.timeIntervalSince1970 * 1000).rounded()) }

    /// Returns once `duration` has passed on this clock.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now.addingTimeInterval(duration.timeInterval))
    }
}

/// The real time.
public struct SystemWallClock: WallClock {
    public init() {}
    public var now: Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let left = deadline.timeIntervalSinceNow
        if left > 0 { try await Task.sleep(for: .milliseconds(Int64((left * 1000).rounded(.up)))) }
        try Task.checkCancellation()
    }
}

/// A clock that only moves when told to; a sleeper wakes when the clock is moved past its
/// deadline.
public final class ManualWallClock: WallClock {
    private struct State {
        var now: Date
        var sleepers: [UUID: (deadline: Date, continuation: CheckedContinuation<Void, any Error>)] = [:]
        /// Sleeps cancelled before their sleeper was stored.
        var cancelled: Set<UUID> = []
    }

    private let state: Mutex<State>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = Mutex(State(now: start))
    }

    public var now: Date { state.withLock { $0.now } }

    /// How many tasks are sleeping on this clock (a test moves it once they are).
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: Date) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now: Bool? = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return false }
                    if state.now >= deadline { return true }
                    state.sleepers[id] = (deadline, continuation)
                    return nil
                }
                switch now {
                case true?: continuation.resume()
                case false?: continuation.resume(throwing: CancellationError())
                case nil: break
                }
            }
        } onCancel: {
            let sleeper = state.withLock { state in
                let sleeper = state.sleepers.removeValue(forKey: id)
                if sleeper == nil { state.cancelled.insert(id) }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock forward.
    public func advance(by duration: Duration) {
        move { $0.addingTimeInterval(duration.timeInterval) }
    }

    /// Sets the clock.
    public func set(_ date: Date) {
        move { _ in date }
    }

    private func move(_ change: (Date) -> Date) {
        let due = state.withLock { state in
            state.now = change(state.now)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }
}

extension Duration {
    /// The duration in seconds as a `TimeInterval`.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds (for swift-metrics timers).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The duration in whole milliseconds.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
