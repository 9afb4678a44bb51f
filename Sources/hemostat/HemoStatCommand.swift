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
            MonitorCommand.self,
            AnalyzerCommand.self,
            ResponderCommand.self,
            AlertCommand.self,
            DashboardCommand.self,
            StatusCommand.self,
            HoldCommand.self,
            ReleaseCommand.self,
            BreakerCommand.self,
            RulesCommand.self,
            ConfigCommand.self,
        ]
    )
}
