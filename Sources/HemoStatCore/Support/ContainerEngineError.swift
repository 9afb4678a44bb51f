/// A Docker engine failure as the agents see it, through any engine port (the monitor's
/// `ContainerEngine`, the responder's `RemediationEngine`).
/// Its message is safe to log.
public struct ContainerEngineError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The container does not exist (any more).
        case notFound = "not_found"
        /// The engine could not be reached.
        case unreachable
        /// Anything else the engine answered.
        case failed
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
