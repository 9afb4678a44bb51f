public import Foundation
import Synchronization

/// Where HemoStat reads the time for cooldowns, windows, breakers and backoff.
///
/// Production code uses ``SystemWallClock``; tests inject a ``ManualWallClock`` and move it, so
/// a one-hour cooldown is tested without waiting an hour.
public protocol WallClock: Sendable {
    /// The current time.
    var now: Date { get }
}

extension WallClock {
    /// Milliseconds since the Unix epoch, the unit of every time stored in Redis.
    public var nowMilliseconds: Int64 { Int64((now.timeIntervalSince1970 * 1000).rounded()) }
}

/// The real time.
public struct SystemWallClock: WallClock {
    public init() {}
    public var now: Date { Date() }
}

/// A clock that only moves when told to.
public final class ManualWallClock: WallClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    public var now: Date { current.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }

    /// Sets the clock.
    public func set(_ date: Date) {
        current.withLock { $0 = date }
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
