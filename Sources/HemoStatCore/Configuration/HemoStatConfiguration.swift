public import HemoStatModel
public import HemoStatRedis
public import HemoStatRules
public import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything HemoStat can be told, with the documented defaults.
///
/// Load it with `load(file:environment:)`: defaults, then `config/hemostat.yaml` (or the given
/// file), then environment variables. `docs/configuration.md` lists every key.
public struct HemoStatConfiguration: Sendable, Hashable {
    /// Names this Docker host in every message (`host`). Default: the machine's hostname.
    public var hostID: String
    /// Default: `info`.
    public var logLevel: Logger.Level
    /// Where HemoStat keeps local files (LLM cache, audit file when relative). Default:
    /// `/var/lib/hemostat`.
    public var stateDirectory: String
    /// How long a process may take to stop after SIGTERM or SIGINT, default 8 s: work in hand
    /// finishes or is handed back within it; past it the process says what is still running
    /// and exits anyway.
    public var shutdownTimeout: Duration
    public var redis: RedisSettings
    public var docker: DockerSettings
    public var monitor: MonitorConfiguration
    public var analyzer: AnalyzerConfiguration
    public var responder: ResponderConfiguration
    public var alert: AlertConfiguration
    public var dashboard: DashboardSettings

    public init(
        hostID: String = HemoStatConfiguration.defaultHostID,
        logLevel: Logger.Level = .info,
        stateDirectory: String = "/var/lib/hemostat",
        shutdownTimeout: Duration = .seconds(8),
        redis: RedisSettings = RedisSettings(),
        docker: DockerSettings = DockerSettings(),
        monitor: MonitorConfiguration = MonitorConfiguration(),
        analyzer: AnalyzerConfiguration = AnalyzerConfiguration(),
        responder: ResponderConfiguration = ResponderConfiguration(),
        alert: AlertConfiguration = AlertConfiguration(),
        dashboard: DashboardSettings = DashboardSettings()
    ) {
        self.hostID = hostID
        self.logLevel = logLevel
        self.stateDirectory = stateDirectory
        self.shutdownTimeout = shutdownTimeout
        self.redis = redis
        self.docker = docker
        self.monitor = monitor
        self.analyzer = analyzer
        self.responder = responder
        self.alert = alert
        self.dashboard = dashboard
    }

    /// The machine's hostname.
    public static var defaultHostID: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}

/// Where Redis is and how long to wait for it.
public struct RedisSettings: Sendable, Hashable {
    /// Default `127.0.0.1`.
    public var host: String
    /// Default 6379.
    public var port: Int
    /// The ACL user, when the URL names one.
    public var username: String?
    public var password: Secret?
    /// The database number, default 0.
    public var database: Int
    /// Default 5 s.
    public var connectTimeout: Duration
    /// Default 5 s.
    public var commandTimeout: Duration
    /// Prefix of every key and channel, default `hemostat:`.
    public var keyPrefix: String
    /// A unix socket to connect to instead of host and port (`unix:///path` in `redis.url`).
    public var socketPath: String?

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: Secret? = nil, database: Int = 0,
        connectTimeout: Duration = .seconds(5), commandTimeout: Duration = .seconds(5), keyPrefix: String = "hemostat:"
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.keyPrefix = keyPrefix
    }

    /// The Redis client's configuration for these settings; `clientName` shows in `CLIENT LIST`.
    public func clientConfiguration(clientName: String? = nil) -> HemoStatRedis.RedisConfiguration {
        HemoStatRedis.RedisConfiguration(
            endpoint: socketPath.map { .unix(path: $0) } ?? .tcp(host: host, port: port),
            username: username,
            password: password?.reveal(),
            database: database,
            connectTimeout: connectTimeout,
            commandTimeout: commandTimeout,
            clientName: clientName
        )
    }

    /// `redis://host:port/db` (or `unix:///path?db=N`), with `<masked>` in place of a password:
    /// safe to log.
    public var displayURL: String {
        if let socketPath {
            return "unix://\(socketPath)?db=\(database)" + (password != nil ? "&password=<masked>" : "")
        }
        var credentials = ""
        if username != nil || password != nil {
            credentials = (username ?? "") + (password != nil ? ":<masked>" : "") + "@"
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "redis://\(credentials)\(hostPart):\(port)/\(database)"
    }
}

