import Foundation
@testable import HemoStatCore
@testable import HemoStatModel
import HemoStatTestSupport
import Testing

/// The package root, found from this source file.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func problems(yaml: String, environment: [String: String] = [:]) -> [String] {
    do {
        _ = try HemoStatConfiguration.inspect(yaml: yaml, path: "test.yaml", environment: environment)
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

@Suite struct ConfigurationTests {
    /// The defaults, with the rules a loaded configuration finds in the package root (where
    /// the tests run): `rules/` in the working directory.
    static var loadedDefaults: HemoStatConfiguration {
        var defaults = HemoStatConfiguration()
        defaults.analyzer.rulesLocation = .directory("rules", .workingDirectory)
        return defaults
    }

    @Test func defaults() throws {
        let configuration = try HemoStatConfiguration.inspect(yaml: nil, path: "", environment: [:]).configuration
        #expect(configuration == Self.loadedDefaults)
        #expect(configuration.monitor.pollInterval == .seconds(30))
        #expect(configuration.monitor.cpuThresholdPercent == 85)
        #expect(configuration.monitor.memoryThresholdPercent == 80)
        #expect(configuration.monitor.sustainedSamples == 3)
        #expect(configuration.responder.cooldown == .seconds(3600))
        #expect(configuration.responder.maxActionsPerHour == 3)
        #expect(configuration.responder.dryRun == false)
        #expect(configuration.responder.breaker.failureThreshold == 3)
        #expect(!configuration.responder.allowedActions.contains(.exec))
        #expect(configuration.responder.execAllowlist.isEmpty)
        #expect(configuration.docker.host == "unix:///var/run/docker.sock")
        #expect(configuration.redis.keyPrefix == "hemostat:")
        #expect(configuration.dashboard.bindAddress == "127.0.0.1")
        #expect(configuration.dashboard.port == 8080)
        #expect(configuration.analyzer.llm.provider == .none)
        #expect(configuration.analyzer.llm.apiKey == nil)
        #expect(!configuration.hostID.isEmpty)
    }

    @Test func shippedFileLoadsCleanlyAndEqualsDefaults() throws {
        let file = packageRoot.appendingPathComponent("config/hemostat.yaml").path
        let report = try HemoStatConfiguration.inspect(file: file, environment: [:])
        #expect(report.configuration == Self.loadedDefaults)
        #expect(report.file == file)
        // The file sets most keys explicitly.
        #expect(report.values.filter { if case .file = $0.source { true } else { false } }.count > 50)
    }

    @Test func everyKeyIsDocumented() throws {
        let shipped = try String(contentsOf: packageRoot.appendingPathComponent("config/hemostat.yaml"), encoding: .utf8)
        let docs = try String(contentsOf: packageRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for field in ConfigurationSchema.fields {
            let leaf = String(field.key.split(separator: ".").last!)
            #expect(shipped.contains(leaf + ":") || !field.fileAllowed, "\(field.key) missing from config/hemostat.yaml")
            #expect(docs.contains("`\(field.key)`"), "\(field.key) missing from docs/configuration.md")
            if let env = field.environment {
                #expect(docs.contains("`\(env)`"), "\(env) missing from docs/configuration.md")
                #expect(shipped.contains(env) || env.hasPrefix("HEMOSTAT_ANALYZER_RULE"), "\(env) missing from config/hemostat.yaml")
            }
        }
    }

    @Test func fileValues() throws {
        let yaml = """
        host_id: web-01
        log_level: debug
        redis:
          url: redis://:s3cret@redis.internal:6380/2
          command_timeout: 250ms
        monitor:
          poll_interval: 10
          cpu_threshold_percent: 90.5
          include: [web-*, api]
        analyzer:
          rule_thresholds: {cpu_critical: 95, restarts: 4}
          llm:
            provider: anthropic
            model: claude-sonnet-4-5
        responder:
          cooldown: 15m
          dry_run: true
          allowed_actions: [restart, exec]
          exec_allowlist: ["nginx -s reload"]
          breaker: {failure_threshold: 5, window: 2h, half_open_after: 1h}
        alert:
          slack_events: [escalation]
        """
        let report = try HemoStatConfiguration.inspect(yaml: yaml, path: "test.yaml", environment: [:])
        let c = report.configuration
        #expect(c.hostID == "web-01")
        #expect(c.logLevel == .debug)
        #expect(c.redis.host == "redis.internal")
        #expect(c.redis.port == 6380)
        #expect(c.redis.database == 2)
        #expect(c.redis.password?.reveal() == "s3cret")
        #expect(c.redis.commandTimeout == .milliseconds(250))
        #expect(c.monitor.pollInterval == .seconds(10))
        #expect(c.monitor.cpuThresholdPercent == 90.5)
        #expect(c.monitor.include == ["web-*", "api"])
        #expect(c.analyzer.ruleThresholds == ["cpu_critical": 95, "restarts": 4])
        #expect(c.analyzer.llm.provider == .anthropic)
        #expect(c.analyzer.llm.model == "claude-sonnet-4-5")
        #expect(c.responder.cooldown == .seconds(900))
        #expect(c.responder.dryRun)
        #expect(c.responder.allowedActions == [.restart, .exec])
        #expect(c.responder.execAllowlist == ["nginx -s reload"])
        #expect(c.responder.breaker == BreakerConfiguration(failureThreshold: 5, window: .seconds(7200), halfOpenAfter: .seconds(3600)))
        #expect(c.alert.slackEvents == [.escalation])
        let sources = Dictionary(uniqueKeysWithValues: report.values.map { ($0.key, $0.source) })
        #expect(sources["monitor.poll_interval"] == .file(path: "test.yaml", line: 7))
        #expect(sources["redis.port"] == .file(path: "test.yaml", line: 4))
        #expect(sources["monitor.memory_threshold_percent"] == .default)
    }

    @Test func environmentOverridesFile() throws {
        let yaml = """
        monitor:
          poll_interval: 10
          cpu_threshold_percent: 90
        responder:
          dry_run: false
        redis:
          host: file-host
        """
        let environment = [
            "AGENT_POLL_INTERVAL": "45", "THRESHOLD_MEMORY_PERCENT": "70", "RESPONDER_COOLDOWN_SECONDS": "120",
            "RESPONDER_MAX_RETRIES_PER_HOUR": "5", "RESPONDER_DRY_RUN": "true", "REDIS_HOST": "env-host", "REDIS_PORT": "6390",
            "DOCKER_HOST": "tcp://10.0.0.5:2375", "ANTHROPIC_API_KEY": "sk-ant-123", "HEMOSTAT_LLM_PROVIDER": "anthropic",
            "HEMOSTAT_MONITOR_EXCLUDE": "tmp-*, scratch", "THRESHOLD_CPU_PERCENT": "",
        ]
        let report = try HemoStatConfiguration.inspect(yaml: yaml, path: "test.yaml", environment: environment)
        let c = report.configuration
        #expect(c.monitor.pollInterval == .seconds(45))
        #expect(c.monitor.cpuThresholdPercent == 90, "an empty variable counts as unset")
        #expect(c.monitor.memoryThresholdPercent == 70)
        #expect(c.monitor.exclude == ["tmp-*", "scratch"])
        #expect(c.responder.cooldown == .seconds(120))
        #expect(c.responder.maxActionsPerHour == 5)
        #expect(c.responder.dryRun)
        #expect(c.redis.host == "env-host")
        #expect(c.redis.port == 6390)
        #expect(c.docker.host == "tcp://10.0.0.5:2375")
        #expect(c.analyzer.llm.apiKey?.reveal() == "sk-ant-123")
        let sources = Dictionary(uniqueKeysWithValues: report.values.map { ($0.key, $0.source) })
        #expect(sources["monitor.poll_interval"] == .environment("AGENT_POLL_INTERVAL"))
        #expect(sources["monitor.cpu_threshold_percent"] == .file(path: "test.yaml", line: 3))
    }

    @Test func redisURLThenParts() throws {
        let c = try HemoStatConfiguration.inspect(yaml: nil, path: "", environment: ["REDIS_URL": "redis://user:pa%40ss@cache:7000/3", "REDIS_DB": "5"]).configuration
        #expect(c.redis.host == "cache")
        #expect(c.redis.port == 7000)
        #expect(c.redis.username == "user")
        #expect(c.redis.password?.reveal() == "pa@ss")
        #expect(c.redis.database == 5)
        #expect(c.redis.displayURL == "redis://user:<masked>@cache:7000/5")
        let tls = problems(yaml: "redis:\n  url: rediss://x:1\n")
        #expect(tls.count == 1 && tls[0].hasPrefix("test.yaml:2: redis.url: ") && tls[0].contains("rediss:// (TLS) is not supported"))

        let unix = try HemoStatConfiguration.inspect(yaml: nil, path: "", environment: ["REDIS_URL": "unix:///run/redis.sock?db=2"]).configuration
        #expect(unix.redis.socketPath == "/run/redis.sock")
        #expect(unix.redis.clientConfiguration().endpoint == .unix(path: "/run/redis.sock"))
        #expect(unix.redis.displayURL == "unix:///run/redis.sock?db=2")
    }

    @Test func unknownKeyWithLineAndSuggestion() {
        let yaml = """
        monitor:
          poll_interval: 30

          cpu_treshold_percent: 70
        responder:
          poll_interval: 5
        dashbord:
          port: 1
        """
        #expect(problems(yaml: yaml) == [
            #"test.yaml:4: unknown key "monitor.cpu_treshold_percent"; did you mean "monitor.cpu_threshold_percent"?"#,
            #"test.yaml:6: unknown key "responder.poll_interval"; did you mean "monitor.poll_interval"?"#,
            #"test.yaml:7: unknown key "dashbord"; did you mean "dashboard"?"#,
        ])
    }

    @Test func wrongTypes() {
        #expect(problems(yaml: "monitor:\n  cpu_threshold_percent: high\n") == [
            #"test.yaml:2: monitor.cpu_threshold_percent: expected a number, found a string "high""#,
        ])
        #expect(problems(yaml: "monitor:\n  sustained_samples: \"3\"\n") == [
            #"test.yaml:2: monitor.sustained_samples: expected an integer, found a string "3""#,
        ])
        #expect(problems(yaml: "responder:\n  dry_run: maybe\n") == [
            #"test.yaml:2: responder.dry_run: expected true or false, found a string "maybe""#,
        ])
        #expect(problems(yaml: "monitor: 5\n") == ["test.yaml:1: monitor: expected a mapping, found the number 5"])
        #expect(problems(yaml: "monitor:\n  include: web-*\n") == [#"test.yaml:2: monitor.include: expected a list, found a string "web-*""#])
        #expect(problems(yaml: "responder:\n  allowed_actions: [restart, reboot]\n").first?.hasPrefix(
            #"test.yaml:2: responder.allowed_actions: item 2: unknown value "reboot"; expected one of restart"#) == true)
    }

    @Test func outOfRange() {
        #expect(problems(yaml: "monitor:\n  poll_interval: -5\n") == ["test.yaml:2: monitor.poll_interval: must not be negative, found -5s"])
        #expect(problems(yaml: "monitor:\n  memory_threshold_percent: 150\n") == [
            "test.yaml:2: monitor.memory_threshold_percent: must be between 0 and 100, found 150",
        ])
        #expect(problems(yaml: "dashboard:\n  port: 70000\n") == ["test.yaml:2: dashboard.port: must be between 1 and 65535, found 70000"])
        #expect(problems(yaml: "analyzer:\n  llm:\n    provider: openai_compatible\n") == [
            "test.yaml:3: analyzer.llm.provider: openai_compatible needs analyzer.llm.base_url (or HEMOSTAT_LLM_BASE_URL)",
        ])
    }

    @Test func allProblemsAtOnce() {
        let yaml = """
        log_level: loud
        monitor:
          poll_interval: 0
          sustained_samples: many
          sustained_samples: 4
        analyzer:
          llm:
            anthropic_api_key: sk-ant-secret
        """
        let found = problems(yaml: yaml, environment: ["THRESHOLD_CPU_PERCENT": "abc", "REDIS_PORT": "0"])
        #expect(found.count == 7, "\(found)")
        #expect(found.contains { $0.hasPrefix(#"test.yaml:1: log_level: unknown value "loud""#) })
        #expect(found.contains("test.yaml:3: monitor.poll_interval: must be between 1s and 86400s, found 0s"))
        #expect(found.contains { $0.hasPrefix("test.yaml:4: monitor.sustained_samples: expected an integer") })
        #expect(found.contains(#"test.yaml:5: duplicate key "monitor.sustained_samples" (first set on line 4)"#))
        #expect(found.contains { $0.hasPrefix("test.yaml:8: \"analyzer.llm.anthropic_api_key\" is read only from the environment; set ANTHROPIC_API_KEY") })
        #expect(found.contains(#"environment THRESHOLD_CPU_PERCENT: expected a number, found "abc" (sets monitor.cpu_threshold_percent)"#))
        #expect(!found.joined().contains("sk-ant-secret"))
        #expect(found.contains { $0.hasPrefix("environment REDIS_PORT: must be between 1 and 65535") })
    }

    @Test func yamlSyntaxErrorHasLine() {
        let found = problems(yaml: "monitor:\n  poll_interval: 30\n  include: [a, b\nresponder:\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("test.yaml:") == true)
        #expect(found.first?.contains("YAML syntax error") == true)
        #expect(problems(yaml: "- a\n- b\n") == ["test.yaml:1: expected a mapping of sections (redis:, monitor:, ...), found a list"])
        #expect(problems(yaml: "") == [])
    }

    @Test func secretsAreMasked() throws {
        let environment = [
            "ANTHROPIC_API_KEY": "sk-ant-api03-SECRETVALUE", "OPENAI_API_KEY": "sk-proj-SECRETVALUE",
            "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/SECRETVALUE", "REDIS_PASSWORD": "SECRETVALUE-redis",
            "HEMOSTAT_DASHBOARD_TOKEN": "SECRETVALUE-token", "HEMOSTAT_WEBHOOK_URL": "https://user:SECRETVALUE@example.com/hook",
            "REDIS_URL": "redis://:SECRETVALUE-url@cache:6379/0",
        ]
        let report = try HemoStatConfiguration.inspect(yaml: nil, path: "", environment: environment)
        let c = report.configuration
        #expect(c.alert.slackWebhookURL?.reveal() == "https://hooks.slack.com/services/T0/B0/SECRETVALUE")
        #expect(c.dashboard.accessToken?.reveal() == "SECRETVALUE-token")
        var dumped = ""
        dump(c, to: &dumped)
        for text in [report.text, report.json.jsonText, c.description, "\(c)", String(reflecting: c), dumped, c.redis.displayURL] {
            #expect(!text.contains("SECRETVALUE"), "\(text)")
        }
        #expect(report.text.contains("<set>"))
        // A bad secret in the environment is reported without its value.
        let bad = problems(yaml: "", environment: ["SLACK_WEBHOOK_URL": "not a url SECRETVALUE"])
        #expect(bad.count == 1)
        #expect(bad.first?.hasPrefix("environment SLACK_WEBHOOK_URL:") == true)
        #expect(bad.first?.contains("SECRETVALUE") == false)
        let badFile = problems(yaml: "alert:\n  webhook_url: [SECRETVALUE]\n")
        #expect(badFile == ["test.yaml:2: alert.webhook_url: expected a string, found a list"])
    }

    @Test func missingFileIsAnError() {
        #expect(throws: ConfigurationError.self) {
            try HemoStatConfiguration.load(file: "/nonexistent/hemostat.yaml", environment: [:])
        }
    }
}

