import ArgumentParser
import Foundation
import HemoStatResponder
import Logging
import ServiceLifecycle

/// `hemostat responder`: run the responder agent until SIGTERM or SIGINT.
struct ResponderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "responder",
        abstract: "Run the responder: act on remediation requests behind the safety gate.",
        discussion: """
        Reads hemostat:remediation_needed (consumer group 'responder'), asks the safety gate, \
        acts through the Docker engine, verifies, and publishes hemostat:remediation_complete. \
        With --dry-run (or RESPONDER_DRY_RUN=true) it evaluates everything and touches nothing.
        """
    )

    @Option(name: .long, help: configFileHelp)
    var config: String?

    @Flag(name: .long, help: "Evaluate the gate in its dry-run namespace and never change a container.")
    var dryRun = false

    func run() async throws {
        let environment = try CommandEnvironment(configFile: config, label: "hemostat.responder", bootstrapLogging: true)
        let context = environment.context
        let metrics = agentMetrics(environment.configuration, logger: context.logger)
        let engine = try makeRemediationEngine(configuration: environment.configuration, logger: context.logger)
        let responder = ResponderService(context: context, engine: engine, dryRun: dryRun ? true : nil)
        try await ProcessLifecycle.run(
            [
                NamedService(name: "responder", service: responder),
                NamedService(name: "responder heartbeat", service: responder.heartbeat()),
            ] + metrics,
            timeout: environment.configuration.shutdownTimeout, logger: context.logger, afterwards: { context.redis.close() })
    }
}
