/// A failed Docker Engine API call. The message is safe to log: it names the operation, the
/// container reference and the engine's own error text, never request headers.
public struct DockerError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// No such container, image or exec instance (404).
        public static let notFound = Code("notFound")
        /// The container is in a state that forbids the operation, e.g. paused (409).
        public static let conflict = Code("conflict")
        /// The engine answered 304 where the caller asked for a change. Start and stop do not
        /// throw this; they return ``DockerActionResult/alreadyInState``.
        public static let notModified = Code("notModified")
        /// The engine cannot be reached (no socket, refused, DNS, TLS).
        public static let unreachable = Code("unreachable")
        /// The engine did not answer in time.
        public static let timeout = Code("timeout")
        /// The calling task was cancelled.
        public static let cancelled = Code("cancelled")
        /// Any other error status from the engine (400, 500, ...).
        public static let apiError = Code("apiError")
        /// The engine's answer could not be decoded.
        public static let decoding = Code("decoding")
        /// `DOCKER_HOST` could not be parsed.
        public static let invalidHost = Code("invalidHost")
    }

    public var code: Code
    public var message: String
    /// The HTTP status, when the engine answered.
    public var status: Int?

    public init(code: Code, message: String, status: Int? = nil) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String { "DockerError(\(code)): \(message)" }
}

/// The outcome of a state change that the engine may report as already done.
public enum DockerActionResult: Sendable, Hashable {
    /// The engine made the change.
    case done
    /// The container already was in the requested state (the engine answered 304).
    case alreadyInState
}
