import Foundation
import HemoStatModel
import HemoStatRedis
import Logging
import Yams

/// One key of the configuration: where it lives in the file, its environment variable, how
/// it is read and shown.
struct ConfigField {
    typealias Apply = (inout HemoStatConfiguration) -> Void

    /// Dotted path in the file: `monitor.poll_interval`.
    var key: String
    /// The environment variable that overrides it, if any.
    var environment: String?
    /// The type as the docs name it.
    var kind: String
    /// Shown masked; never echoed in problems.
    var secret: Bool
    /// False for secrets that may only come from the environment.
    var fileAllowed: Bool
    /// Other keys this one sets (a Redis URL sets host, port, password, database).
    var alsoSets: [String]
    var yaml: (Node) -> Result<Apply, ValueProblem>
    var text: (String) -> Result<Apply, ValueProblem>
    var render: (HemoStatConfiguration) -> String

    init<Value>(
        _ key: String, _ keyPath: WritableKeyPath<HemoStatConfiguration, Value>, _ parser: ValueParser<Value>,
        env: String? = nil, secret: Bool = false, fileAllowed: Bool = true
    ) {
        self.key = key
        self.environment = env
        self.kind = parser.kind
        self.secret = secret
        self.fileAllowed = fileAllowed
        self.alsoSets = []
        self.yaml = { node in parser.yaml(node).map { value in { $0[keyPath: keyPath] = value } } }
        self.text = { raw in parser.text(raw).map { value in { $0[keyPath: keyPath] = value } } }
        self.render = { configuration in parser.render(configuration[keyPath: keyPath]) }
    }

