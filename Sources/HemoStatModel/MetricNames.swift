/// Every metric HemoStat exports, in one place (swift-metrics names; `/metrics` serves them in
/// Prometheus text format).
///
/// Labels stay of low cardinality: agent, action, outcome, reason, provider, kind. Never a
/// container id or name on a counter: containers come and go and their series would live
/// forever.
public enum MetricNames {
    // Monitor
    /// Timer: wall time of one monitor cycle over every container.
    public static let monitorCycleSeconds = "hemostat_monitor_cycle_seconds"
    /// Gauge: containers seen in the last cycle (label `state`: watched, unhealthy, excluded).
    public static let monitorContainers = "hemostat_monitor_containers"
    /// Timer: from the fault (the engine's event time, or the sample that showed it) to the
    /// `health_alert` being published (label `source`: event, poll).
    public static let faultToAlertSeconds = "hemostat_fault_to_alert_seconds"
    /// Counter: health alerts published (label `kind`: the first anomaly type).
    public static let healthAlerts = "hemostat_health_alerts_total"
    /// Counter: Docker API errors (label `operation`).
    public static let dockerErrors = "hemostat_docker_errors_total"

    // Analyzer
    /// Timer: from a `health_alert` read to its decision published (label `method`: rules, llm).
    public static let analyzerDecisionSeconds = "hemostat_analyzer_decision_seconds"
    /// Counter: decisions (labels `method`, `outcome`: remediate, false_alarm, escalate, none, stale).
    public static let analyzerDecisions = "hemostat_analyzer_decisions_total"
    /// Counter: false alarms declared.
    public static let falseAlarms = "hemostat_false_alarms_total"
    /// Counter: rule evaluations that failed (label `kind`: runtime, instruction_limit, memory_limit, api).
    public static let ruleErrors = "hemostat_rule_errors_total"
    /// Counter: LLM calls (labels `provider`, `outcome`: ok, error, timeout, invalid, cached, budget).
    public static let llmCalls = "hemostat_llm_calls_total"
    /// Counter: LLM tokens (labels `provider`, `direction`: input, output).
    public static let llmTokens = "hemostat_llm_tokens_total"

    // Responder
    /// Timer: the action (labels `action`; `stage`: `issue` for the engine call alone,
    /// `verified` for request read to verified result).
    public static let responderActionSeconds = "hemostat_responder_action_seconds"
    /// Counter: actions a stopping responder left to the next responder of its host.
    public static let responderHandedBack = "hemostat_responder_handed_back_total"
    /// Counter: remediation results (labels `action`, `status`: success, failed, ineffective,
    /// rejected, skipped; `dry_run`).
    public static let remediations = "hemostat_remediations_total"
    /// Counter: requests the gate refused (label `reason`).
    public static let gateRejections = "hemostat_gate_rejections_total"
    /// Counter: circuit breakers opened.
    public static let breakerTrips = "hemostat_breaker_trips_total"
    /// Timer: from the fault to the container running and healthy again after an action
    /// (label `action`).
    public static let faultToFixedSeconds = "hemostat_fault_to_fixed_seconds"

    // Alert
    /// Counter: notifications sent (labels `sink`: slack, webhook; `outcome`: sent, failed, grouped).
    public static let notifications = "hemostat_notifications_total"

    // Bus
    /// Counter: messages moved to the dead-letter stream (label `channel`).
    public static let deadLetters = "hemostat_dead_letters_total"

    // The dashboard's view of the whole installation, read from Redis at each scrape.

    /// Gauge `agent`, `host`: 1 while the agent's heartbeat is in Redis, 0 once one seen by this
    /// dashboard has stopped.
    public static let agentUp = "hemostat_agent_up"
    /// Gauge: containers whose circuit breaker is open (the live gate, or the dry-run one in
    /// dry-run mode).
    public static let breakersOpen = "hemostat_breakers_open"
    /// Gauge: entries in `hemostat:dead_letter`.
    public static let deadLetterEntries = "hemostat_dead_letter_entries"
    /// Gauge: LLM calls left in this hour's budget; only when an LLM is configured.
    public static let llmBudgetLeft = "hemostat_llm_budget_left"
}
