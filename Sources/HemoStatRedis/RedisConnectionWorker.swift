import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dedicated thread that owns one ``RedisConnection`` and runs jobs on it one at a time, in
/// submission order. hiredis' blocking calls therefore never run on Swift's cooperative pool.
///
/// `@unchecked Sendable`: the job queue and `stopped` are guarded by `condition`; `connection`
/// and `backoff` are touched only on the worker thread (inside `run()` and the jobs it runs).
final class RedisConnectionWorker: @unchecked Sendable {
    private let configuration: RedisConfiguration
    private let logger: Logger
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopped = false

    // Worker-thread state.
    private var connection: RedisConnection?
    private var backoff: ReconnectBackoff
    private var lastConnectError: RedisError?

    init(configuration: RedisConfiguration, logger: Logger, name: String) {
        self.configuration = configuration
        self.logger = logger
        self.backoff = ReconnectBackoff(
            initial: configuration.initialReconnectBackoff,
            maximum: configuration.maximumReconnectBackoff
        )
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.start()
    }

    /// Stops accepting jobs; queued jobs still run, then the connection is closed and the
    /// thread exits.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on the worker thread with a connected ``RedisConnection``, connecting (or
    /// reconnecting, subject to backoff) first.
    ///
    /// `timeout` overrides the socket timeout for this call. An error other than a server
    /// error reply drops the connection; the next call reconnects. Cancelling the calling task
    /// interrupts a blocked read by shutting the socket down.
    func perform<T: Sendable>(
        timeout: Duration?,
        _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        let control = JobControl()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let accepted = enqueue {
                    continuation.resume(with: Result(catching: { try self.execute(control: control, timeout: timeout, body) }))
                }
                if !accepted {
                    continuation.resume(throwing: RedisError(code: .closed, message: "the Redis client is closed"))
                }
            }
        } onCancel: {
            control.cancel()
        }
    }

    private func enqueue(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if stopped { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    private func run() {
        Self.blockSIGPIPE()
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && stopped {
                condition.unlock()
                break
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job() }
        }
        connection = nil
    }

    /// Worker thread only.
    private func execute<T>(
        control: JobControl,
        timeout: Duration?,
        _ body: (RedisConnection) throws -> T
    ) throws -> T {
        if control.isCancelled { throw CancellationError() }
        let connection = try connected()
        do {
            try connection.setSocketTimeout(timeout ?? configuration.commandTimeout)
            guard control.attach(fileDescriptor: connection.fileDescriptor) else { throw CancellationError() }
            let result: T
            do {
                result = try body(connection)
            } catch {
                _ = control.detach()
                throw error
            }
            // A cancellation that came as the call finished has shut the socket down: the
            // connection is not used again (its next write would fail with EPIPE).
            if control.detach() || connection.isBroken { drop(connection, reason: nil) }
            return result
        } catch {
            // A cancelled call may have shut the socket down, whatever the error says.
            if connection.isBroken || !(error is RedisError) || control.isCancelled {
                drop(connection, reason: error as? RedisError)
            }
            if control.isCancelled { throw CancellationError() }
            throw error
        }
    }

    /// The open connection, or a new one. Fails fast while inside the reconnect backoff.
    private func connected() throws -> RedisConnection {
        if let connection, !connection.isBroken { return connection }
        connection = nil
        let now = ContinuousClock.now
        if let wait = backoff.waitRemaining(at: now) {
            let reason = lastConnectError.map { " (last error: \($0.message))" } ?? ""
            throw RedisError(
                code: .connectionFailed,
                message: "not connected to \(configuration.endpoint); next reconnect attempt in \(Self.format(wait))\(reason)"
            )
        }
        do {
            let fresh = try RedisConnection(configuration: configuration)
            if backoff.consecutiveFailures > 0 {
                logger.info("Reconnected to Redis", metadata: [
                    "redis.endpoint": "\(configuration.endpoint)",
                    "redis.failed_attempts": "\(backoff.consecutiveFailures)",
                ])
            }
            backoff.recordSuccess()
            lastConnectError = nil
            connection = fresh
            return fresh
        } catch let error as RedisError {
            backoff.recordFailure(at: ContinuousClock.now)
            lastConnectError = error
            logger.warning("Cannot connect to Redis", metadata: [
                "redis.endpoint": "\(configuration.endpoint)",
                "redis.error": "\(error.message)",
                "redis.retry_in": "\(Self.format(backoff.currentDelay))",
            ])
            throw error
        }
    }

    private func drop(_ dead: RedisConnection, reason: RedisError?) {
        if connection === dead { connection = nil }
        logger.debug("Dropped Redis connection", metadata: [
            "redis.endpoint": "\(configuration.endpoint)",
            "redis.error": "\(reason?.message ?? "connection broken")",
        ])
    }

    static func format(_ duration: Duration) -> String {
        let ms = Int(duration / .milliseconds(1))
        return ms >= 1000 ? String(format: "%.1f s", Double(ms) / 1000) : "\(ms) ms"
    }

    /// A write to a socket the server has closed raises SIGPIPE, whose default action kills
    /// the process; hiredis uses plain `write(2)`. Blocking it on this thread turns it into an
    /// `EPIPE` error (a signal caused by a write is delivered to the writing thread).
    static func blockSIGPIPE() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}

/// Cancellation state of one job, shared between the caller's cancellation handler and the
/// worker thread.
///
/// `@unchecked Sendable`: all state is guarded by `lock`. The socket is shut down only while
/// the worker has it attached (between `attach` and `detach`, during which the connection is
/// alive), so the descriptor cannot have been closed and reused.
final class JobControl: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var fileDescriptor: Int32 = -1

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    func cancel() {
        lock.lock()
        defer { lock.unlock() }
        cancelled = true
        if fileDescriptor >= 0 { _ = shutdown(fileDescriptor, Int32(SHUT_RDWR)) }
    }

    /// Returns false if the job was already cancelled.
    func attach(fileDescriptor fd: Int32) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if cancelled { return false }
        fileDescriptor = fd
        return true
    }

    /// Returns whether the job was cancelled while attached (its socket is then shut down).
    @discardableResult
    func detach() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        fileDescriptor = -1
        return cancelled
    }
}