    /// The default environment variable name: `HEMOSTAT_` and the key in capitals.
    static func hemostatName(_ key: String) -> String {
        "HEMOSTAT_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }
}

enum ConfigurationSchema {
    /// Every key, in the order of the file and of `hemostat config check`.
    static var fields: [ConfigField] {
        let p = Parsers.self
        let httpURL = Parsers.url(schemes: ["http", "https"])
        var fields: [ConfigField] = [
            ConfigField("host_id", \.hostID, p.string().checked { id in
                ContainerRef.isValidHostID(id) ? nil : ValueProblem(
                    code: .invalidValue, message: "a host id is letters, digits, '_', '.' and '-', starting with a letter or digit")
            }, env: "HEMOSTAT_HOST_ID"),
            ConfigField("log_level", \.logLevel, p.choice(Logger.Level.self), env: "HEMOSTAT_LOG_LEVEL"),
            ConfigField("state_directory", \.stateDirectory, p.string(), env: "HEMOSTAT_STATE_DIRECTORY"),
            ConfigField("shutdown_timeout", \.shutdownTimeout, p.duration(minimum: .seconds(1), maximum: .seconds(3600)), env: "HEMOSTAT_SHUTDOWN_TIMEOUT"),

            redisURLField(),
            ConfigField("redis.host", \.redis.host, p.string(), env: "REDIS_HOST"),
            ConfigField("redis.port", \.redis.port, p.integer(1...65535), env: "REDIS_PORT"),
            ConfigField("redis.password", \.redis.password, p.secret().optional, env: "REDIS_PASSWORD", secret: true),
            ConfigField("redis.db", \.redis.database, p.integer(0...1_000_000), env: "REDIS_DB"),
            ConfigField("redis.connect_timeout", \.redis.connectTimeout, p.duration(minimum: .milliseconds(1)), env: "HEMOSTAT_REDIS_CONNECT_TIMEOUT"),
            ConfigField("redis.command_timeout", \.redis.commandTimeout, p.duration(minimum: .milliseconds(1)), env: "HEMOSTAT_REDIS_COMMAND_TIMEOUT"),
            ConfigField("redis.key_prefix", \.redis.keyPrefix, p.string(), env: "HEMOSTAT_REDIS_KEY_PREFIX"),

            ConfigField("docker.host", \.docker.host, p.string().checked { value in
                Parsers.url(schemes: ["unix", "tcp", "http", "https"])(value).map { ValueProblem(code: .invalidValue, message: $0) }
            }, env: "DOCKER_HOST"),
            ConfigField("docker.connect_timeout", \.docker.connectTimeout, p.duration(minimum: .milliseconds(1)), env: "HEMOSTAT_DOCKER_CONNECT_TIMEOUT"),
            ConfigField("docker.request_timeout", \.docker.requestTimeout, p.duration(minimum: .milliseconds(1)), env: "HEMOSTAT_DOCKER_REQUEST_TIMEOUT"),

            ConfigField("monitor.poll_interval", \.monitor.pollInterval, p.duration(minimum: .seconds(1), maximum: .seconds(86400)), env: "AGENT_POLL_INTERVAL"),
            ConfigField("monitor.cpu_threshold_percent", \.monitor.cpuThresholdPercent, p.percent(), env: "THRESHOLD_CPU_PERCENT"),
            ConfigField("monitor.memory_threshold_percent", \.monitor.memoryThresholdPercent, p.percent(), env: "THRESHOLD_MEMORY_PERCENT"),
            ConfigField("monitor.sustained_samples", \.monitor.sustainedSamples, p.integer(1...1000)),
            ConfigField("monitor.restart_loop_count", \.monitor.restartLoopCount, p.integer(1...1000)),
            ConfigField("monitor.restart_loop_window", \.monitor.restartLoopWindow, p.duration(minimum: .seconds(1))),
            ConfigField("monitor.memory_growth_horizon", \.monitor.memoryGrowthHorizon, p.duration(minimum: .seconds(1))),
            ConfigField("monitor.reminder_interval", \.monitor.reminderInterval, p.duration(minimum: .seconds(1))),
            ConfigField("monitor.stats_ttl", \.monitor.statsTTL, p.duration(minimum: .seconds(1))),
            ConfigField("monitor.history_length", \.monitor.historyLength, p.integer(2...10_000)),
            ConfigField("monitor.include", \.monitor.include, p.list(p.string())),
            ConfigField("monitor.exclude", \.monitor.exclude, p.list(p.string())),
            ConfigField("monitor.own_containers", \.monitor.ownContainers, p.list(p.string())),
            ConfigField("monitor.stats_concurrency", \.monitor.statsConcurrency, p.integer(1...1024)),
            ConfigField("monitor.pending_alert_limit", \.monitor.pendingAlertLimit, p.integer(1...1_000_000)),

            ConfigField("analyzer.rules_directory", \.analyzer.rulesDirectory, p.string(), env: "HEMOSTAT_RULES_DIRECTORY"),
            ConfigField("analyzer.rule_thresholds", \.analyzer.ruleThresholds, p.numberMap()),
            ConfigField("analyzer.instruction_limit", \.analyzer.instructionLimit, p.integer(1000...1_000_000_000)),
            ConfigField("analyzer.memory_limit_bytes", \.analyzer.memoryLimitBytes, p.integer(1_048_576...4_294_967_296)),
            ConfigField("analyzer.max_alert_age", \.analyzer.maxAlertAge, p.duration(minimum: .seconds(1))),
            ConfigField("analyzer.reload_interval", \.analyzer.reloadInterval, p.duration(minimum: .milliseconds(100), maximum: .seconds(3600))),
            ConfigField("analyzer.status_interval", \.analyzer.statusInterval, p.duration(minimum: .seconds(1), maximum: .seconds(3600))),
            ConfigField("analyzer.recheck_for", \.analyzer.recheckFor, p.duration(minimum: .zero, maximum: .seconds(86400))),
            ConfigField("analyzer.llm.provider", \.analyzer.llm.provider, p.choice(LLMProvider.self), env: "HEMOSTAT_LLM_PROVIDER"),
            ConfigField("analyzer.llm.model", \.analyzer.llm.model, p.string().optional, env: "HEMOSTAT_LLM_MODEL"),
            ConfigField("analyzer.llm.base_url", \.analyzer.llm.baseURL, p.string().checked { value in
                httpURL(value).map { ValueProblem(code: .invalidValue, message: $0) }
            }.optional, env: "HEMOSTAT_LLM_BASE_URL"),
            ConfigField("analyzer.llm.timeout", \.analyzer.llm.timeout, p.duration(minimum: .seconds(1), maximum: .seconds(600))),
            ConfigField("analyzer.llm.max_tokens", \.analyzer.llm.maxTokens, p.integer(1...200_000)),
            ConfigField("analyzer.llm.hourly_call_budget", \.analyzer.llm.hourlyCallBudget, p.integer(0...100_000), env: "HEMOSTAT_LLM_HOURLY_CALL_BUDGET"),
            ConfigField("analyzer.llm.cache_ttl", \.analyzer.llm.cacheTTL, p.duration()),
            ConfigField("analyzer.llm.max_attempts", \.analyzer.llm.maxAttempts, p.integer(1...10)),
            ConfigField("analyzer.llm.ca_file", \.analyzer.llm.caFile, p.string().optional),
            ConfigField("analyzer.llm.anthropic_api_key", \.analyzer.llm.anthropicAPIKey, p.secret().optional, env: "ANTHROPIC_API_KEY", secret: true, fileAllowed: false),
            ConfigField("analyzer.llm.openai_api_key", \.analyzer.llm.openAIAPIKey, p.secret().optional, env: "OPENAI_API_KEY", secret: true, fileAllowed: false),
            ConfigField("analyzer.llm.api_key", \.analyzer.llm.compatibleAPIKey, p.secret().optional, env: "HEMOSTAT_LLM_API_KEY", secret: true, fileAllowed: false),

            ConfigField("responder.cooldown", \.responder.cooldown, p.duration(), env: "RESPONDER_COOLDOWN_SECONDS"),
            ConfigField("responder.max_actions_per_hour", \.responder.maxActionsPerHour, p.integer(0...10_000), env: "RESPONDER_MAX_RETRIES_PER_HOUR"),
            ConfigField("responder.global_max_actions_per_hour", \.responder.globalMaxActionsPerHour, p.integer(0...100_000)),
            ConfigField("responder.dry_run", \.responder.dryRun, p.bool(), env: "RESPONDER_DRY_RUN"),
            ConfigField("responder.verification_window", \.responder.verificationWindow, p.duration(minimum: .seconds(1), maximum: .seconds(3600))),
            ConfigField("responder.breaker.failure_threshold", \.responder.breaker.failureThreshold, p.integer(1...1000)),
            ConfigField("responder.breaker.window", \.responder.breaker.window, p.duration(minimum: .seconds(1))),
            ConfigField("responder.breaker.half_open_after", \.responder.breaker.halfOpenAfter, p.duration(minimum: .seconds(1))),
            ConfigField("responder.lock_ttl", \.responder.lockTTL, p.duration(minimum: .seconds(1), maximum: .seconds(3600))),
            ConfigField("responder.stop_timeout", \.responder.stopTimeout, p.duration(maximum: .seconds(600))),
            ConfigField("responder.protected", \.responder.protectedPatterns, p.list(p.string())),
            ConfigField("responder.exec_allowlist", \.responder.execAllowlist, p.list(p.string())),
            ConfigField("responder.allowed_actions", \.responder.allowedActions, p.list(p.choice(RuleAction.self))),
            ConfigField("responder.audit_file", \.responder.auditFile, p.string().optional, env: "HEMOSTAT_AUDIT_FILE"),
            ConfigField("responder.concurrency", \.responder.concurrency, p.integer(1...256)),
            ConfigField("responder.verification_interval", \.responder.verificationInterval, p.duration(minimum: .milliseconds(10), maximum: .seconds(60))),
            ConfigField("responder.history_length", \.responder.historyLength, p.integer(1...10_000)),
            ConfigField("responder.no_responder_after", \.responder.noResponderAfter, p.duration(minimum: .seconds(1))),
            ConfigField("responder.retry_backoff", \.responder.retryBackoff, p.list(p.duration(minimum: .seconds(1)))),
            ConfigField("responder.shutdown_grace", \.responder.shutdownGrace, p.duration(minimum: .zero, maximum: .seconds(3600))),

            ConfigField("alert.slack_webhook_url", \.alert.slackWebhookURL, p.secret(Parsers.url(schemes: ["https", "http"])).optional, env: "SLACK_WEBHOOK_URL", secret: true),
            ConfigField("alert.webhook_url", \.alert.webhookURL, p.secret(Parsers.url(schemes: ["https", "http"])).optional, env: "HEMOSTAT_WEBHOOK_URL", secret: true),
            ConfigField("alert.grouping_window", \.alert.groupingWindow, p.duration(maximum: .seconds(3600))),
            ConfigField("alert.min_severity", \.alert.minimumSeverity, p.choice(Severity.self), env: "HEMOSTAT_ALERT_MIN_SEVERITY"),
            ConfigField("alert.slack_events", \.alert.slackEvents, p.list(p.channel())),
            ConfigField("alert.webhook_events", \.alert.webhookEvents, p.list(p.channel())),
            ConfigField("alert.retry.max_attempts", \.alert.retry.maxAttempts, p.integer(1...100)),
            ConfigField("alert.retry.initial_backoff", \.alert.retry.initialBackoff, p.duration(minimum: .milliseconds(1), maximum: .seconds(3600))),
            ConfigField("alert.retry.max_backoff", \.alert.retry.maxBackoff, p.duration(minimum: .milliseconds(1), maximum: .seconds(86400))),
            ConfigField("alert.event_log_size", \.alert.eventLogSize, p.integer(1...100_000)),
            ConfigField("alert.event_log_ttl", \.alert.eventLogTTL, p.duration(minimum: .seconds(1), maximum: .seconds(365 * 86400))),
            ConfigField("alert.include_health_alerts", \.alert.includeHealthAlerts, p.bool()),
            ConfigField("alert.dashboard_url", \.alert.dashboardURL, p.string().checked { value in
                httpURL(value).map { ValueProblem(code: .invalidValue, message: $0) }
            }.optional, env: "HEMOSTAT_DASHBOARD_URL"),

            ConfigField("dashboard.bind_address", \.dashboard.bindAddress, p.string(), env: "HEMOSTAT_DASHBOARD_BIND_ADDRESS"),
            ConfigField("dashboard.port", \.dashboard.port, p.integer(1...65535), env: "HEMOSTAT_DASHBOARD_PORT"),
            ConfigField("dashboard.access_token", \.dashboard.accessToken, p.secret().optional, env: "HEMOSTAT_DASHBOARD_TOKEN", secret: true, fileAllowed: false),
            ConfigField("dashboard.metrics_port", \.dashboard.metricsPort, p.integer(0...65535), env: "HEMOSTAT_METRICS_PORT"),
        ]
        // Keys without a legacy variable get HEMOSTAT_<KEY>.
        for index in fields.indices where fields[index].environment == nil && fields[index].key != "redis.url" {
            fields[index].environment = ConfigField.hemostatName(fields[index].key)
        }
        return fields
    }