/// How to reach the Docker Engine API.
public struct DockerSettings: Sendable, Hashable {
    /// `unix:///path`, `tcp://host:port` or `http(s)://host:port`. Default
    /// `unix:///var/run/docker.sock`.
    public var host: String
    /// Default 5 s.
    public var connectTimeout: Duration
    /// Default 30 s; the events stream is not bound by it.
    public var requestTimeout: Duration

    public init(host: String = "unix:///var/run/docker.sock", connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(30)) {
        self.host = host
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
    }
}

/// What the monitor watches and when it raises an alert.
public struct MonitorConfiguration: Sendable, Hashable {
    /// Time between polls, default 30 s.
    public var pollInterval: Duration
    /// CPU percent (of the CPUs available to the container) that counts as high, default 85.
    public var cpuThresholdPercent: Double
    /// Memory percent of the limit that counts as high, default 80.
    public var memoryThresholdPercent: Double
    /// Consecutive samples above a threshold before an alert, default 3.
    public var sustainedSamples: Int
    /// Restarts within `restartLoopWindow` that make a restart loop, default 3.
    public var restartLoopCount: Int
    /// Default 300 s.
    public var restartLoopWindow: Duration
    /// Alert when memory growth would reach the limit within this time, default 900 s.
    public var memoryGrowthHorizon: Duration
    /// An incident still open is announced again after this time, default 900 s.
    public var reminderInterval: Duration
    /// Lifetime of `hemostat:stats:<container>`, default 300 s.
    public var statsTTL: Duration
    /// Samples kept per container for trends, default 20.
    public var historyLength: Int
    /// Container name patterns (`*`, `?`) to watch; empty means all.
    public var include: [String]
    /// Container name patterns never watched.
    public var exclude: [String]
    /// Name patterns of HemoStat's own containers and its Redis, never alerted on, default
    /// `hemostat*`. Containers labelled `hemostat.role` are HemoStat's own whatever their name.
    public var ownContainers: [String]
    /// Inspect and stats requests in flight at once, default 200 (one cycle over 200 running
    /// containers then waits about one engine stats tick).
    public var statsConcurrency: Int
    /// Alerts kept in memory while Redis is unreachable, default 10,000.
    public var pendingAlertLimit: Int

    public init(
        pollInterval: Duration = .seconds(30), cpuThresholdPercent: Double = 85, memoryThresholdPercent: Double = 80,
        sustainedSamples: Int = 3, restartLoopCount: Int = 3, restartLoopWindow: Duration = .seconds(300),
        memoryGrowthHorizon: Duration = .seconds(900), reminderInterval: Duration = .seconds(900),
        statsTTL: Duration = .seconds(300), historyLength: Int = 20, include: [String] = [], exclude: [String] = [],
        ownContainers: [String] = ["hemostat*"], statsConcurrency: Int = 200, pendingAlertLimit: Int = 10_000
    ) {
        self.pollInterval = pollInterval
        self.cpuThresholdPercent = cpuThresholdPercent
        self.memoryThresholdPercent = memoryThresholdPercent
        self.sustainedSamples = sustainedSamples
        self.restartLoopCount = restartLoopCount
        self.restartLoopWindow = restartLoopWindow
        self.memoryGrowthHorizon = memoryGrowthHorizon
        self.reminderInterval = reminderInterval
        self.statsTTL = statsTTL
        self.historyLength = historyLength
        self.include = include
        self.exclude = exclude
        self.ownContainers = ownContainers
        self.statsConcurrency = statsConcurrency
        self.pendingAlertLimit = pendingAlertLimit
    }
}

/// Which LLM the analyzer may ask about ambiguous cases.
public enum LLMProvider: String, Sendable, Hashable, CaseIterable {
    case none
    case anthropic
    case openai
    /// Any server speaking the OpenAI chat completions API (needs `base_url`).
    case openaiCompatible = "openai_compatible"
}

