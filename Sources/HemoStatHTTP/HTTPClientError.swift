/// A request that did not produce a response.
///
/// The message names the method, the host (or unix socket) and what failed. It never contains
/// the URL's path, query or userinfo, nor any header value, so it is safe to log.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure; compare with the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The host name could not be resolved.
        public static let resolve = Code("resolve")
        /// No connection could be made (refused, unreachable, missing unix socket).
        public static let connect = Code("connect")
        /// TLS handshake or certificate verification failed.
        public static let tls = Code("tls")
        /// The connect timeout or the total timeout expired.
        public static let timeout = Code("timeout")
        /// The calling task was cancelled, the stream was dropped, or the client shut down.
        public static let cancelled = Code("cancelled")
        /// The body exceeded ``HTTPClientConfiguration/maxResponseBytes``.
        public static let tooLarge = Code("tooLarge")
        /// The peer broke the protocol or closed the connection mid-exchange.
        public static let `protocol` = Code("protocol")
        /// The request itself is unusable (bad URL, unsupported scheme).
        public static let invalidRequest = Code("invalidRequest")
        /// Anything else.
        public static let other = Code("other")
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "HTTPClientError(\(code)): \(message)" }
}
