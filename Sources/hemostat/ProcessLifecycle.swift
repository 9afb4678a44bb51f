import Foundation
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One long-running part of a process, named in the shutdown's log lines.
struct NamedService: Sendable {
    var name: String
    var service: any Service
}

/// How a command's services run and stop.
///
/// - The services start together. SIGTERM or SIGINT asks all of them at once to shut down
///   gracefully: each stops taking new work and finishes or hands back what it holds.
/// - When they have not all returned within `timeout`, the ones still running are logged by
///   name and cancelled; if the process is still there 2 s later it exits with status 1. A
///   shutdown that went past its bound ends with status 1 also when the cancellation then
///   succeeded: what was cut short was not finished.
/// - A second signal exits at once (status 128 + the signal).
/// - A service that returns (or throws) while no shutdown was asked for stops the others.
///
/// Signals are taken by a thread of its own through a self-pipe, so neither a busy task pool
/// nor a signal mask inherited from the parent (a signal blocked there stays blocked in
/// every thread made before it is unblocked) keeps them from being seen.
enum ProcessLifecycle {
    /// Time cancellation gets after the graceful bound before the process exits anyway.
    static let cancellationGrace: Duration = .seconds(2)

    /// Runs `services` until they return; after a signal, `afterwards` (closing clients, stopping
    /// a private Redis) is part of the bounded shutdown. `onForcedExit` runs, synchronously, just
    /// before the process exits without finishing.
    static func run(
        _ services: [NamedService], timeout: Duration, logger: Logger,
        afterwards: @Sendable () async -> Void = {},
        onForcedExit: @escaping @Sendable () -> Void = {}
    ) async throws {
        let running = RunningParts()
        let composite = AllAtOnce(services: services, running: running, logger: logger)
        var configuration = ServiceGroupConfiguration(services: [.init(service: composite)], logger: logger)
        configuration.maximumGracefulShutdownDuration = timeout
        let group = ServiceGroup(configuration: configuration)
        let watcher = SignalWatcher(timeout: timeout, running: running, logger: logger, onForcedExit: onForcedExit) {
            Task { await group.triggerGracefulShutdown() }
        }
        watcher.start()
        defer { watcher.finished() }
        do {
            try await group.run()
        } catch {
            await afterwards()
            throw error
        }
        await afterwards()
        if watcher.exceededBound { throw ShutdownExceeded() }
    }
}

/// The shutdown went past its bound and what was still running was cancelled.
struct ShutdownExceeded: Error, CustomStringConvertible {
    var description: String { "shutdown exceeded its bound; work still running was cancelled" }
}

/// The names of the services still running, in start order.
final class RunningParts: Sendable {
    private let names = Mutex<[String]>([])

    func started(_ name: String) { names.withLock { $0.append(name) } }
    func finished(_ name: String) {
        names.withLock { names in
            if let index = names.firstIndex(of: name) { names.remove(at: index) }
        }
    }
    var current: [String] { names.withLock { $0 } }
}

/// The process's services as one, so a graceful shutdown reaches all of them at the same time
/// (a `ServiceGroup` tells its services one after another, each after the previous returned).
struct AllAtOnce: Service {
    let services: [NamedService]
    let running: RunningParts
    let logger: Logger

    struct Stopped: Error, CustomStringConvertible {
        var name: String
        var description: String { "\(name) stopped by itself" }
    }

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for part in services {
                running.started(part.name)
                group.addTask {
                    defer { running.finished(part.name) }
                    do {
                        try await part.service.run()
                    } catch is CancellationError {
                        return
                    } catch {
                        logger.error("\(part.name) failed", metadata: ["error": "\(error)"])
                        throw error
                    }
                    if !Task.isShuttingDownGracefully && !Task.isCancelled {
                        logger.error("\(part.name) stopped while nothing asked it to; stopping the rest")
                        throw Stopped(name: part.name)
                    }
                    logger.debug("\(part.name) stopped")
                }
            }
        }
    }
}

