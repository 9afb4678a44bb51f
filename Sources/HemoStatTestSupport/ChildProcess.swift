import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A program a test starts: Redis, a Python server, the `docker` CLI, the `hemostat` binary.
///
/// Started with `posix_spawn`, in a process group of its own, with the default disposition of
/// the usual stop signals and none blocked. It inherits no descriptor but its standard input
/// (`/dev/null`), output and error (`/dev/null` or a file), and its exit is read with `waitpid`.
///
/// Foundation's `Process` on Linux is not used here: it learns of a child's exit when a socket
/// the child inherited closes, and a program started at the same moment from another test's
/// thread can inherit that socket too; the exit is then not seen while the other program runs
/// (swift-corelibs-foundation#4795).
public final class ChildProcess: Sendable {
    /// Where standard output or error goes.
    public enum Destination: Sendable, Hashable {
        case null
        /// The file, created when missing and appended to.
        case file(String)
    }

    public let pid: Int32
    /// How it ended, once `waitpid` has reaped it: the exit code, or 128 + the signal's number.
    private let ended = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments`. `environment` nil passes this process's own;
    /// `standardError` nil sends it where standard output goes.
    public init(
        executable: String, arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        output: Destination = .null, standardError: Destination? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        try Self.check(posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0), "stdin")
        func open(_ destination: Destination, as fd: Int32) throws {
            switch destination {
            case .null: try Self.check(posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0), "/dev/null")
            case .file(let path): try Self.check(posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644), path)
            }
        }
        try open(output, as: 1)
        if let standardError { try open(standardError, as: 2) } else { try Self.check(posix_spawn_file_actions_adddup2(&actions, 1, 2), "stderr") }
        if let directory {
            guard let chdir = SpawnExtensions.addChdir else { throw ChildProcessError(message: "posix_spawn cannot change directory here") }
            try Self.check(chdir(&actions, directory), directory)
        }
        if let closeFrom = SpawnExtensions.addCloseFrom { try Self.check(closeFrom(&actions, 3), "closefrom") }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let variables = environment ?? ProcessInfo.processInfo.environment
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw ChildProcessError(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// Runs a program found on PATH (through `/usr/bin/env`).
    public convenience init(
        command: [String], environment: [String: String]? = nil, directory: String? = nil,
        output: Destination = .null, standardError: Destination? = nil
    ) throws {
        try self.init(
            executable: "/usr/bin/env", arguments: command, environment: environment, directory: directory,
            output: output, standardError: standardError)
    }

    /// Whether it has not exited yet (reaps it when it has).
    public var isRunning: Bool { exitStatus == nil }

    /// The exit code, or 128 + the signal that ended it; nil while it runs.
    public var exitStatus: Int32? {
        ended.withLock { ended in
            if ended == nil {
                var status: Int32 = 0
                var result: pid_t
                repeat { result = waitpid(pid, &status, WNOHANG) } while result == -1 && errno == EINTR
                if result == pid { ended = Self.decode(status) }
            }
            return ended
        }
    }

    /// Sends `signal` to the process (not its group), unless it has already exited.
    public func send(_ signal: Int32) {
        ended.withLock { ended in
            // While the lock is held it cannot be reaped, so the pid is not another process's.
            if ended == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// Waits up to `timeout` for it to exit; returns whether it did.
    @discardableResult
    public func waitForExit(within timeout: Duration) async -> Bool {
        await holds(within: timeout) { !self.isRunning }
    }

    /// Blocks the calling thread until it exits, and returns ``exitStatus``. For a thread of
    /// its own or a dispatch queue, never a task of the cooperative pool.
    public func waitUntilExit() -> Int32 {
        if let status = exitStatus { return status }
        var info = siginfo_t()
        // Waits without reaping, so `exitStatus` stays the one place that reaps.
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        return exitStatus ?? -1
    }

    /// SIGKILL, then waits (at most `timeout`) until it is gone.
    public func kill(within timeout: Duration = .seconds(10)) async {
        send(SIGKILL)
        await waitForExit(within: timeout)
    }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private static func check(_ result: Int32, _ what: String) throws {
        guard result == 0 else { throw ChildProcessError(message: "posix_spawn setup (\(what)): \(String(cString: strerror(result)))") }
    }
}

/// A program could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// glibc's `posix_spawn` file actions that Swift's Glibc module does not declare (they need
/// `_GNU_SOURCE`): looked up by name once.
private enum SpawnExtensions {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34).
    static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddCloseFrom.self) }
    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29).
    static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }
}
