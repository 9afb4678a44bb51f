import ArgumentParser
import Foundation
import HemoStatCore

@main
struct HemoStatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hemostat",
        abstract: "Watches the containers on a Docker host and heals them safely.",
        version: versionText,
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

/// What `hemostat --version` prints: the version, and the configuration file and rules a
/// command started here would use (``FileLocations``).
let versionText: String = {
    var lines = ["hemostat \(HemoStatVersion.current)"]
    do {
        let report = try HemoStatConfiguration.inspect(environment: ProcessInfo.processInfo.environment)
        lines.append("configuration file: " + (report.file.map { "\($0) (\(report.fileReason))" } ?? "none: the defaults built in"))
        lines.append("rules: \(report.configuration.analyzer.rulesLocation)")
    } catch {
        let (path, reason) = FileLocations.configFile(option: nil, environment: ProcessInfo.processInfo.environment)
        lines.append("configuration file: \(path ?? "-") (\(reason)): not valid, see `hemostat config check`")
    }
    return lines.joined(separator: "\n")
}()
