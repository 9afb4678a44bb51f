import Foundation
public import HemoStatModel
import Yams

/// One effective value and where it came from, as `hemostat config check` shows it.
public struct EffectiveValue: Sendable, Hashable {
    /// Dotted key: `monitor.poll_interval`.
    public var key: String
    /// The value as text; secrets are `<set>` or `(not set)`.
    public var value: String
    public var source: ValueSource
    /// The environment variable that overrides the key.
    public var environment: String?
}

/// A loaded configuration with the origin of every value.
public struct ConfigurationReport: Sendable, Hashable {
    public var configuration: HemoStatConfiguration
    /// The file that was read, nil when none was.
    public var file: String?
    /// Why that file (or none) is the one read (``FileLocations``).
    public var fileReason: FileLocations.Reason = .option
    /// Every key in file order.
    public var values: [EffectiveValue]

    /// A table, one key per line: `key = value  (source)`. Secrets are masked.
    public var text: String {
        var lines = [
            "# configuration file: \(file.map { "\($0) (\(fileReason))" } ?? "none: the defaults built in")",
            "# rules: \(configuration.analyzer.rulesLocation)",
        ]
        let width = values.map(\.key.count).max() ?? 0
        for entry in values {
            let padded = entry.key + String(repeating: " ", count: width - entry.key.count)
            lines.append("\(padded) = \(entry.value)  (\(entry.source))")
        }
        return lines.joined(separator: "\n")
    }

    /// `{"file": ..., "values": [{"key", "value", "source", "env"}]}` with secrets masked.
    public var json: JSONValue {
        .object([
            "file": file.map(JSONValue.string) ?? .null,
            "file_reason": .string(fileReason.rawValue),
            "rules": .string(configuration.analyzer.rulesLocation.description),
            "values": .array(values.map { entry in
                var fields: [String: JSONValue] = [
                    "key": .string(entry.key), "value": .string(entry.value), "source": .string(entry.source.description),
                ]
                fields["env"] = entry.environment.map(JSONValue.string)
                return .object(fields)
            }),
        ])
    }
}

extension HemoStatConfiguration: CustomStringConvertible {
    /// Every key and value, secrets masked.
    public var description: String {
        ConfigurationSchema.fields.map { "\($0.key) = \($0.render(self))" }.joined(separator: "\n")
    }
}

extension HemoStatConfiguration {
    /// Loads the configuration: defaults, then the file, then the environment.
    ///
    /// - Parameters:
    ///   - file: The YAML file. When nil, the search order of ``FileLocations``: `HEMOSTAT_CONFIG`,
    ///     `config/hemostat.yaml`, `/etc/hemostat/hemostat.yaml`, else defaults only. The rules
    ///     are found the same way (``AnalyzerConfiguration/rulesLocation``).
    ///   - environment: Usually `ProcessInfo.processInfo.environment`; an empty value counts as unset.
    /// - Throws: `ConfigurationError` listing every problem found (`file:line: problem`).
    public static func load(file: String? = nil, environment: [String: String]) throws(ConfigurationError) -> HemoStatConfiguration {
        try inspect(file: file, environment: environment).configuration
    }

