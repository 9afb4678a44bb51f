/// The Redis keys and channels the dashboard reads (docs/redis-keys.md), under a prefix.
struct DashboardKeys: Sendable {
    let prefix: String

    /// The contract's channels, each a stream and a pub/sub channel of the same name.
    static let incidentChannels = ["health_alert", "remediation_needed", "remediation_complete", "false_alarm", "escalation", "container_recovered"]

    var containers: String { prefix + "containers" }
    func stats(_ container: String) -> String { prefix + "stats:" + container }
    func channel(_ name: String) -> String { prefix + name }
    func events(_ type: String) -> String { prefix + "events:" + type }
    var eventsAll: String { prefix + "events:all" }
    var audit: String { prefix + "audit" }
    var deadLetter: String { prefix + "dead_letter" }
    var rulesStatus: String { prefix + "rules:status" }
    var agentsPattern: String { prefix + "agents:*" }
    func llmBudget(hour: String) -> String { prefix + "llm:budget:" + hour }
    var liveGateNamespace: String { prefix + "gate" }
    var dryRunGateNamespace: String { prefix + "dryrun:gate" }
    /// Pattern the live feed subscribes to.
    var pubSubPattern: String { prefix + "*" }

    /// The channel name without the prefix (`hemostat:health_alert` -> `health_alert`).
    func shortChannel(_ channel: String) -> String {
        channel.hasPrefix(prefix) ? String(channel.dropFirst(prefix.count)) : channel
    }
}