/// The LLM fallback. Keys come only from the environment.
public struct LLMConfiguration: Sendable, Hashable {
    /// Default `none`: rules decide everything.
    public var provider: LLMProvider
    /// The model name; nil means the provider's default model.
    public var model: String?
    /// Overrides the provider's API base URL; required for `openai_compatible`.
    public var baseURL: String?
    /// Default 30 s.
    public var timeout: Duration
    /// Default 1024.
    public var maxTokens: Int
    /// LLM calls allowed per hour across the analyzer, default 60.
    public var hourlyCallBudget: Int
    /// How long an answer is reused for the same situation, default 600 s.
    public var cacheTTL: Duration
    /// From `ANTHROPIC_API_KEY`.
    public var anthropicAPIKey: Secret?
    /// From `OPENAI_API_KEY`.
    public var openAIAPIKey: Secret?
    /// From `HEMOSTAT_LLM_API_KEY`, for `openai_compatible` endpoints.
    public var compatibleAPIKey: Secret?
    /// Attempts per question, the first included, when the provider answers 429 or 5xx or the
    /// connection fails; default 3.
    public var maxAttempts: Int
    /// A PEM file of extra certificate authorities for the provider's TLS certificate (a
    /// private gateway); nil trusts the system bundle only.
    public var caFile: String?

    public init(
        provider: LLMProvider = .none, model: String? = nil, baseURL: String? = nil, timeout: Duration = .seconds(30),
        maxTokens: Int = 1024, hourlyCallBudget: Int = 60, cacheTTL: Duration = .seconds(600),
        anthropicAPIKey: Secret? = nil, openAIAPIKey: Secret? = nil, compatibleAPIKey: Secret? = nil,
        maxAttempts: Int = 3, caFile: String? = nil
    ) {
        self.provider = provider
        self.model = model
        self.baseURL = baseURL
        self.timeout = timeout
        self.maxTokens = maxTokens
        self.hourlyCallBudget = hourlyCallBudget
        self.cacheTTL = cacheTTL
        self.anthropicAPIKey = anthropicAPIKey
        self.openAIAPIKey = openAIAPIKey
        self.compatibleAPIKey = compatibleAPIKey
        self.maxAttempts = maxAttempts
        self.caFile = caFile
    }

    /// The key for the configured provider; for `openai_compatible`, `HEMOSTAT_LLM_API_KEY`
    /// else `OPENAI_API_KEY`. Nil means the LLM is not used.
    public var apiKey: Secret? {
        switch provider {
        case .none: nil
        case .anthropic: anthropicAPIKey
        case .openai: openAIAPIKey
        case .openaiCompatible: compatibleAPIKey ?? openAIAPIKey
        }
    }
}

/// The rules engine and its limits.
public struct AnalyzerConfiguration: Sendable, Hashable {
    /// Directory of `*.lua` rule files as configured (`analyzer.rules_directory`), default
    /// `rules`.
    public var rulesDirectory: String
    /// The rules the analyzer runs: found when the configuration is loaded, by the search order
    /// of ``FileLocations`` (the configured directory, `rules/`, `/etc/hemostat/rules`, or the
    /// rules built in); ``rulesDirectory`` when the configuration is made in code.
    public var rulesLocation: FileLocations.Rules {
        get { foundRules ?? .directory(rulesDirectory, .configured) }
        set { foundRules = newValue }
    }
    private var foundRules: FileLocations.Rules?
    /// Named numbers handed to the rules (`thresholds.<name>` in Lua).
    public var ruleThresholds: [String: Double]
    /// Lua instructions one rule evaluation may run, default 1 000 000.
    public var instructionLimit: Int
    /// Memory one Lua state may allocate, default 16 MiB.
    public var memoryLimitBytes: Int
    /// Alerts older than this when read are dropped unanswered (the monitor announces a fault
    /// that is still there again); default 600 s.
    public var maxAlertAge: Duration
    /// How often the rules directory is checked for edited files; default 2 s.
    public var reloadInterval: Duration
    /// How often `hemostat:rules:status` is rewritten besides after each reload; default 30 s.
    public var statusInterval: Duration
    /// How long an incident whose verdict was "not yet" is evaluated again with each new sample
    /// of its container; default 30 min.
    public var recheckFor: Duration = .seconds(1800)
    public var llm: LLMConfiguration

    public init(
        rulesDirectory: String = "rules", ruleThresholds: [String: Double] = [:], instructionLimit: Int = 1_000_000,
        memoryLimitBytes: Int = 16 * 1024 * 1024, maxAlertAge: Duration = .seconds(600),
        reloadInterval: Duration = .seconds(2), statusInterval: Duration = .seconds(30), llm: LLMConfiguration = LLMConfiguration()
    ) {
        self.rulesDirectory = rulesDirectory
        self.ruleThresholds = ruleThresholds
        self.instructionLimit = instructionLimit
        self.memoryLimitBytes = memoryLimitBytes
        self.maxAlertAge = maxAlertAge
        self.reloadInterval = reloadInterval
        self.statusInterval = statusInterval
        self.llm = llm
    }