    /// Loads like `load(file:environment:)` and also tells where each value came from.
    public static func inspect(file: String? = nil, environment: [String: String]) throws(ConfigurationError) -> ConfigurationReport {
        let (path, reason) = FileLocations.configFile(option: file, environment: environment)
        var yaml: String?
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(code: .unreadableFile, problems: [
                    ConfigurationProblem(code: .unreadableFile, source: nil, key: nil, message: "\(path): cannot read the configuration file"),
                ])
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(code: .unreadableFile, problems: [
                    ConfigurationProblem(code: .unreadableFile, source: .file(path: path, line: 1), key: nil, message: "the file is not UTF-8 text"),
                ])
            }
            yaml = text
        }
        var report = try inspect(yaml: yaml, path: path ?? "", environment: environment)
        report.fileReason = reason
        return report
    }

    /// Loads from YAML text already in memory; `path` is used in messages only.
    public static func inspect(yaml: String?, path: String, environment: [String: String]) throws(ConfigurationError) -> ConfigurationReport {
        var loader = ConfigurationLoader(path: path)
        if let yaml { try loader.readFile(yaml) }
        loader.readEnvironment(environment)
        loader.checkCombinations()
        if !loader.problems.isEmpty {
            throw ConfigurationError(code: .invalidConfiguration, problems: loader.problems)
        }
        let values = loader.fields.map { field in
            EffectiveValue(key: field.key, value: field.render(loader.configuration), source: loader.sources[field.key] ?? .default, environment: field.environment)
        }
        var configuration = loader.configuration
        let rulesSet = (loader.sources["analyzer.rules_directory"] ?? .default) != .default
        configuration.analyzer.rulesLocation = FileLocations.rules(configured: rulesSet ? configuration.analyzer.rulesDirectory : nil)
        return ConfigurationReport(configuration: configuration, file: yaml == nil ? nil : path, values: values)
    }
}

struct ConfigurationLoader {
    let path: String
    let fields = ConfigurationSchema.fields
    var configuration = HemoStatConfiguration()
    var sources: [String: ValueSource] = [:]
    var problems: [ConfigurationProblem] = []
    /// Parsed file values by field index, applied in schema order so `redis.url` comes before
    /// `redis.host` whatever the file's order.
    private var fileValues: [Int: (ConfigField.Apply, Int)] = [:]

    init(path: String) {
        self.path = path
    }

    private func fieldIndex(_ key: String) -> Int? {
        fields.firstIndex { $0.key == key }
    }

    private func line(_ node: Node) -> Int {
        node.mark?.line ?? 1
    }

    private mutating func report(_ code: ConfigurationProblem.Code, line: Int, key: String?, _ message: String) {
        problems.append(ConfigurationProblem(code: code, source: .file(path: path, line: line), key: key, message: message))
    }

