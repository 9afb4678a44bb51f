public import Foundation

/// The names of every Redis key and channel HemoStat uses, under one configurable prefix
/// (`redis.key_prefix`, default `hemostat:`). `docs/redis-keys.md` describes what each holds.
///
/// Tests give each case its own prefix, so they never see each other's keys.
public struct KeySpace: Sendable, Hashable {
    public let prefix: String

    public init(prefix: String = Channel.defaultPrefix) {
        self.prefix = prefix
    }

    /// The stream and pub/sub channel of `channel`.
    public func channel(_ channel: Channel) -> String { channel.key(prefix: prefix) }

    /// The stream of remediation requests for one host's responders, filled by the
    /// ``RequestRouter`` from ``channel(_:)`` `.remediationNeeded`.
    public func remediationRequests(host: String) -> String { "\(channel(.remediationNeeded)):\(host)" }
    /// Host ids scored by when a monitor or responder of the host last announced itself.
    public var hosts: String { "\(prefix)hosts" }
    /// The host that reported an incident (string, TTL 24 h), for requests that name no host.
    public func incidentHost(_ incidentID: String) -> String { "\(prefix)incident:\(incidentID):host" }
    /// Set once a request that waited for a host without a responder was escalated.
    public func noResponderEscalated(host: String, entry: String) -> String { "\(prefix)router:escalated:\(host):\(entry)" }

    /// The latest sample and recent history of one container (JSON string with TTL).
    public func stats(_ container: ContainerRef) -> String { "\(prefix)stats:\(container)" }
    /// Containers (`host/name`) scored by when they were last sampled.
    public var containers: String { "\(prefix)containers" }
    /// Remediation results for one container, newest first.
    public func remediation(_ container: ContainerRef) -> String { "\(prefix)remediation:\(container)" }
    /// The dashboard's event log of one event type, newest first.
    public func events(_ eventType: String) -> String { "\(prefix)events:\(eventType)" }
    /// The dashboard's log of every stored event, newest first.
    public var allEvents: String { "\(prefix)events:all" }
    /// Every decision with its inputs and outcome (stream, field `record`).
    public var audit: String { "\(prefix)audit" }
    /// The safety gate's namespace for real actions.
    public var gate: String { "\(prefix)gate" }
    /// The safety gate's namespace for dry-run: simulated budgets never touch real ones.
    public var dryRunGate: String { "\(prefix)dryrun:gate" }
    /// Hash of one host's live actions, from the gate's decision until their result is
    /// published, by request id (``InFlightAction``).
    public func responderInFlight(host: String) -> String { "\(prefix)responder:inflight:\(host)" }
    /// The hash in which responders before per-host records kept every live action.
    public var legacyResponderInFlight: String { "\(prefix)responder:inflight" }
    /// One host's remediation requests to carry out again after a backoff (the envelope as
    /// text, scored by when, ms).
    public func responderRetries(host: String) -> String { "\(prefix)responder:retry:\(host)" }
    /// Present once the result of a request is published, so it is published once.
    public func responderResult(_ requestID: String) -> String { "\(prefix)responder:result:\(requestID)" }
    /// Heartbeat of one agent on one host (JSON string with TTL).
    public func agent(_ agent: String, host: String) -> String { "\(prefix)agents:\(agent):\(host)" }
    /// Pattern matching every agent heartbeat.
    public var agentPattern: String { "\(prefix)agents:*" }
    /// The rules engine's status for the dashboard (JSON string).
    public var rulesStatus: String { "\(prefix)rules:status" }
    /// LLM calls made in one hour (`yyyyMMddHH`, UTC).
    public func llmBudget(hour: String) -> String { "\(prefix)llm:budget:\(hour)" }
    /// The LLM budget counter of the UTC hour `date` falls in.
    public func llmBudget(at date: Date) -> String { llmBudget(hour: Self.hour(date)) }

    /// `yyyyMMddHH` in UTC: the hour of an LLM budget counter.
    public static func hour(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour], from: date)
        return String(format: "%04d%02d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0)
    }
    /// Notifications one alert agent accepted and has not yet delivered (hash of
    /// `<sink>|<message id>`), so a stop or a crash loses none.
    public func alertOutbox(consumer: String) -> String { "\(prefix)alert:outbox:\(consumer)" }
    /// Set once an incident was escalated (by the analyzer, or by the responder as its breaker
    /// opened), so the monitor's reminders of the same fault do not escalate it again.
    public func incidentEscalated(_ incident: String) -> String { "\(prefix)incident:\(incident):escalated" }
    /// Set for an hour once a container was escalated (by the analyzer, or by the responder as
    /// its breaker opened): the responder then makes no retry of its own and does not announce
    /// its breaker again, whichever incident the monitor counts it under.
    public func containerEscalated(_ container: ContainerRef) -> String { "\(prefix)escalated:\(container)" }
    /// Incidents whose verdict was "not yet", scored by when each is next evaluated (ms).
    public var analyzerRechecks: String { "\(prefix)analyzer:rechecks" }
    /// The alert and progress of one incident evaluated again (``Rechecks``).
    public func analyzerRecheck(_ incident: String) -> String { "\(prefix)analyzer:recheck:\(incident)" }
    /// A cached LLM answer for an alert fingerprint.
    public func llmCache(_ fingerprint: String) -> String { "\(prefix)llm:cache:\(fingerprint)" }
}
