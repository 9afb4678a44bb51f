import ArgumentParser
import Foundation
import HemoStatCore
import HemoStatModel
import HemoStatRules
import Logging

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check, test and try the Lua rules that decide what to do about an alert.",
        subcommands: [RulesLint.self, RulesTest.self, RulesEval.self]
    )
}

/// Options shared by the rules subcommands.
struct RulesOptions: ParsableArguments {
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a threshold of the `config` table.", valueName: "key=value"))
    var thresholds: [String] = []

    func configuration(directory: String) throws -> RulesConfiguration {
        var overrides: [String: Double] = [:]
        for item in thresholds {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]) else {
                throw ValidationError("--set expects key=number, got '\(item)'")
            }
            overrides[parts[0]] = value
        }
        return RulesConfiguration(directory: directory, thresholds: overrides)
    }

    /// Runs `body` with the configuration for `directory`; a ``RuleError`` it throws is printed
    /// to standard error and ends the command with exit code 1.
    func withConfiguration<T>(directory: String, _ body: (RulesConfiguration) throws -> T) throws -> T {
        do {
            return try body(configuration(directory: directory))
        } catch let error as RuleError {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

struct RulesLint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Report syntax and API errors in rule files as file:line: message (exit 1 on any)."
    )

    @Argument(help: "The rules directory (default: the one the analyzer would use, see `hemostat --version`).")
    var directory: String?
    @OptionGroup var options: RulesOptions

    func run() throws {
        let location = rulesLocation(directory)
        printError("rules: \(location)")
        let problems: [RuleError]
        switch location {
        case .directory(let path, _):
            problems = try options.withConfiguration(directory: path) { configuration in
                try RulesLinter.lint(directory: path, configuration: configuration)
            }
        case .builtIn:
            problems = try options.withConfiguration(directory: "") { configuration in
                RulesLinter.lint(sources: DefaultRules.sources, configuration: configuration)
            }
        }
        for problem in problems { print(problem) }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}

/// The rules a command works on: the directory given, else the one the analyzer would use
/// (``FileLocations``: `analyzer.rules_directory` or `HEMOSTAT_RULES_DIRECTORY`, `rules/`,
/// `/etc/hemostat/rules`, or the rules built in).
func rulesLocation(_ directory: String?) -> FileLocations.Rules {
    if let directory { return .directory(directory, .argument) }
    let report = try? HemoStatConfiguration.inspect(environment: ProcessInfo.processInfo.environment)
    return report?.configuration.analyzer.rulesLocation ?? FileLocations.rules(configured: nil)
}

struct RulesTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the rule test files in DIR/tests/*.yaml (exit 1 on any failure)."
    )

    @Argument(help: "The rules directory (default: the one the analyzer would use, see `hemostat --version`).")
    var directory: String?
    @OptionGroup var options: RulesOptions

    func run() throws {
        let location = rulesLocation(directory)
        printError("rules: \(location)")
        guard case .directory(let directory, _) = location else {
            printError("the default rules built in carry no test files; name a rules directory with its tests/")
            throw ExitCode(1)
        }
        let outcome = try options.withConfiguration(directory: directory) { configuration in
            try RuleTestRunner.run(directory: directory, configuration: configuration)
        }
        for error in outcome.loadErrors { print(error) }
        var failed = 0
        for result in outcome.results where !result.passed {
            failed += 1
            print("FAIL \(result.location): \(result.name)")
            for line in result.differences { print("    \(line)") }
            if let evaluation = result.evaluation, !evaluation.matches.isEmpty {
                print("    matched:")
                for verdict in evaluation.matches {
                    print("      \(verdict.rule) -> \(describe(verdict))")
                }
            }
        }
        let passed = outcome.results.count - failed
        print("\(passed) passed, \(failed) failed, \(outcome.results.count) cases")
        if failed > 0 || !outcome.loadErrors.isEmpty { throw ExitCode(1) }
    }
}

struct RulesEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate one alert (health_alert data or envelope, JSON) and explain the decision.",
        discussion: "Needs neither Redis nor Docker. The alert's `history` array holds the recent samples."
    )

    @Option(help: "The alert JSON file, or - for stdin.") var alert: String
    @Option(help: "The rules directory (default: the one the analyzer would use, see `hemostat --version`).")
    var rules: String?
    @Flag(help: "Print the evaluation as JSON.") var json = false
    @OptionGroup var options: RulesOptions

    func run() throws {
        let data: Data
        if alert == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: alert) else {
                printError("\(alert): cannot read alert file")
                throw ExitCode(1)
            }
            data = contents
        }
        let location = rulesLocation(rules)
        let ruleSet: RuleSet
        var value: JSONValue
        do {
            do {
                value = try JSONValue.parse(data)
            } catch {
                throw RuleError(code: .invalidInput, message: "not valid JSON: \(error.reason)")
            }
            let quiet = Logger(label: "hemostat.rules", factory: { _ in SwiftLogNoOpLogHandler() })
            switch location {
            case .directory(let path, _):
                ruleSet = try RuleSet(configuration: options.configuration(directory: path), logger: quiet)
            case .builtIn:
                ruleSet = RuleSet(sources: DefaultRules.sources, configuration: try options.configuration(directory: ""), logger: quiet)
            }
        } catch let error as RuleError {
            printError(alert == "-" ? "\(error)" : "\(alert): \(error)")
            throw ExitCode(1)
        }
        if value["event_type"] != nil, let inner = value["data"] { value = inner }
        let status = ruleSet.status
        for error in status.loadErrors { printError("\(error)") }
        let evaluation = ruleSet.evaluateSync(value)
        if json {
            print(evaluation.jsonValue.prettyText)
            return
        }
        print("\(status.rules.count) rules from \(location)\(status.loadErrors.isEmpty ? "" : ", \(status.loadErrors.count) load errors")")
        if evaluation.matches.isEmpty {
            print("no rule matched")
        } else {
            print("matched, in order:")
            for (i, verdict) in evaluation.matches.enumerated() {
                let mark = verdict == evaluation.decisive ? "  <- decisive" : ""
                print("  \(i + 1). \(verdict.rule) (\(verdict.location)): \(describe(verdict))\(mark)")
            }
        }
        if !evaluation.errors.isEmpty {
            print("errors (rules skipped):")
            for error in evaluation.errors { print("  \(error) [\(error.code.rawValue)]") }
        }
        if let decisive = evaluation.decisive {
            print("decision: \(describe(decisive)) by \(decisive.rule)")
        } else {
            print("decision: none (no rule had an opinion)")
        }
    }
}

func describe(_ verdict: RuleVerdict) -> String {
    var text: String
    switch verdict.kind {
    case .act: text = verdict.action.rawValue
    case .falseAlarm: text = "false_alarm"
    case .escalate: text = "escalate"
    case .ambiguous: text = "ambiguous"
    case .recheck: text = "recheck" + (verdict.after.map { String(format: " after %.0f s", $0) } ?? "")
    }
    text += String(format: " (confidence %.2f", verdict.confidence)
    if verdict.dryRun { text += ", dry-run" }
    if !verdict.parameters.isEmpty { text += ", params \(JSONValue.object(verdict.parameters).jsonText)" }
    text += "): \(verdict.reason)"
    if let fallback = verdict.fallback?.verdict {
        text += "; fallback \(describe(fallback))"
    }
    return text
}