    mutating func readFile(_ yaml: String) throws(ConfigurationError) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigurationError(code: .unreadableFile, problems: [syntaxProblem(error)])
        } catch {
            throw ConfigurationError(code: .unreadableFile, problems: [
                ConfigurationProblem(code: .syntax, source: .file(path: path, line: 1), key: nil, message: "not valid YAML"),
            ])
        }
        guard let root, !ValueParser<Int>.isNull(root) else { return }
        guard root.mapping != nil else {
            report(.wrongType, line: line(root), key: nil, "expected a mapping of sections (redis:, monitor:, ...), found \(describe(root))")
            return
        }
        walk(root, prefix: "")
        for (index, value) in fileValues.sorted(by: { $0.key < $1.key }) {
            value.0(&configuration)
            let source = ValueSource.file(path: path, line: value.1)
            sources[fields[index].key] = source
            for other in fields[index].alsoSets { sources[other] = source }
        }
    }

    private func syntaxProblem(_ error: YamlError) -> ConfigurationProblem {
        let (line, problem): (Int, String) = switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            (mark.line, context.map { "\(problem) \($0.text)" } ?? problem)
        case .reader(let problem, _, _, _):
            (1, problem)
        default:
            (1, "not valid YAML")
        }
        return ConfigurationProblem(code: .syntax, source: .file(path: path, line: line), key: nil, message: "YAML syntax error: \(problem)")
    }

    /// Keys directly below `prefix` that the schema knows: leaf names and section names.
    private func childNames(of prefix: String) -> [String] {
        var names: [String] = []
        for field in fields where field.key.hasPrefix(prefix) {
            let rest = field.key.dropFirst(prefix.count)
            let name = String(rest.prefix { $0 != "." })
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    private mutating func walk(_ node: Node, prefix: String) {
        guard let mapping = node.mapping else { return }
        var seen: [String: Int] = [:]
        for (keyNode, valueNode) in mapping {
            let keyLine = line(keyNode)
            guard let name = keyNode.scalar?.string else {
                report(.wrongType, line: keyLine, key: nil, "keys must be plain names, found \(describe(keyNode))")
                continue
            }
            let key = prefix + name
            if let first = seen[name] {
                report(.duplicateKey, line: keyLine, key: key, "duplicate key \"\(key)\" (first set on line \(first))")
                continue
            }
            seen[name] = keyLine
            if let index = fieldIndex(key) {
                let field = fields[index]
                guard field.fileAllowed else {
                    report(.secretInFile, line: keyLine, key: key, "\"\(key)\" is read only from the environment; set \(field.environment ?? "") instead and remove it from the file")
                    continue
                }
                switch field.yaml(valueNode) {
                case .success(let apply): fileValues[index] = (apply, line(valueNode))
                case .failure(let problem): report(problem.code, line: line(valueNode), key: key, "\(key): \(problem.message)")
                }
            } else if fields.contains(where: { $0.key.hasPrefix(key + ".") }) {
                if ValueParser<Int>.isNull(valueNode) { continue }
                guard valueNode.mapping != nil else {
                    report(.wrongType, line: line(valueNode), key: key, "\(key): expected a mapping, found \(describe(valueNode))")
                    continue
                }
                walk(valueNode, prefix: key + ".")
            } else {
                report(.unknownKey, line: keyLine, key: key, "unknown key \"\(key)\"\(suggestion(for: name, prefix: prefix))")
            }
        }
    }

    private func suggestion(for name: String, prefix: String) -> String {
        let siblings = childNames(of: prefix)
        if let best = siblings.min(by: { editDistance(name, $0) < editDistance(name, $1) }),
           editDistance(name, best) <= max(2, name.count / 3) {
            return "; did you mean \"\(prefix + best)\"?"
        }
        // The right name in the wrong section.
        if let elsewhere = fields.first(where: { $0.key.hasSuffix("." + name) || $0.key == name }) {
            return "; did you mean \"\(elsewhere.key)\"?"
        }
        let known = siblings.map { "\"\($0)\"" }.joined(separator: ", ")
        return prefix.isEmpty ? "; known keys: \(known)" : "; known keys in \(prefix.dropLast()): \(known)"
    }

    mutating func readEnvironment(_ environment: [String: String]) {
        for field in fields {
            guard let name = field.environment, let raw = environment[name], !raw.isEmpty else { continue }
            switch field.text(raw) {
            case .success(let apply):
                apply(&configuration)
                sources[field.key] = .environment(name)
                for other in field.alsoSets { sources[other] = .environment(name) }
            case .failure(let problem):
                // Problems never repeat a secret's value.
                let message = field.secret ? "\(field.key): not a valid value (\(problem.code))" : "\(problem.message) (sets \(field.key))"
                problems.append(ConfigurationProblem(code: problem.code, source: .environment(name), key: field.key, message: message))
            }
        }
    }

    /// Rules that involve more than one key.
    mutating func checkCombinations() {
        func add(_ key: String, _ message: String) {
            problems.append(ConfigurationProblem(code: .invalidValue, source: sources[key], key: key, message: "\(key): \(message)"))
        }
        let llm = configuration.analyzer.llm
        if llm.provider == .openaiCompatible, llm.baseURL == nil {
            add("analyzer.llm.provider", "openai_compatible needs analyzer.llm.base_url (or HEMOSTAT_LLM_BASE_URL)")
        }
        let retry = configuration.alert.retry
        if retry.initialBackoff > retry.maxBackoff {
            add("alert.retry.initial_backoff", "must not exceed alert.retry.max_backoff (\(render(retry.maxBackoff)))")
        }
        let breaker = configuration.responder.breaker
        if breaker.halfOpenAfter > breaker.window {
            add("responder.breaker.half_open_after", "must not exceed responder.breaker.window (\(render(breaker.window)))")
        }
        if configuration.responder.shutdownGrace >= configuration.shutdownTimeout {
            add("responder.shutdown_grace", "must be less than shutdown_timeout (\(render(configuration.shutdownTimeout)))")
        }
    }
}
