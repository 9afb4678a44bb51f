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

/// Runs programs for tests without blocking Swift's cooperative threads.
public enum TestProcess {
    /// Runs `arguments` (looked up on PATH) to completion, waiting on a dispatch thread.
    /// `environment` entries are added to this process's environment.
    public static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        currentDirectory: String? = nil
    ) async throws -> ProcessOutput {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: try runBlocking(arguments, environment: environment, currentDirectory: currentDirectory))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
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

    static func runBlocking(_ arguments: [String], environment: [String: String], currentDirectory: String?) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return ProcessOutput(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }

    /// A fresh scratch directory under the system temporary directory.
    public static func temporaryDirectory(_ label: String = "t") throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent(TestEnvironment.uniquePrefix(label)).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