    /// `redis://[user:password@]host[:port][/db]` or `unix:///path/to.sock[?db=N&password=…]`,
    /// replacing the endpoint, credentials and database (parsed by `HemoStatRedis`).
    static func redisURLField() -> ConfigField {
        func parse(_ text: String) -> Result<ConfigField.Apply, ValueProblem> {
            let parsed: HemoStatRedis.RedisConfiguration
            do {
                parsed = try HemoStatRedis.RedisConfiguration(url: text)
            } catch {
                return .failure(ValueProblem(code: .invalidValue, message: (error as? RedisError)?.message ?? "expected redis://[user:password@]host[:port][/db] or unix:///path"))
            }
            return .success { configuration in
                switch parsed.endpoint {
                case .tcp(let host, let port):
                    configuration.redis.host = host
                    configuration.redis.port = port
                    configuration.redis.socketPath = nil
                case .unix(let path):
                    configuration.redis.socketPath = path
                }
                configuration.redis.username = parsed.username
                configuration.redis.password = parsed.password.map(Secret.init)
                configuration.redis.database = parsed.database
            }
        }
        var field = ConfigField("redis.url", \.redis.host, Parsers.string())
        field.kind = "URL"
        field.environment = "REDIS_URL"
        field.alsoSets = ["redis.host", "redis.port", "redis.password", "redis.db"]
        field.yaml = { node in
            if ValueParser<String>.isNull(node) { return .success { _ in } }
            guard let scalar = node.scalar else { return .failure(Parsers.wrongType("a URL", node)) }
            return parse(scalar.string)
        }
        field.text = parse
        field.render = { $0.redis.displayURL }
        return field
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