/// Waits for SIGTERM and SIGINT on a thread of its own, and keeps the shutdown's bound.
final class SignalWatcher: Sendable {
    private let timeout: Duration
    private let running: RunningParts
    private let logger: Logger
    private let onForcedExit: @Sendable () -> Void
    private let onFirstSignal: @Sendable () -> Void
    private let pipe: (read: Int32, write: Int32)
    private let done = Mutex(false)
    private let exceeded = Mutex(false)

    init(
        timeout: Duration, running: RunningParts, logger: Logger, onForcedExit: @escaping @Sendable () -> Void,
        onFirstSignal: @escaping @Sendable () -> Void
    ) {
        self.timeout = timeout
        self.running = running
        self.logger = logger
        self.onForcedExit = onForcedExit
        self.onFirstSignal = onFirstSignal
        var fds: [Int32] = [-1, -1]
        if Glibc.pipe(&fds) != 0 { fatalError("pipe() failed: \(errno)") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        pipe = (fds[0], fds[1])
    }

    func start() {
        SignalPipe.install(writeEnd: pipe.write)
        let thread = Thread { [self] in self.watch() }
        thread.name = "hemostat-signals"
        thread.start()
    }

    /// The services returned: a watchdog still armed stops counting (the process is exiting on
    /// its own).
    func finished() { done.withLock { $0 = true } }

    /// Whether the bound passed and the parts still running were cancelled.
    var exceededBound: Bool { exceeded.withLock { $0 } }

    private func watch() {
        SignalPipe.unblock()
        var firstSignal: Int32?
        var deadline: ContinuousClock.Instant?
        var cancelled = false
        while true {
            var timeoutMs: Int32 = -1
            if let deadline {
                let left = deadline - .now
                timeoutMs = left <= .zero ? 0 : Int32(clamping: left.milliseconds + 1)
            }
            var descriptor = pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, timeoutMs)
            if ready < 0 { continue }  // EINTR: a signal arrived while waiting; the pipe has it
            if ready > 0 {
                var byte: UInt8 = 0
                guard read(pipe.read, &byte, 1) == 1 else { continue }
                let signal = Int32(byte)
                if firstSignal == nil {
                    firstSignal = signal
                    deadline = .now + timeout
                    logger.notice("\(SignalPipe.name(signal)): stopping; work in hand finishes or is handed back", metadata: [
                        "shutdown.timeout_s": "\(timeout.seconds)",
                    ])
                    onFirstSignal()
                } else {
                    logger.warning("\(SignalPipe.name(signal)) again: exiting now", metadata: ["still_running": "\(running.current)"])
                    forcedExit(status: 128 + signal)
                }
                continue
            }
            // The deadline passed.
            if done.withLock({ $0 }) { return }
            if !cancelled {
                cancelled = true
                exceeded.withLock { $0 = true }
                logger.error("shutdown exceeded \(timeout.seconds) s; cancelling what is still running", metadata: [
                    "still_running": "\(running.current)",
                ])
                deadline = .now + ProcessLifecycle.cancellationGrace
            } else {
                logger.error("still running after cancellation; exiting", metadata: ["still_running": "\(running.current)"])
                forcedExit(status: 1)
            }
        }
    }

    private func forcedExit(status: Int32) -> Never {
        onForcedExit()
        fflush(nil)
        _exit(status)
    }
}

/// The process-wide part of signal handling: a C handler that writes the signal's number to a
/// pipe, which is all a handler may safely do.
enum SignalPipe {
    static let signals: [Int32] = [SIGTERM, SIGINT]

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(signal)"
        }
    }

    static func install(writeEnd: Int32) {
        signalWriteEnd.store(writeEnd, ordering: .relaxed)
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                let fd = signalWriteEnd.load(ordering: .relaxed)
                if fd >= 0 { _ = write(fd, &byte, 1) }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        unblock()
    }

    /// Unblocks the signals in the calling thread: a parent that handles them through dispatch
    /// may have passed them on blocked.
    static func unblock() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

private let signalWriteEnd = Atomic<Int32>(-1)

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    fileprivate var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
