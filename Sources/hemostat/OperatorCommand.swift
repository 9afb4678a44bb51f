import ArgumentParser
import Foundation
import HemoStatCore
import HemoStatModel
import HemoStatResponder

/// `hemostat status`: the safety gate's view of every container.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show per container: cooldown, actions this hour, breaker, hold, last action and result, and what a sick container waits for."
    )

    @Option(name: .long, help: configFileHelp)
    var config: String?

    @Flag(name: .long, help: "Print JSON (an array, one object per container).")
    var json = false

    @Flag(name: .long, help: "Show the dry-run gate's simulated state instead of the live one.")
    var dryRun = false

    func run() async throws {
        let reports = try await withOperatorCommands(config: config, command: "hemostat status") { commands in
            try await commands.status(dryRun: dryRun)
        }
        if json {
            print(JSONValue.array(reports.map(\.json)).jsonText)
        } else {
            print(Self.table(reports, now: Date()))
        }
    }

    static func table(_ reports: [ContainerStatusReport], now: Date) -> String {
        if reports.isEmpty { return "no containers known yet" }
        var rows = [["HOST/CONTAINER", "BREAKER", "COOLDOWN", "ACTIONS/H", "HOLD", "LAST ACTION", "LAST REPORT"]]
        for r in reports {
            let breaker = r.breakerState == .closed ? "closed" : "\(r.breakerState.rawValue) (\(r.breakerFailures) failures)"
            let cooldown = r.cooldownRemainingSeconds > 0 ? Self.render(seconds: r.cooldownRemainingSeconds) : "-"
            var hold = "-"
            if let until = r.heldUntil {
                hold = "\(Self.render(seconds: Int(until.timeIntervalSince(now).rounded(.up)))) by \(r.heldBy ?? "?")"
            }
            var last = "-"
            if let action = r.lastAction {
                last = "\(action): \(r.inFlight ? "in progress" : (r.lastResult ?? "?"))"
                if let at = r.lastActionAt { last += " \(Self.render(seconds: Int(now.timeIntervalSince(at)))) ago" }
            }
            rows.append([r.container.description, breaker, cooldown, String(r.actionsThisHour), hold, last, r.lastReport ?? "-"])
        }
        let waiting = reports.compactMap { r in r.waiting.map { "  \(r.container): \($0)" } }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        let table = rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
        return waiting.isEmpty ? table : table + "\n\nnot acted on now:\n" + waiting.joined(separator: "\n")
    }

    static func render(seconds: Int) -> String {
        let s = max(0, seconds)
        if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}

/// `hemostat breaker reset CONTAINER`.
struct BreakerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaker",
        abstract: "Operate a container's circuit breaker.",
        subcommands: [BreakerResetCommand.self]
    )
}

struct BreakerResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Close a container's breaker after a person fixed the cause (written to the audit stream)."
    )

    @OptionGroup var target: OperatorTarget

    func run() async throws {
        let who = operatorIdentity()
        let container = try await target.run("hemostat breaker reset") { commands, container in
            try await commands.resetBreaker(container: container, who: who)
        }
        print("breaker of \(container) closed (by \(who))")
    }
}

/// `hemostat hold CONTAINER --for DURATION [--reason TEXT]`.
struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold",
        abstract: "Put a container on hold: no action on it until the hold ends (written to the audit stream)."
    )

    @OptionGroup var target: OperatorTarget

    @Option(name: .customLong("for"), help: "How long: 90s, 30m, 2h, 1d.")
    var duration: String

    @Option(name: .long, help: "Why (shown in status and the audit stream).")
    var reason: String = ""

    func validate() throws {
        guard parseDuration(duration) != nil else {
            throw ValidationError("--for: expected a duration such as 90s, 30m, 2h or 1d, found \"\(duration)\"")
        }
    }

    func run() async throws {
        let who = operatorIdentity()
        let (container, until) = try await target.run("hemostat hold") { commands, container in
            try await commands.hold(container: container, for: parseDuration(duration)!, reason: reason, who: who)
        }
        print("\(container) held until \(Timestamp.format(until)) (by \(who))")
    }
}

/// `hemostat release CONTAINER`.
struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "End a container's hold (written to the audit stream)."
    )

    @OptionGroup var target: OperatorTarget

    func run() async throws {
        let who = operatorIdentity()
        let container = try await target.run("hemostat release") { commands, container in
            try await commands.release(container: container, who: who)
        }
        print("hold on \(container) released (by \(who))")
    }
}

/// The configuration file and the container an operator command acts on.
struct OperatorTarget: ParsableArguments {
    @Option(name: .long, help: configFileHelp)
    var config: String?

    @Argument(help: "The container: HOST/NAME, or a NAME that only one host has.")
    var container: String

    /// Resolves the container to its host and name, then runs `body` on it; returns the
    /// container with what `body` returned.
    func run<T>(_ command: String, _ body: (OperatorCommands, ContainerRef) async throws -> T) async throws -> (ContainerRef, T) {
        try await withOperatorCommands(config: config, command: command) { commands in
            let resolved = try await commands.resolve(container)
            return (resolved, try await body(commands, resolved))
        }
    }

    /// The same for a `body` that returns nothing: the resolved container.
    func run(_ command: String, _ body: (OperatorCommands, ContainerRef) async throws -> Void) async throws -> ContainerRef {
        let (resolved, _) = try await run(command) { commands, container -> Void in try await body(commands, container) }
        return resolved
    }
}

/// Loads the configuration from `config`, then runs `body` with the operator commands over it.
/// A failure of `body` is printed to standard error as `command: error` and ends the process
/// with exit code 1; a configuration that does not load ends it as ``CommandEnvironment`` does.
private func withOperatorCommands<T>(
    config: String?, command: String, _ body: (OperatorCommands) async throws -> T
) async throws -> T {
    let environment = try CommandEnvironment(configFile: config, label: "hemostat.cli", bootstrapLogging: false)
    do {
        return try await body(OperatorCommands(context: environment.context))
    } catch {
        printError("\(command): \(error)")
        throw ExitCode(1)
    }
}
