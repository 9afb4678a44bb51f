import Foundation

/// What a finished child process left behind.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var succeeded: Bool { status == 0 }
}

/// A child process that failed.
public struct ProcessError: Error, CustomStringConvertible {
    public var command: String
    public var output: ProcessOutput
    public var description: String {
        "\(command) exited with \(output.status): \(output.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

/// Runs programs for tests to completion.
public enum TestProcess {
    /// Runs `arguments` (looked up on PATH) to completion and returns what it wrote.
    /// `environment` entries are added to this process's environment. Its output goes to files,
    /// read once it has exited, so a program it started that outlives it holds nothing up.
    public static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        currentDirectory: String? = nil
    ) async throws -> ProcessOutput {
        try await run(
            executable: "/usr/bin/env", arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            currentDirectory: currentDirectory)
    }

    /// Runs `executable` with exactly `environment` to completion and returns what it wrote.
    public static func run(
        executable: String, _ arguments: [String], environment: [String: String], currentDirectory: String? = nil
    ) async throws -> ProcessOutput {
        let directory = try temporaryDirectory("run")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (out, err) = (directory + "/stdout", directory + "/stderr")
        let child = try ChildProcess(
            executable: executable, arguments: arguments, environment: environment,
            directory: currentDirectory, output: .file(out), standardError: .file(err))
        while child.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        return ProcessOutput(
            status: child.exitStatus ?? -1,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// Like ``run(_:environment:currentDirectory:)`` but throws ``ProcessError`` on a non-zero exit.
    @discardableResult
    public static func check(
        _ arguments: [String],
        environment: [String: String] = [:],
        currentDirectory: String? = nil
    ) async throws -> ProcessOutput {
        let output = try await run(arguments, environment: environment, currentDirectory: currentDirectory)
        guard output.succeeded else {
            throw ProcessError(command: arguments.prefix(3).joined(separator: " "), output: output)
        }
        return output
    }

    /// A fresh scratch directory under the system temporary directory.
    public static func temporaryDirectory(_ label: String = "t") throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent(TestEnvironment.uniquePrefix(label)).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
