public import Logging

/// A Redis client: one connection, owned by a dedicated thread, shared by any number of tasks.
///
/// Commands run one at a time in call order; a blocking command (`XREADGROUP ... BLOCK`,
/// `BLPOP`) holds the connection for its whole wait, so give long-blocking consumers their own
/// client. Every call has a timeout (``RedisConfiguration/commandTimeout`` or the per-call
/// `timeout:`); cancelling the calling task aborts a call that is waiting for its reply.
///
/// The connection is opened on first use. When it breaks (server restart, network error,
/// timeout) the failing call throws and the connection is dropped; the next call reconnects.
/// After a failed connect, further attempts wait an exponential backoff (see
/// ``RedisConfiguration/initialReconnectBackoff``); calls made inside that window fail at once
/// with ``RedisError/Code/connectionFailed`` instead of waiting. A call that fails on I/O is
/// not retried, because the server may already have executed it.
///
/// The connection closes when the client is deinitialised or ``close()`` is called.
public final class RedisClient: Sendable {
    /// The configuration the client connects with.
    public let configuration: RedisConfiguration
    let logger: Logger
    private let worker: RedisConnectionWorker

    /// Creates a client; nothing connects until the first command.
    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "hemostat.redis")) {
        self.configuration = configuration
        self.logger = logger
        self.worker = RedisConnectionWorker(configuration: configuration, logger: logger, name: "hemostat.redis")
    }

    deinit {
        worker.stop()
    }

    /// Closes the connection once the calls already made have finished; later calls throw
    /// ``RedisError/Code/closed``.
    public func close() {
        worker.stop()
    }

    /// Sends one command and returns its reply.
    ///
    /// - Parameters:
    ///   - args: the command name and its arguments, e.g. `["SET", key, value]`.
    ///   - timeout: how long to wait for the reply, instead of the configured command timeout;
    ///     `.zero` waits forever.
    /// - Throws: ``RedisError`` with code `.server` (and ``RedisError/serverCode``) when the
    ///   server answers with an error; `.io`, `.timeout`, `.connectionFailed`,
    ///   `.authenticationFailed`, `.closed` otherwise; `CancellationError` when the calling
    ///   task is cancelled.
    @discardableResult
    public func send(_ args: [String], timeout: Duration? = nil) async throws -> RedisValue {
        try await send(args.map { Array($0.utf8) }, timeout: timeout)
    }

    /// Sends one command with binary arguments and returns its reply. Behaves like the `[String]` overload.
    @discardableResult
    public func send(_ args: [[UInt8]], timeout: Duration? = nil) async throws -> RedisValue {
        precondition(!args.isEmpty, "a Redis command needs at least a name")
        let reply = try await worker.perform(timeout: timeout) { connection in
            try connection.command(args)
        }
        if case .error(let text) = reply { throw RedisError.server(text) }
        return reply
    }

    /// Sends several commands in one round trip and returns their replies in order.
    ///
    /// A server error for one command is returned as ``RedisValue/error(_:)`` in its slot; the
    /// others still run. A connection error throws and loses all replies.
    public func pipeline(_ commands: [[String]], timeout: Duration? = nil) async throws -> [RedisValue] {
        try await pipeline(commands.map { $0.map { Array($0.utf8) } }, timeout: timeout)
    }

    /// Binary form of the `[[String]]` overload.
    public func pipeline(_ commands: [[[UInt8]]], timeout: Duration? = nil) async throws -> [RedisValue] {
        precondition(commands.allSatisfy { !$0.isEmpty }, "a Redis command needs at least a name")
        if commands.isEmpty { return [] }
        return try await worker.perform(timeout: timeout) { connection in
            try connection.pipeline(commands)
        }
    }

    /// Publishes a message on a pub/sub channel; returns how many subscribers received it.
    @discardableResult
    public func publish(channel: String, message: String) async throws -> Int {
        try await send(["PUBLISH", channel, message]).requireInteger("PUBLISH")
    }

    /// Publishes binary data on a pub/sub channel; returns how many subscribers received it.
    @discardableResult
    public func publish(channel: String, message: [UInt8]) async throws -> Int {
        try await send([Array("PUBLISH".utf8), Array(channel.utf8), message]).requireInteger("PUBLISH")
    }

    /// `PING`; returns when the server answered.
    public func ping() async throws {
        try await send(["PING"])
    }
}