@Suite struct ConfigCheckCommandTests {
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessOutput {
        try await TestProcess.run(
            executable: try HemoStatBinary.path(), arguments, environment: ["PATH": "/usr/bin:/bin"].merging(environment) { $1 },
            currentDirectory: HemoStatBinary.packageRoot)
    }

    @Test func validConfigurationExitsZero() async throws {
        let result = try await Self.run(["config", "check"], environment: ["THRESHOLD_CPU_PERCENT": "90", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/SECRETVALUE"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("config/hemostat.yaml"))
        #expect(result.stdout.contains("monitor.cpu_threshold_percent"))
        #expect(result.stdout.contains("env THRESHOLD_CPU_PERCENT"))
        #expect(result.stdout.contains("alert.slack_webhook_url"))
        #expect(!result.stdout.contains("SECRETVALUE"))

        let json = try await Self.run(["config", "check", "--json"])
        #expect(json.status == 0)
        guard case .object(let document) = try JSONValue.parse(json.stdout), case .array(let values)? = document["values"] else {
            Issue.record("not a JSON report: \(json.stdout)")
            return
        }
        #expect(values.count == ConfigurationSchema.fields.count)
    }

    @Test func problemsExitOneWithFileAndLine() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hemostat-check-\(UUID().uuidString).yaml")
        try "monitor:\n  poll_interval: 30\n  cpu_threshold_percent: 120\nresponder:\n  cooldwn: 60\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await Self.run(["config", "check", "--config", file.path])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines == [
            "\(file.path):3: monitor.cpu_threshold_percent: must be between 0 and 100, found 120",
            "\(file.path):5: unknown key \"responder.cooldwn\"; did you mean \"responder.cooldown\"?",
        ])
        #expect(result.stdout.isEmpty)

        let env = try await Self.run(["config", "check"], environment: ["AGENT_POLL_INTERVAL": "soon"])
        #expect(env.status == 1)
        #expect(env.stderr.hasPrefix("environment AGENT_POLL_INTERVAL: expected a duration"))
        #expect(!env.stderr.contains("Fatal error"))
    }
}
