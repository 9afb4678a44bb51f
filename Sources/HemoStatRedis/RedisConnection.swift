import CHiredis
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One synchronous hiredis connection: owns a `redisContext*` and frees it in `deinit`.
///
/// Not thread-safe: exactly one thread uses it at a time (``RedisConnectionWorker``'s thread,
/// or a subscription's reader thread). Every call blocks. After any error the hiredis context
/// is unusable; ``isBroken`` becomes true and the owner must drop the connection and open a
/// new one. Server error replies are not errors here: they come back as ``RedisValue/error(_:)``.
final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    /// The socket read/write timeout currently set on the socket.
    private(set) var socketTimeout: Duration
    /// True once hiredis reported an error; the context must not be used again.
    private(set) var isBroken = false
    let endpoint: RedisConfiguration.Endpoint

    /// The socket, for `shutdown(2)` from another thread to interrupt a blocking read.
    var fileDescriptor: Int32 { context.pointee.fd }

    /// Connects, sets the command timeout, authenticates, names the client and selects the
    /// database.
    init(configuration: RedisConfiguration) throws {
        endpoint = configuration.endpoint
        let connectTimeval = Self.makeTimeval(configuration.connectTimeout)
        let raw: UnsafeMutablePointer<redisContext>?
        switch configuration.endpoint {
        case .tcp(let host, let port):
            raw = redisConnectWithTimeout(host, Int32(port), connectTimeval)
        case .unix(let path):
            raw = redisConnectUnixWithTimeout(path, connectTimeval)
        }
        guard let raw else {
            throw RedisError(code: .connectionFailed, message: "cannot allocate a connection to \(configuration.endpoint)")
        }
        context = raw
        socketTimeout = .zero
        if raw.pointee.err != 0 {
            let savedErrno = errno
            let text = Self.errorText(raw)
            isBroken = true
            let timedOut = savedErrno == ETIMEDOUT || text.contains("timed out")
            throw RedisError(
                code: timedOut ? .timeout : .connectionFailed,
                message: timedOut
                    ? "connecting to \(configuration.endpoint) timed out after \(configuration.connectTimeout)"
                    : "cannot connect to \(configuration.endpoint): \(text)"
            )
        }
        if case .tcp = configuration.endpoint {
            _ = redisEnableKeepAlive(raw)
        }
        try setSocketTimeout(configuration.commandTimeout)
        try handshake(configuration)
    }

    deinit {
        redisFree(context)
    }

    private func handshake(_ configuration: RedisConfiguration) throws {
        if configuration.password != nil || configuration.username != nil {
            var args = ["AUTH"]
            if let user = configuration.username { args.append(user) }
            args.append(configuration.password ?? "")
            let reply = try command(args.map { Array($0.utf8) })
            if case .error(let text) = reply {
                let server = RedisError.server(text)
                throw RedisError(
                    code: .authenticationFailed,
                    message: "authentication to \(configuration.endpoint) failed"
                        + (configuration.username.map { " for user \($0)" } ?? "") + ": \(server.message)",
                    serverCode: server.serverCode
                )
            }
        }
        if let name = configuration.clientName {
            try expectOK(try command(["CLIENT", "SETNAME", name].map { Array($0.utf8) }), doing: "CLIENT SETNAME")
        }
        if configuration.database != 0 {
            try expectOK(try command(["SELECT", String(configuration.database)].map { Array($0.utf8) }), doing: "SELECT \(configuration.database)")
        }
    }

    private func expectOK(_ reply: RedisValue, doing what: String) throws {
        if case .error(let text) = reply {
            let server = RedisError.server(text)
            throw RedisError(code: .connectionFailed, message: "\(what) failed: \(server.message)", serverCode: server.serverCode)
        }
    }

    /// Sets the socket's read and write timeout; `.zero` means no timeout.
    func setSocketTimeout(_ timeout: Duration) throws {
        guard timeout != socketTimeout else { return }
        if redisSetTimeout(context, Self.makeTimeval(timeout)) != REDIS_OK {
            throw failure(savedErrno: errno)
        }
        socketTimeout = timeout
    }

    /// Sends one command and waits for its reply.
    func command(_ args: [[UInt8]]) throws -> RedisValue {
        try append(args)
        return try readReply()
    }

    /// Sends all commands, then reads one reply per command.
    func pipeline(_ commands: [[[UInt8]]]) throws -> [RedisValue] {
        for args in commands { try append(args) }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    /// Queues a command in hiredis' output buffer (written by the next ``readReply()``).
    func append(_ args: [[UInt8]]) throws {
        precondition(!args.isEmpty, "a Redis command needs at least one argument")
        try ensureUsable()
        let status = Self.withArgv(args) { argc, argv, lengths in
            redisAppendCommandArgv(context, argc, argv, lengths)
        }
        if status != REDIS_OK { throw failure(savedErrno: errno) }
    }

    /// Flushes pending output and blocks for the next reply (up to the socket timeout).
    func readReply() throws -> RedisValue {
        try ensureUsable()
        var reply: UnsafeMutableRawPointer?
        let status = redisGetReply(context, &reply)
        let savedErrno = errno
        guard status == REDIS_OK, let reply else {
            throw failure(savedErrno: savedErrno)
        }
        let root = reply.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(reply) }
        return RedisValue(copying: root)
    }

    private func ensureUsable() throws {
        if isBroken {
            throw RedisError(code: .closed, message: "the connection to \(endpoint) is broken")
        }
    }

    /// Marks the context dead and turns its error into a ``RedisError``.
    private func failure(savedErrno: Int32) -> RedisError {
        isBroken = true
        let text = Self.errorText(context)
        switch context.pointee.err {
        case REDIS_ERR_IO:
            if savedErrno == EAGAIN || savedErrno == EWOULDBLOCK || savedErrno == ETIMEDOUT
                || text.contains("temporarily unavailable") {
                return RedisError(code: .timeout, message: "no reply from \(endpoint) within \(socketTimeout)")
            }
            return RedisError(code: .io, message: "I/O error on the connection to \(endpoint): \(text)")
        case REDIS_ERR_EOF:
            return RedisError(code: .io, message: "\(endpoint) closed the connection")
        case REDIS_ERR_PROTOCOL:
            return RedisError(code: .protocol, message: "protocol error from \(endpoint): \(text)")
        default:
            return RedisError(code: .io, message: "connection to \(endpoint) failed: \(text.isEmpty ? "unknown error" : text)")
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        String(cString: hs_redis_errstr(context))
    }

    static func makeTimeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return timeval(tv_sec: 0, tv_usec: 1) }
        var micros = Int(attoseconds / 1_000_000_000_000)
        // A positive timeout below 1 µs must not become 0, which means "wait forever".
        if seconds == 0 && micros == 0 && attoseconds > 0 { micros = 1 }
        return timeval(tv_sec: Int(seconds), tv_usec: micros)
    }

    /// Calls `body` with hiredis' `argc`, `argv` and `argvlen` for binary-safe arguments.
    private static func withArgv<R>(
        _ args: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        let total = args.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 1)
        let pointers = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: args.count)
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: args.count)
        defer {
            storage.deallocate()
            pointers.deallocate()
            lengths.deallocate()
        }
        var offset = 0
        for (index, arg) in args.enumerated() {
            let start = storage + offset
            arg.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { start.copyMemory(from: base, byteCount: bytes.count) }
            }
            (pointers + index).initialize(to: UnsafePointer(start.assumingMemoryBound(to: CChar.self)))
            (lengths + index).initialize(to: arg.count)
            offset += arg.count
        }
        return body(Int32(args.count), pointers, UnsafePointer(lengths))
    }
}

extension RedisValue {
    /// Copies a hiredis reply tree; the caller frees the root afterwards.
    init(copying reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        func bytes() -> [UInt8] {
            guard let str = r.str, r.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: r.len))
        }
        switch r.type {
        case REDIS_REPLY_STRING:
            self = .bulk(bytes())
        case REDIS_REPLY_STATUS:
            self = .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            self = .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(r.elements)
            if let element = r.element {
                for index in 0..<r.elements {
                    if let child = element[index] {
                        elements.append(RedisValue(copying: child))
                    } else {
                        elements.append(.null)
                    }
                }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }
}
