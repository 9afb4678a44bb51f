import Foundation
public import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A message received on a pub/sub subscription.
public struct RedisPubSubMessage: Sendable, Hashable, CustomStringConvertible {
    /// The channel the message was published on.
    public var channel: String
    /// The pattern that matched, for subscriptions made with `psubscribe`.
    public var pattern: String?
    /// The message as published (binary-safe).
    public var payload: [UInt8]

    public init(channel: String, pattern: String? = nil, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload decoded as UTF-8.
    public var string: String { String(decoding: payload, as: UTF8.self) }

    /// Channel and size only; payloads may hold anything.
    public var description: String {
        "RedisPubSubMessage(\(channel)\(pattern.map { " via \($0)" } ?? ""), \(payload.count) bytes)"
    }
}

/// Opens pub/sub subscriptions. Each subscription has its own connection and reader thread.
///
/// The returned stream yields messages until it is ended. Ending it, by cancelling the task
/// that iterates it or by dropping the stream, closes the connection (which unsubscribes).
/// When the connection breaks the stream finishes with a ``RedisError``; messages published
/// while no subscription is open are lost (pub/sub is at-most-once), so callers that need
/// every message read the stream of the same name instead. Messages are buffered without
/// limit until they are consumed.
public struct RedisSubscriber: Sendable {
    /// The configuration each subscription connects with. The command timeout bounds the
    /// connect and subscribe handshake; afterwards the connection waits for messages
    /// indefinitely (TCP keepalive detects a vanished peer).
    public let configuration: RedisConfiguration
    let logger: Logger

    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "hemostat.redis.pubsub")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// `SUBSCRIBE channel...`: returns once the server has confirmed every channel, so a
    /// message published after this returns is delivered.
    public func subscribe(channels: [String]) async throws -> AsyncThrowingStream<RedisPubSubMessage, any Error> {
        precondition(!channels.isEmpty, "subscribe needs at least one channel")
        return try await open(command: "SUBSCRIBE", names: channels)
    }

    /// `PSUBSCRIBE pattern...` (glob-style patterns such as `hemostat:*`): returns once the
    /// server has confirmed every pattern. Messages carry the matching ``RedisPubSubMessage/pattern``.
    public func psubscribe(patterns: [String]) async throws -> AsyncThrowingStream<RedisPubSubMessage, any Error> {
        precondition(!patterns.isEmpty, "psubscribe needs at least one pattern")
        return try await open(command: "PSUBSCRIBE", names: patterns)
    }

    private func open(command: String, names: [String]) async throws -> AsyncThrowingStream<RedisPubSubMessage, any Error> {
        let (stream, continuation) = AsyncThrowingStream<RedisPubSubMessage, any Error>.makeStream()
        let reader = SubscriptionReader(
            configuration: configuration, logger: logger,
            command: command, names: names, continuation: continuation
        )
        continuation.onTermination = { _ in reader.close() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
                reader.start(ready: ready)
            }
        } onCancel: {
            reader.close()
        }
        return stream
    }
}

extension RedisClient {
    /// Opens a subscription on a new connection with this client's configuration. See
    /// ``RedisSubscriber/subscribe(channels:)``.
    public func subscribe(channels: [String]) async throws -> AsyncThrowingStream<RedisPubSubMessage, any Error> {
        try await RedisSubscriber(configuration: configuration, logger: logger).subscribe(channels: channels)
    }

    /// Opens a pattern subscription on a new connection with this client's configuration. See
    /// ``RedisSubscriber/psubscribe(patterns:)``.
    public func psubscribe(patterns: [String]) async throws -> AsyncThrowingStream<RedisPubSubMessage, any Error> {
        try await RedisSubscriber(configuration: configuration, logger: logger).psubscribe(patterns: patterns)
    }
}

