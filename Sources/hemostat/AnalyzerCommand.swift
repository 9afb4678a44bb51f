import ArgumentParser
import Foundation
import HemoStatAnalyzer
import HemoStatApp
import HemoStatCore
import HemoStatHTTP
import HemoStatRedis
import Logging
import ServiceLifecycle

/// `hemostat analyzer`: decides health alerts with the Lua rules (and the LLM for ambiguous
/// cases, when configured) until SIGTERM or SIGINT.
struct AnalyzerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyzer",
        abstract: "Decide health alerts with the Lua rules and publish remediation requests and false alarms.",
        discussion: """
        Reads hemostat:health_alert through the consumer group `analyzer` (run several for more \
        throughput) and publishes remediation_needed, false_alarm or escalation. Rules reload when \
        their files change. Stops gracefully on SIGTERM or SIGINT.
        """
    )

    @Option(name: .long, help: configFileHelp)
    var config: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: HemoStatConfiguration
        do {
            configuration = try HemoStatConfiguration.load(file: config, environment: environment)
        } catch {
            for problem in error.problems {
                FileHandle.standardError.write(Data((problem.description + "\n").utf8))
            }
            throw ExitCode(1)
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "hemostat.analyzer")
        let metrics = agentMetrics(configuration, logger: logger)
        let redis = RedisClient(configuration: configuration.redis.clientConfiguration(clientName: "hemostat-analyzer"), logger: logger)
        let context = AgentContext(configuration: configuration, redis: redis, logger: logger)
        let analyzer: AnalyzerService
        do {
            analyzer = try AnalyzerService(context: context, llmTransport: AnalyzerCommand.llmTransport(configuration, logger: logger))
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
        try await ProcessLifecycle.run(
            [
                NamedService(name: "analyzer", service: analyzer),
                NamedService(name: "analyzer heartbeat", service: AgentHeartbeat(agent: AnalyzerService.agent, context: context)),
            ] + metrics,
            timeout: configuration.shutdownTimeout, logger: logger, afterwards: { redis.close() })
    }

    /// The HTTPS transport for the LLM, only when a provider is configured.
    static func llmTransport(_ configuration: HemoStatConfiguration, logger: Logger) -> (any LLMTransport)? {
        let llm = configuration.analyzer.llm
        guard llm.provider != .none else { return nil }
        let client = HTTPClient(configuration: HTTPClientConfiguration(totalTimeout: llm.timeout, caFile: llm.caFile), logger: logger)
        return HTTPClientLLMTransport(client: client, caFile: llm.caFile)
    }
}
