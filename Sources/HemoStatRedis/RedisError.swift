/// An error from the Redis client.
///
/// The ``message`` is safe for logs: it never contains a password, a URL with credentials or a
/// command argument. Match on ``code``; for server errors ``serverCode`` holds the leading word
/// of the reply (`WRONGTYPE`, `BUSYGROUP`, `NOSCRIPT`, ...).
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidConfiguration, connectionFailed, authenticationFailed, io, timeout
            case server, `protocol`, closed, noScript, unexpectedReply
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The configuration or URL cannot be used.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Connecting failed, or the client is waiting out its reconnect backoff.
        public static let connectionFailed = Code(.connectionFailed)
        /// The server rejected AUTH (wrong password, unknown ACL user, or no password set).
        public static let authenticationFailed = Code(.authenticationFailed)
        /// Reading or writing the socket failed, or the server closed the connection.
        public static let io = Code(.io)
        /// Connecting, or waiting for a reply, took longer than the configured timeout.
        public static let timeout = Code(.timeout)
        /// The server answered with an error reply.
        public static let server = Code(.server)
        /// The server sent something that is not valid RESP.
        public static let `protocol` = Code(.protocol)
        /// The client or subscription was closed.
        public static let closed = Code(.closed)
        /// The script is still missing from the server's script cache after loading it.
        public static let noScript = Code(.noScript)
        /// The reply did not have the shape the command returns (for example an integer where
        /// a stream entry was expected).
        public static let unexpectedReply = Code(.unexpectedReply)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A description safe for logs.
    public var message: String
    /// For ``Code/server`` errors: the first word of the server's reply, such as `ERR`,
    /// `WRONGTYPE`, `NOSCRIPT`, `BUSYGROUP`, `WRONGPASS`.
    public var serverCode: String?

    public init(code: Code, message: String, serverCode: String? = nil) {
        self.code = code
        self.message = message
        self.serverCode = serverCode
    }

    public var description: String { "RedisError(\(code)): \(message)" }

    /// An error for a server error reply. Redis echoes the arguments of an unknown command
    /// ("with args beginning with: ..."); that part is cut, so the message stays log-safe.
    static func server(_ reply: String) -> RedisError {
        let safe = Self.sanitizedServerMessage(reply)
        let first = safe.split(separator: " ", maxSplits: 1).first.map(String.init)
        let serverCode = first.flatMap { word in
            word.allSatisfy({ $0.isUppercase || $0 == "_" }) && !word.isEmpty ? word : nil
        }
        return RedisError(code: .server, message: safe, serverCode: serverCode)
    }

    static func sanitizedServerMessage(_ reply: String) -> String {
        var text = reply
        if let range = text.range(of: ", with args beginning with:") {
            text = String(text[..<range.lowerBound])
        }
        if text.count > 300 { text = String(text.prefix(300)) + "…" }
        return text
    }
}
