
/// A value that must never reach a log, an event, the dashboard or a printout: API keys, webhook
/// URLs, the Redis password, the dashboard token.
///
/// `description`, `debugDescription`, string interpolation and `dump` all show `<set>`; only
/// `reveal()` gives the value, so every use of it is visible in the code.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    public init(_ value: String) {
        self.value = value
    }

    /// The secret itself, for the one place that sends it (an HTTP header, the AUTH command).
    public func reveal() -> String { value }

    public var description: String { "<set>" }
    public var debugDescription: String { "<set>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
