import ArgumentParser
import HemoStatAlert
import HemoStatApp
import HemoStatCore
import HemoStatHTTP
import ServiceLifecycle

/// `hemostat alert`: run the alert agent alone.
struct AlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Run the alert agent: the event log, Slack and webhook notifications.",
        discussion: """
            Reads remediation_complete, false_alarm, escalation, container_recovered, the \
            dead-letter stream and (alert.include_health_alerts) health_alert through the consumer \
            group 'alert'. Slack needs SLACK_WEBHOOK_URL, the generic webhook HEMOSTAT_WEBHOOK_URL.
            """
    )

    @Option(name: .long, help: configFileHelp)
    var config: String?

    func run() async throws {
        let environment = try CommandEnvironment(configFile: config, label: "hemostat.alert", bootstrapLogging: true)
        let context = environment.context
        let metrics = agentMetrics(environment.configuration, logger: context.logger)
        let http = HTTPClient(logger: context.logger)
        defer { http.shutdown() }
        let alert = AlertService(context: context, transport: HTTPNotificationTransport(client: http))
        try await ProcessLifecycle.run(
            [
                NamedService(name: "alert", service: alert),
                NamedService(name: "alert heartbeat", service: AgentHeartbeat(agent: AlertService.agentName, context: context)),
            ] + metrics,
            timeout: environment.configuration.shutdownTimeout, logger: context.logger, afterwards: { context.redis.close() })
    }
}
