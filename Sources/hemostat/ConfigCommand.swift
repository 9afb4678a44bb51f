import ArgumentParser
import Foundation
import HemoStatCore
import HemoStatModel

/// `hemostat config ...`: inspect the configuration.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect HemoStat's configuration.",
        subcommands: [ConfigCheckCommand.self]
    )
}

/// `hemostat config check`: load the configuration as the agents would and show it.
struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration and print every effective value with its source.",
        discussion: """
        Reads defaults, then the file, then the environment. Secrets are shown masked. \
        On problems, prints each as 'file:line: problem' to standard error and exits 1.
        """
    )

    @Option(name: .long, help: configFileHelp)
    var config: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        do {
            let report = try HemoStatConfiguration.inspect(file: config, environment: ProcessInfo.processInfo.environment)
            print(json ? report.json.jsonText : report.text)
        } catch {
            for problem in error.problems {
                FileHandle.standardError.write(Data((problem.description + "\n").utf8))
            }
            if json {
                let problems = error.problems.map { JSONValue.string($0.description) }
                print(JSONValue.object(["valid": false, "problems": .array(problems)]).jsonText)
            }
            throw ExitCode(1)
        }
    }
}
