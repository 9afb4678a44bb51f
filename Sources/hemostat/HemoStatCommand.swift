import ArgumentParser
import HemoStatCore

@main
struct HemoStatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hemostat",
        abstract: "Watches the containers on a Docker host and heals them safely.",
        version: HemoStatVersion.current,
        subcommands: [
            RunCommand.self,
            AlertCommand.self,
            ConfigCommand.self,
            RulesCommand.self,
            ResponderCommand.self,
            StatusCommand.self,
            BreakerCommand.self,
            HoldCommand.self,
            ReleaseCommand.self,
            DashboardCommand.self,
            AnalyzerCommand.self,
        ]
    )
}