/// The reader thread of one subscription: connects, subscribes, then blocks reading messages
/// and yields them into the stream until closed or the connection fails.
///
/// `@unchecked Sendable`: `closing` and `fileDescriptor` are guarded by `lock`; the connection
/// is used only on the reader thread. `close()` shuts the socket down (waking the blocked
/// read) only while the reader thread has it registered, and the thread unregisters it under
/// the same lock before freeing the connection, so a closed descriptor is never touched.
final class SubscriptionReader: @unchecked Sendable {
    private let configuration: RedisConfiguration
    private let logger: Logger
    private let command: String
    private let names: [String]
    private let continuation: AsyncThrowingStream<RedisPubSubMessage, any Error>.Continuation
    private let lock = NSLock()
    private var closing = false
    private var fileDescriptor: Int32 = -1

    init(
        configuration: RedisConfiguration, logger: Logger, command: String, names: [String],
        continuation: AsyncThrowingStream<RedisPubSubMessage, any Error>.Continuation
    ) {
        self.configuration = configuration
        self.logger = logger
        self.command = command
        self.names = names
        self.continuation = continuation
    }

    func start(ready: CheckedContinuation<Void, any Error>) {
        let thread = Thread { [self] in self.run(ready: ready) }
        thread.name = "hemostat.redis.pubsub"
        thread.start()
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        closing = true
        if fileDescriptor >= 0 { _ = shutdown(fileDescriptor, Int32(SHUT_RDWR)) }
    }

    private var isClosing: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closing
    }

    private func register(_ fd: Int32) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if closing { return false }
        fileDescriptor = fd
        return true
    }

    private func unregister() {
        lock.lock()
        defer { lock.unlock() }
        fileDescriptor = -1
    }

    private func run(ready: CheckedContinuation<Void, any Error>) {
        RedisConnectionWorker.blockSIGPIPE()
        var readyPending = true
        func fail(_ error: any Error) {
            if readyPending {
                readyPending = false
                ready.resume(throwing: error)
            }
            continuation.finish(throwing: error)
        }

        let connection: RedisConnection
        do {
            connection = try RedisConnection(configuration: configuration)
        } catch {
            fail(isClosing ? CancellationError() : error)
            return
        }
        guard register(connection.fileDescriptor) else {
            fail(CancellationError())
            return
        }
        // Unregister before the connection (and its socket) can be freed.
        defer {
            unregister()
            withExtendedLifetime(connection) {}
        }

        do {
            try connection.append(([command] + names).map { Array($0.utf8) })
            var confirmed = 0
            while confirmed < names.count {
                let reply = try connection.readReply()
                if case .error(let text) = reply { throw RedisError.server(text) }
                if let parts = reply.array, parts.first?.string?.lowercased() == command.lowercased() {
                    confirmed += 1
                }
            }
            try connection.setSocketTimeout(.zero)
            readyPending = false
            ready.resume()
            logger.debug("Subscribed", metadata: ["redis.endpoint": "\(configuration.endpoint)", "redis.subscriptions": "\(names.count)"])

            while true {
                let reply = try connection.readReply()
                if let message = Self.message(from: reply) {
                    continuation.yield(message)
                }
            }
        } catch {
            if isClosing {
                if readyPending {
                    readyPending = false
                    ready.resume(throwing: CancellationError())
                }
                continuation.finish()
            } else {
                logger.warning("Redis subscription ended", metadata: [
                    "redis.endpoint": "\(configuration.endpoint)",
                    "redis.error": "\((error as? RedisError)?.message ?? "\(error)")",
                ])
                fail(error)
            }
        }
    }

    /// `["message", channel, payload]` or `["pmessage", pattern, channel, payload]`.
    static func message(from reply: RedisValue) -> RedisPubSubMessage? {
        guard let parts = reply.array, let kind = parts.first?.string?.lowercased() else { return nil }
        switch kind {
        case "message" where parts.count == 3:
            guard let channel = parts[1].string, let payload = parts[2].bytes else { return nil }
            return RedisPubSubMessage(channel: channel, payload: payload)
        case "pmessage" where parts.count == 4:
            guard let pattern = parts[1].string, let channel = parts[2].string, let payload = parts[3].bytes else { return nil }
            return RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload)
        default:
            return nil
        }
    }
}
