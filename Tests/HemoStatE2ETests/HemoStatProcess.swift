import Foundation
import HemoStatTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The built `hemostat` binary running as a child process, its standard output and error in a
/// log file.
final class HemoStatProcess: Sendable {
    let name: String
    let arguments: [String]
    let logPath: String
    private let process: ChildProcess

    /// Starts `hemostat <arguments>` in `workingDirectory`, by default the package root (so
    /// `config/hemostat.yaml` and the `rules` directory are found), with exactly `environment`.
    init(
        name: String, arguments: [String], environment: [String: String], logDirectory: String,
        workingDirectory: String = HemoStatBinary.packageRoot
    ) throws {
        self.name = name
        self.arguments = arguments
        logPath = "\(logDirectory)/\(name)-\(UUID().uuidString.prefix(4).lowercased()).log"
        process = try ChildProcess(
            executable: try HemoStatBinary.path(), arguments: arguments, environment: environment, directory: workingDirectory,
            output: .file(logPath))
    }

    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.pid }

    /// Asks the process to stop (SIGTERM) and kills it when it has not exited within `grace`.
    /// Returns whether it stopped by itself.
    @discardableResult
    func stop(grace: Duration = .seconds(12)) async -> Bool {
        guard process.isRunning else { return true }
        process.send(SIGTERM)
        let exited = await process.waitForExit(within: grace)
        if !exited { await self.kill() }
        return exited
    }

    /// Sends `signal` and returns how long the process took to exit, or nil when it was still
    /// running after `limit` (it is then killed).
    func signalAndTime(_ signal: Int32 = SIGTERM, limit: Duration = .seconds(30)) async -> Duration? {
        let sent = ContinuousClock.now
        process.send(signal)
        return await timeExit(since: sent, limit: limit)
    }

    /// Sends `signal` without waiting.
    func send(_ signal: Int32) { process.send(signal) }

    /// How long after `since` the process exited, or nil when it was still running after
    /// `limit` (it is then killed).
    func timeExit(since: ContinuousClock.Instant, limit: Duration) async -> Duration? {
        guard await process.waitForExit(within: limit) else {
            await kill()
            return nil
        }
        return ContinuousClock.now - since
    }

    /// The exit status (128 + the signal when a signal ended it), once it has exited.
    var exitStatus: Int32? { process.exitStatus }

    /// SIGKILL, as in a crash; waits until the process is gone.
    func kill() async {
        await process.kill()
    }

    /// The last `lines` lines of what the process wrote.
    func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Everything the process wrote.
    func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