    /// The rules engine's configuration: directory (the one in ``rulesLocation``; none for the
    /// rules built in), thresholds and limits.
    public var rules: RulesConfiguration {
        let directory: String = switch rulesLocation {
        case .directory(let path, _): path
        case .builtIn: ""
        }
        return RulesConfiguration(
            directory: directory, thresholds: ruleThresholds, instructionLimit: instructionLimit,
            memoryLimit: memoryLimitBytes)
    }
}

/// When the responder stops acting on a container and escalates instead.
public struct BreakerConfiguration: Sendable, Hashable {
    /// Failed or ineffective remediations within `window` that open the breaker, default 3.
    public var failureThreshold: Int
    /// Default 3600 s.
    public var window: Duration
    /// An open breaker lets one attempt through after this time, default 1800 s.
    public var halfOpenAfter: Duration

    public init(failureThreshold: Int = 3, window: Duration = .seconds(3600), halfOpenAfter: Duration = .seconds(1800)) {
        self.failureThreshold = failureThreshold
        self.window = window
        self.halfOpenAfter = halfOpenAfter
    }
}

/// The responder's safety gate and actions.
public struct ResponderConfiguration: Sendable, Hashable {
    /// No second action on a container within this time, default 3600 s.
    public var cooldown: Duration
    /// Actions per container in a sliding hour, default 3.
    public var maxActionsPerHour: Int
    /// Actions across all containers in a sliding hour, default 20.
    public var globalMaxActionsPerHour: Int
    /// Evaluate everything, touch nothing. Default false.
    public var dryRun: Bool
    /// After an action, a fault that comes back within this time makes it ineffective; default 60 s.
    public var verificationWindow: Duration
    public var breaker: BreakerConfiguration
    /// The lease of the in-flight lock, default 30 s. The responder acting on a container renews
    /// it every third of the lease; once it stops, another responder of the host takes the
    /// action over after at most this long.
    public var lockTTL: Duration
    /// Grace time for stop and restart before Docker kills, default 10 s.
    public var stopTimeout: Duration
    /// Container name patterns never acted on (HemoStat and its Redis are always protected).
    public var protectedPatterns: [String]
    /// Exact command lines `exec` may run (argv joined by single spaces); empty: exec is off.
    public var execAllowlist: [String]
    /// Actions the responder may take. Default: all but `exec`.
    public var allowedActions: [RuleAction]
    /// When set, every decision is also appended to this JSON Lines file.
    public var auditFile: String?
    /// Actions (with their verification) in progress at once, default 8. When all are busy the
    /// responder waits before reading the next request.
    public var concurrency: Int
    /// How often a container is inspected during its verification window, default 1 s.
    public var verificationInterval: Duration
    /// Results kept per container in `hemostat:remediation:<container>`, default 50.
    public var historyLength: Int
    /// A request for a host with no live responder is escalated once after waiting this
    /// long, default 60 s; it stays queued for the host's responders.
    public var noResponderAfter: Duration
    /// After a shutdown begins, how long an engine call already sent may take to answer,
    /// default 5 s; past it the call is abandoned and the action handed back (its in-flight
    /// record says `sent`, and the next responder of the host looks at the engine's record).
    public var shutdownGrace: Duration
    /// After a failed or ineffective remediation, the next attempt waits the n-th of these
    /// (the last once they run out, never longer than ``cooldown``), and the responder makes it
    /// itself; default 30 s, then 2 min. The hourly cap and the breaker still apply.
    public var retryBackoff: [Duration] = [.seconds(30), .seconds(120)]

    public static let defaultAllowedActions: [RuleAction] = RuleAction.allCases.filter { $0 != .exec }

