/// A HemoStat channel: a Redis Stream of that name (read through consumer groups) and a pub/sub
/// channel of the same name for live viewers.
///
/// The raw value is the full default name, `hemostat:health_alert`; use `key(prefix:)` when the
/// configured key prefix differs.
public enum Channel: String, Sendable, Hashable, CaseIterable {
    /// Monitor -> Analyzer: a container looks unwell.
    case healthAlert = "hemostat:health_alert"
    /// Analyzer -> Responder: act on a container.
    case remediationNeeded = "hemostat:remediation_needed"
    /// Analyzer -> Alert: the alert needed no action.
    case falseAlarm = "hemostat:false_alarm"
    /// Responder -> Alert: what the responder did, or why it did not.
    case remediationComplete = "hemostat:remediation_complete"
    /// Responder or Analyzer -> Alert: a human must look (breaker open, budget spent, action failed).
    case escalation = "hemostat:escalation"
    /// Monitor -> Alert: a container that had an open incident is healthy again.
    case containerRecovered = "hemostat:container_recovered"
    /// Messages a consumer could not read or process, with the reason.
    case deadLetter = "hemostat:dead_letter"

    /// The name without the prefix, which is also the `event_type` of its messages:
    /// `health_alert`.
    public var eventType: String {
        String(rawValue.dropFirst(Self.defaultPrefix.count))
    }

    /// The channel's key under a given prefix: `key(prefix: "staging:")` is
    /// `staging:health_alert`.
    public func key(prefix: String = Channel.defaultPrefix) -> String {
        prefix + eventType
    }

    /// The channel whose `event_type` this is, if any.
    public init?(eventType: String) {
        self.init(rawValue: Self.defaultPrefix + eventType)
    }

    /// `hemostat:`
    public static let defaultPrefix = "hemostat:"
}
