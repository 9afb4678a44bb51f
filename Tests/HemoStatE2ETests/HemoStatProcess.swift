import Foundation
import HemoStatTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The built `hemostat` binary running as a child process, its standard output and error in a
/// log file.
final class HemoStatProcess: @unchecked Sendable {
    // @unchecked Sendable: every stored property is a `let`; `Process` is only started here and
    // then read (isRunning, processIdentifier), which Foundation allows from any thread.
    let name: String
    let arguments: [String]
    let logPath: String
    private let process: Process

    /// The package root: this file is `Tests/HemoStatE2ETests/HemoStatProcess.swift`.
    static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The debug binary `swift build --build-tests` leaves beside the test bundle, else in the
    /// package's `.build/debug`.
    static func binary() throws -> String {
        var candidates: [String] = []
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            candidates.append(URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent().appendingPathComponent("hemostat").path)
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("hemostat").path)
        candidates.append(packageRoot + "/.build/debug/hemostat")
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw TestEnvironmentError(message: "the hemostat binary was not found (tried \(candidates.joined(separator: ", "))); run `swift build --build-tests`")
    }

    /// Starts `hemostat <arguments>` in `workingDirectory`, by default the package root (so
    /// `config/hemostat.yaml` and the `rules` directory are found), with exactly `environment`.
    init(
        name: String, arguments: [String], environment: [String: String], logDirectory: String,
        workingDirectory: String = HemoStatProcess.packageRoot
    ) throws {
        self.name = name
        self.arguments = arguments
        logPath = "\(logDirectory)/\(name)-\(UUID().uuidString.prefix(4).lowercased()).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.binary())
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        self.process = process
    }

    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }

    /// Asks the process to stop (SIGTERM) and kills it when it has not exited within `grace`.
    /// Returns whether it stopped by itself.
    @discardableResult
    func stop(grace: Duration = .seconds(12)) async -> Bool {
        guard process.isRunning else { return true }
        Glibc.kill(process.processIdentifier, SIGTERM)
        let exited = await holds(within: grace) { !self.process.isRunning }
        if !exited { await self.kill() }
        return exited
    }

    /// Sends `signal` and returns how long the process took to exit, or nil when it was still
    /// running after `limit` (it is then killed).
    func signalAndTime(_ signal: Int32 = SIGTERM, limit: Duration = .seconds(30)) async -> Duration? {
        let sent = ContinuousClock.now
        Glibc.kill(process.processIdentifier, signal)
        return await timeExit(since: sent, limit: limit)
    }

    /// Sends `signal` without waiting.
    func send(_ signal: Int32) { Glibc.kill(process.processIdentifier, signal) }

    /// How long after `since` the process exited, or nil when it was still running after
    /// `limit` (it is then killed).
    func timeExit(since: ContinuousClock.Instant, limit: Duration) async -> Duration? {
        let exited = await holds(within: limit) { !self.process.isRunning }
        guard exited else {
            await kill()
            return nil
        }
        return ContinuousClock.now - since
    }

    /// The exit status, once it has exited.
    var exitStatus: Int32 { process.terminationStatus }

    /// SIGKILL, as in a crash; waits until the process is gone.
    func kill() async {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        _ = await holds(within: .seconds(10)) { !self.process.isRunning }
    }

    /// The last `lines` lines of what the process wrote.
    func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Everything the process wrote.
    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