    public init(
        cooldown: Duration = .seconds(3600), maxActionsPerHour: Int = 3, globalMaxActionsPerHour: Int = 20, dryRun: Bool = false,
        verificationWindow: Duration = .seconds(60), breaker: BreakerConfiguration = BreakerConfiguration(),
        lockTTL: Duration = .seconds(30), stopTimeout: Duration = .seconds(10), protectedPatterns: [String] = [],
        execAllowlist: [String] = [], allowedActions: [RuleAction] = ResponderConfiguration.defaultAllowedActions, auditFile: String? = nil,
        concurrency: Int = 8, verificationInterval: Duration = .seconds(1), historyLength: Int = 50,
        noResponderAfter: Duration = .seconds(60), shutdownGrace: Duration = .seconds(5)
    ) {
        self.noResponderAfter = noResponderAfter
        self.shutdownGrace = shutdownGrace
        self.cooldown = cooldown
        self.maxActionsPerHour = maxActionsPerHour
        self.globalMaxActionsPerHour = globalMaxActionsPerHour
        self.dryRun = dryRun
        self.verificationWindow = verificationWindow
        self.breaker = breaker
        self.lockTTL = lockTTL
        self.stopTimeout = stopTimeout
        self.protectedPatterns = protectedPatterns
        self.execAllowlist = execAllowlist
        self.allowedActions = allowedActions
        self.auditFile = auditFile
        self.concurrency = concurrency
        self.verificationInterval = verificationInterval
        self.historyLength = historyLength
    }
}

/// Bounds for retrying a failed notification.
public struct RetryConfiguration: Sendable, Hashable {
    /// Default 5.
    public var maxAttempts: Int
    /// Default 1 s, doubled after each failure.
    public var initialBackoff: Duration
    /// Default 60 s.
    public var maxBackoff: Duration

    public init(maxAttempts: Int = 5, initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(60)) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }
}

/// Notifications and the event log.
public struct AlertConfiguration: Sendable, Hashable {
    public var slackWebhookURL: Secret?
    /// A URL that receives each event as JSON (POST).
    public var webhookURL: Secret?
    /// Events for one container within this time go out as one notification; default 60 s.
    public var groupingWindow: Duration
    /// Escalations and health alerts below this severity are not sent; default `warning`.
    public var minimumSeverity: Severity
    /// Event types sent to Slack.
    public var slackEvents: [Channel]
    /// Event types sent to the webhook.
    public var webhookEvents: [Channel]
    public var retry: RetryConfiguration
    /// Entries kept per `hemostat:events:<type>` list, default 1000.
    public var eventLogSize: Int
    /// Lifetime of the event lists, default 86400 s.
    public var eventLogTTL: Duration
    /// Also read `hemostat:health_alert` (into the event log and to sinks that list it). Default true.
    public var includeHealthAlerts: Bool
    /// The dashboard's public URL, for links in notifications.
    public var dashboardURL: String?

    public static let defaultSlackEvents: [Channel] = [.remediationComplete, .falseAlarm, .escalation]
    public static let defaultWebhookEvents: [Channel] = [.remediationComplete, .falseAlarm, .escalation, .deadLetter]

    public init(
        slackWebhookURL: Secret? = nil, webhookURL: Secret? = nil, groupingWindow: Duration = .seconds(60),
        minimumSeverity: Severity = .warning, slackEvents: [Channel] = AlertConfiguration.defaultSlackEvents,
        webhookEvents: [Channel] = AlertConfiguration.defaultWebhookEvents, retry: RetryConfiguration = RetryConfiguration(),
        eventLogSize: Int = 1000, eventLogTTL: Duration = .seconds(86400), includeHealthAlerts: Bool = true, dashboardURL: String? = nil
    ) {
        self.slackWebhookURL = slackWebhookURL
        self.webhookURL = webhookURL
        self.groupingWindow = groupingWindow
        self.minimumSeverity = minimumSeverity
        self.slackEvents = slackEvents
        self.webhookEvents = webhookEvents
        self.retry = retry
        self.eventLogSize = eventLogSize
        self.eventLogTTL = eventLogTTL
        self.includeHealthAlerts = includeHealthAlerts
        self.dashboardURL = dashboardURL
    }
}

/// The web dashboard, `/metrics` and `/healthz`.
public struct DashboardSettings: Sendable, Hashable {
    /// Default `127.0.0.1`: reachable only from this machine.
    public var bindAddress: String
    /// Default 8080.
    public var port: Int
    /// When set, the dashboard asks for it (from `HEMOSTAT_DASHBOARD_TOKEN` only).
    public var accessToken: Secret?
    /// The port on which an agent run as a process of its own (`hemostat monitor`, `analyzer`,
    /// `responder`, `alert`) serves `/metrics` and `/healthz` on ``bindAddress``; 0 (the
    /// default) for none. `hemostat run` and `hemostat dashboard` serve them with the dashboard.
    public var metricsPort: Int = 0

    public init(bindAddress: String = "127.0.0.1", port: Int = 8080, accessToken: Secret? = nil) {
        self.bindAddress = bindAddress
        self.port = port
        self.accessToken = accessToken
    }
}
