public import HemoStatModel

/// A message the monitor has made and not yet published.
public enum MonitorMessage: Sendable, Hashable {
    case alert(Envelope<HealthAlert>, reminder: Bool)
    case recovered(Envelope<ContainerRecovered>)

    public var id: String {
        switch self {
        case .alert(let e, _): e.id
        case .recovered(let e): e.id
        }
    }
}

/// Messages waiting for Redis, oldest first, bounded.
///
/// When full, the oldest reminder goes first (the incident was announced before), then the
/// oldest message of any kind. ``dropped`` counts what was lost, for the log.
public struct PendingMessages: Sendable {
    public let limit: Int
    public private(set) var messages: [MonitorMessage] = []
    public private(set) var dropped = 0

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    public var isEmpty: Bool { messages.isEmpty }
    public var count: Int { messages.count }
    public var first: MonitorMessage? { messages.first }

    public mutating func append(_ message: MonitorMessage) {
        messages.append(message)
        while messages.count > limit {
            if let index = messages.firstIndex(where: { if case .alert(_, true) = $0 { true } else { false } }) {
                messages.remove(at: index)
            } else {
                messages.removeFirst()
            }
            dropped += 1
        }
    }

    /// Removes the oldest message (after it was published).
    public mutating func removeFirst() {
        if !messages.isEmpty { messages.removeFirst() }
    }
}
