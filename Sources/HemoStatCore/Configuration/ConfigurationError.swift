import HemoStatModel

/// One thing wrong with the configuration, with where it came from.
///
/// `description` is `file:line: problem` for the file, `environment NAME: problem` for an
/// environment variable; it never contains a secret's value.
public struct ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public static let syntax = Code("syntax")
        public static let unknownKey = Code("unknown_key")
        public static let duplicateKey = Code("duplicate_key")
        public static let wrongType = Code("wrong_type")
        public static let outOfRange = Code("out_of_range")
        public static let invalidValue = Code("invalid_value")
        /// A secret that may only come from the environment was written in the file.
        public static let secretInFile = Code("secret_in_file")
        public static let unreadableFile = Code("unreadable_file")
        public var description: String { name }
    }

    public var code: Code
    /// Where the value came from: a file line, an environment variable, or nothing when the
    /// problem is with a combination of defaults.
    public var source: ValueSource?
    /// The dotted key concerned (`monitor.poll_interval`), when there is one.
    public var key: String?
    /// What is wrong.
    public var message: String

    public init(code: Code, source: ValueSource?, key: String?, message: String) {
        self.code = code
        self.source = source
        self.key = key
        self.message = message
    }

    public var description: String {
        switch source {
        case .file(let path, let line)?: "\(path):\(line): \(message)"
        case .environment(let name)?: "environment \(name): \(message)"
        case .default?, nil: key.map { "\($0): \(message)" } ?? message
        }
    }
}

/// The configuration could not be loaded. Holds every problem found, not just the first.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The file or the environment holds values that are wrong.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// The file could not be read or is not YAML.
        public static let unreadableFile = Code("unreadable_file")
        public var description: String { name }
    }

    public var code: Code
    public var problems: [ConfigurationProblem]

    public init(code: Code, problems: [ConfigurationProblem]) {
        self.code = code
        self.problems = problems
    }

    /// One problem per line.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Where an effective configuration value came from.
public enum ValueSource: Sendable, Hashable, CustomStringConvertible {
    case `default`
    case file(path: String, line: Int)
    case environment(String)

    public var description: String {
        switch self {
        case .default: "default"
        case .file(let path, let line): "file \(path):\(line)"
        case .environment(let name): "env \(name)"
        }
    }
}
