public import Foundation

/// Where HemoStat finds its configuration file and its rules, so that an installed binary works
/// from any directory as a source checkout does.
///
/// The configuration file, the first that applies:
/// 1. `--config FILE`;
/// 2. `HEMOSTAT_CONFIG`;
/// 3. `config/hemostat.yaml` in the working directory (a source checkout);
/// 4. `/etc/hemostat/hemostat.yaml`;
/// 5. none: the defaults built into the binary (and the environment).
///
/// The rules, the first that applies:
/// 1. `analyzer.rules_directory` from the file or `HEMOSTAT_RULES_DIRECTORY` (which must exist);
/// 2. `rules/` in the working directory (a source checkout);
/// 3. `/etc/hemostat/rules/`;
/// 4. the default rules built into the binary (the checkout's `rules/*.lua` when it was built).
public enum FileLocations {
    /// The directory an installation keeps its files in.
    public static let systemDirectory = "/etc/hemostat"
    public static let systemConfigFile = systemDirectory + "/hemostat.yaml"
    public static let systemRulesDirectory = systemDirectory + "/rules"
    /// The checkout's files, relative to the working directory.
    public static let checkoutConfigFile = "config/hemostat.yaml"
    public static let checkoutRulesDirectory = "rules"

    /// Why a file or directory is the one in use.
    public enum Reason: String, Sendable, Hashable, CustomStringConvertible {
        case option = "--config"
        case argument = "named on the command line"
        case environment = "HEMOSTAT_CONFIG"
        case configured = "analyzer.rules_directory"
        case workingDirectory = "working directory"
        case system = "/etc/hemostat"
        case builtIn = "built in"

        public var description: String { rawValue }
    }

    /// The configuration file to read, and why; nil path for none.
    public static func configFile(
        option: String?, environment: [String: String], exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) -> (path: String?, reason: Reason) {
        if let option { return (option, .option) }
        if let named = environment["HEMOSTAT_CONFIG"], !named.isEmpty { return (named, .environment) }
        if exists(checkoutConfigFile) { return (checkoutConfigFile, .workingDirectory) }
        if exists(systemConfigFile) { return (systemConfigFile, .system) }
        return (nil, .builtIn)
    }

    /// The rules to run: a directory, or the ones built in.
    public enum Rules: Sendable, Hashable, CustomStringConvertible {
        case directory(String, Reason)
        case builtIn

        /// `rules (working directory)`, `/etc/hemostat/rules (/etc/hemostat)`, `built in`.
        public var description: String {
            switch self {
            case .directory(let path, let reason): "\(path) (\(reason))"
            case .builtIn: "the default rules built into the binary"
            }
        }
    }

    /// The rules to run. `configured` is `analyzer.rules_directory` when the file or the
    /// environment set it.
    public static func rules(
        configured: String?, exists: (String) -> Bool = { directoryExists($0) }
    ) -> Rules {
        if let configured { return .directory(configured, .configured) }
        if exists(checkoutRulesDirectory) { return .directory(checkoutRulesDirectory, .workingDirectory) }
        if exists(systemRulesDirectory) { return .directory(systemRulesDirectory, .system) }
        return .builtIn
    }

    public static func directoryExists(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
