/// Why a message was rejected.
///
/// `reason` names the field path and the problem, e.g.
/// `data.metrics.cpu_percent: expected a number, found a string` or `event_type: missing`.
/// Values quoted in a reason are cut to 40 characters; the reason is safe to log and to put in a
/// dead-letter entry.
public struct MessageDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The bytes are not JSON (or not UTF-8).
        public static let invalidJSON = Code("invalid_json")
        /// A required field is absent.
        public static let missingField = Code("missing_field")
        /// A field holds a value of the wrong JSON type.
        public static let wrongType = Code("wrong_type")
        /// A field has the right type but a value outside what the contract allows
        /// (unknown enum value, empty identifier, confidence above 1, bad timestamp).
        public static let invalidValue = Code("invalid_value")
        /// `event_type` names no known message, or not the one the reader expected.
        public static let unknownEventType = Code("unknown_event_type")

        public var description: String { name }
    }

    /// The kind of problem.
    public var code: Code
    /// The dotted path of the offending field (`data.anomalies[0].severity`), or nil when the
    /// problem concerns the whole text.
    public var path: String?
    /// A one-line explanation, starting with the path.
    public var reason: String

    public init(code: Code, path: String?, reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    public var description: String { reason }
}

extension MessageDecodingError {
    static func missing(_ path: String) -> MessageDecodingError {
        MessageDecodingError(code: .missingField, path: path, reason: "\(path): missing")
    }

    static func wrongType(_ path: String, expected: String, found: JSONValue) -> MessageDecodingError {
        MessageDecodingError(code: .wrongType, path: path, reason: "\(path): expected \(expected), found \(found.typeDescription)")
    }

    static func invalid(_ path: String, _ problem: String) -> MessageDecodingError {
        MessageDecodingError(code: .invalidValue, path: path, reason: "\(path): \(problem)")
    }

    /// Quotes a value from a message for a reason, cut so a hostile message cannot flood logs.
    package static func quote(_ text: String) -> String {
        let cut = text.count > 40 ? String(text.prefix(40)) + "…" : text
        var out = ""
        JSONWriter.writeString(cut, into: &out)
        return out
    }
}
