import ArgumentParser
import HemoStatCore

@main
struct HemoStatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hemostat",
        abstract: "Watches the containers on a Docker host and heals them safely.",
        version: HemoStatVersion.current,
        subcommands: [
            ConfigCommand.self,
            RulesCommand.self,
            MonitorCommand.self,
        ]
    )
}
