public import Foundation

/// Groups notifications of the same container and event type within a window.
///
/// The first notification of a group goes out at once; more of the same within the window are
/// counted, and when the window closes one summary goes out with the repeat count. Different
/// containers are never merged. A value type with no I/O: the caller feeds it notifications
/// and the time, and sends what it returns.
public struct NotificationGrouper: Sendable {
    public let window: Duration

    struct Group {
        var opened: Date
        var latest: Notification
        var suppressed: Int
    }

    private var groups: [String: Group] = [:]

    public init(window: Duration) {
        self.window = window
    }

    /// Offers a notification at `now`; returns it when it should be sent now, nil when it was
    /// folded into an open group.
    public mutating func offer(_ notification: Notification, now: Date) -> Notification? {
        guard window > .zero else { return notification }
        let key = notification.groupKey
        if var group = groups[key], now.timeIntervalSince(group.opened) < window.timeInterval {
            group.suppressed += 1
            group.latest = notification
            groups[key] = group
            return nil
        }
        groups[key] = Group(opened: now, latest: notification, suppressed: 0)
        return notification
    }

    /// Closes the groups whose window has passed and returns one summary for each that folded
    /// in at least one notification (`repeatCount` = how many it stands for).
    public mutating func expire(now: Date) -> [Notification] {
        var summaries: [Notification] = []
        for (key, group) in groups where now.timeIntervalSince(group.opened) >= window.timeInterval {
            groups[key] = nil
            if group.suppressed > 0 {
                var summary = group.latest
                summary.repeatCount = group.suppressed
                summaries.append(summary)
            }
        }
        return summaries.sorted { $0.timestamp < $1.timestamp }
    }

    /// When the next group closes, if any is open.
    public var nextExpiry: Date? {
        groups.values.map { $0.opened.addingTimeInterval(window.timeInterval) }.min()
    }
}
