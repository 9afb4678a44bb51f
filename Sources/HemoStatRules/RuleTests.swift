import HemoStatModel
import Foundation
import Yams

/// The outcome of one case of a rule test file.
public struct RuleTestResult: Sendable {
    /// `file:line` of the case.
    public var location: SourceLocation
    public var name: String
    /// Empty when the case passed; otherwise one readable line per mismatch.
    public var differences: [String]
    /// What the rules did.
    public var evaluation: RuleEvaluation?

    public var passed: Bool { differences.isEmpty }
}

/// Runs rule test files (`<rules>/tests/*.yaml`): each case gives an alert and its history
/// and the verdict expected from the rules of the directory. See docs/rules.md.
public enum RuleTestRunner {
    /// The time the newest sample of a `history` shorthand is stamped with.
    public static let referenceTime: Double = 1_700_000_000

    /// Runs every test file under `directory/tests`.
    ///
    /// - Parameter thresholds: configuration overrides applied before each file's own `config`.
    /// - Returns: load errors of the rules (tests still run against the rules that loaded),
    ///   and one result per case (a malformed test file yields a failing result naming it).
    /// - Throws: `RuleError` (`.io`) when the rules directory cannot be read.
    public static func run(
        directory: String, configuration: RulesConfiguration = RulesConfiguration()
    ) throws(RuleError) -> (loadErrors: [RuleError], results: [RuleTestResult]) {
        let (sources, readErrors) = try RuleFiles.readAll(directory)
        let testDirectory = RuleFiles.join(directory, "tests")
        let testFiles = ((try? FileManager.default.contentsOfDirectory(atPath: testDirectory)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .sorted()
            .map { RuleFiles.join(testDirectory, $0) }
        var loadErrors = readErrors
        var reported = false
        var results: [RuleTestResult] = []
        for file in testFiles {
            let fileStart = SourceLocation(file: file, line: 0)
            guard let data = FileManager.default.contents(atPath: file) else {
                results.append(RuleTestResult(location: fileStart, name: "(file)", differences: ["cannot read test file"]))
                continue
            }
            do {
                let parsed = try parse(String(decoding: data, as: UTF8.self), file: file)
                var config = configuration
                config.thresholds.merge(parsed.config) { _, new in new }
                let runtime = RuleRuntime(
                    sources: sources, thresholds: config.effectiveThresholds,
                    instructionLimit: config.instructionLimit, memoryLimit: config.memoryLimit)
                if !reported {
                    loadErrors += runtime.loadErrors
                    reported = true
                }
                for testCase in parsed.cases {
                    let evaluation = runtime.evaluate(testCase.alert)
                    results.append(RuleTestResult(
                        location: testCase.location, name: testCase.name,
                        differences: compare(testCase.expect, evaluation), evaluation: evaluation))
                }
            } catch {
                results.append(RuleTestResult(
                    location: error.location ?? fileStart, name: "(file)", differences: [error.message]))
            }
        }
        return (loadErrors, results)
    }

    /// Alerts of every test case under `directory/tests`, for lint.
    static func alerts(directory: String) -> [JSONValue] {
        let testDirectory = RuleFiles.join(directory, "tests")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: testDirectory)) ?? []
        var alerts: [JSONValue] = []
        for name in files where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let path = RuleFiles.join(testDirectory, name)
            guard let data = FileManager.default.contents(atPath: path),
                let parsed = try? parse(String(decoding: data, as: UTF8.self), file: path)
            else { continue }
            alerts += parsed.cases.map(\.alert)
        }
        return alerts
    }

    // MARK: - parsing

    struct Expectation {
        var kind: String?
        var action: String?
        var rule: String?
        var dryRun: Bool?
        var minConfidence: Double?
        var fallbackKind: String?
        var fallbackAction: String?
        var recheckAfter: Double?
        var matched: [String]?
        var errors: Int?
    }

    struct Case {
        var name: String
        var location: SourceLocation
        var alert: JSONValue
        var expect: Expectation
    }

    struct File {
        var config: [String: Double]
        var cases: [Case]
    }

    /// Fields every test alert starts from; the case's `alert` overrides them.
    static let baseAlert: [String: JSONValue] = [
        "container_id": "0123456789ab",
        "container_name": "app",
        "image": "app:latest",
        "status": "running",
        "health_status": "none",
        "exit_code": 0,
        "oom_killed": false,
        "restart_count": 0,
        "stopped_by_operator": false,
        "labels": .object([:]),
        "metrics": .object([:]),
        "anomalies": .array([]),
        "source": "poll",
        "history": .array([]),
    ]

    static func parse(_ text: String, file: String) throws(RuleError) -> File {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw RuleError(code: .invalidInput, message: "empty test file", location: SourceLocation(file: file, line: 1))
            }
            root = node
        } catch let error as RuleError {
            throw error
        } catch {
            throw RuleError(code: .invalidInput, message: "not valid YAML: \(error)", location: SourceLocation(file: file, line: 0))
        }
        func fail(_ message: String, _ node: Node?) -> RuleError {
            RuleError(code: .invalidInput, message: message, location: SourceLocation(file: file, line: (node?.mark?.line ?? 0)))
        }
        guard let mapping = root.mapping else { throw fail("a test file is a mapping with `cases:`", root) }
        var config: [String: Double] = [:]
        if let configNode = mapping["config"] {
            guard let configMap = configNode.mapping else { throw fail("`config` must be a mapping of numbers", configNode) }
            for (key, value) in configMap {
                guard let k = key.string, let v = value.float else { throw fail("`config` values must be numbers", value) }
                config[k] = v
            }
        }
        guard let casesNode = mapping["cases"], let caseNodes = casesNode.sequence else {
            throw fail("missing `cases:` list", root)
        }
        var cases: [Case] = []
        for node in caseNodes {
            guard let c = node.mapping else { throw fail("each case is a mapping", node) }
            let name = c["name"]?.string ?? "(unnamed)"
            var alert = baseAlert
            if let alertNode = c["alert"] {
                guard case .object(let fields) = value(alertNode) else { throw fail("`alert` must be a mapping", alertNode) }
                alert.merge(fields) { _, new in new }
            }
            if let historyNode = c["history"] {
                alert["history"] = try history(historyNode, fail: fail)
            }
            guard let expectNode = c["expect"], let e = expectNode.mapping else {
                throw fail("case '\(name)': missing `expect:` mapping", node)
            }
            var expect = Expectation()
            expect.kind = e["kind"]?.string
            expect.action = e["action"]?.string
            expect.rule = e["rule"]?.string
            expect.dryRun = e["dry_run"]?.bool
            expect.minConfidence = e["min_confidence"]?.float
            expect.fallbackKind = e["fallback_kind"]?.string
            expect.fallbackAction = e["fallback_action"]?.string
            expect.recheckAfter = e["recheck_after"]?.float
            expect.matched = e["matched"]?.sequence?.compactMap(\.string)
            expect.errors = e["errors"]?.int
            let known: Set<String> = ["kind", "action", "rule", "dry_run", "min_confidence", "fallback_kind", "fallback_action", "recheck_after", "matched", "errors"]
            for (key, _) in e where !known.contains(key.string ?? "") {
                throw fail("case '\(name)': unknown expectation '\(key.string ?? "")'", key)
            }
            if let kind = expect.kind, kind != "none", VerdictKind(rawValue: kind) == nil {
                throw fail("case '\(name)': kind must be act, false_alarm, escalate, ambiguous, recheck or none", e["kind"])
            }
            cases.append(Case(
                name: name, location: SourceLocation(file: file, line: node.mark?.line ?? 0),
                alert: .object(alert), expect: expect))
        }
        return File(config: config, cases: cases)
    }

    /// A list of samples, or the shorthand `{interval: 30, cpu_percent: [..], status: running}`
    /// expanded to samples `interval` seconds apart ending at `referenceTime`.
    static func history(_ node: Node, fail: (String, Node?) -> RuleError) throws(RuleError) -> JSONValue {
        if node.sequence != nil { return value(node) }
        guard case .object(var fields) = value(node) else {
            throw fail("`history` is a list of samples or a mapping of series", node)
        }
        let interval = fields.removeValue(forKey: "interval")?.doubleValue ?? 30
        let end = fields.removeValue(forKey: "end")?.doubleValue ?? referenceTime
        let count = fields.values.compactMap { $0.arrayValue?.count }.max() ?? 0
        for (key, series) in fields {
            if let a = series.arrayValue, a.count != count {
                throw fail("history series '\(key)' has \(a.count) values; the longest has \(count)", node)
            }
        }
        var samples: [JSONValue] = []
        for i in 0..<count {
            var sample: [String: JSONValue] = ["timestamp": .number(end - Double(count - 1 - i) * interval)]
            for (key, series) in fields {
                sample[key] = series.arrayValue?[i] ?? series
            }
            samples.append(.object(sample))
        }
        return .array(samples)
    }

    static func value(_ node: Node) -> JSONValue {
        switch node {
        case .scalar:
            switch node.tag.description {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return node.bool.map(JSONValue.bool) ?? .null
            case Tag.Name.int.rawValue: return node.int.map { .number(Double($0)) } ?? .null
            case Tag.Name.float.rawValue: return node.float.map(JSONValue.number) ?? .null
            default: return .string(node.string ?? "")
            }
        case .sequence(let sequence):
            return .array(sequence.map(value))
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, v) in mapping { object[key.string ?? ""] = value(v) }
            return .object(object)
        }
    }

    // MARK: - comparing

    static func compare(_ expect: Expectation, _ evaluation: RuleEvaluation) -> [String] {
        var differences: [String] = []
        let decisive = evaluation.decisive
        func check(_ what: String, _ want: String?, _ got: String?) {
            guard let want, want != (got ?? "none") else { return }
            differences.append("\(what): want \(want), got \(got ?? "none")")
        }
        check("kind", expect.kind, decisive?.kind.rawValue)
        check("action", expect.action, decisive?.action.rawValue)
        check("rule", expect.rule, decisive?.rule)
        if let dry = expect.dryRun, dry != (decisive?.dryRun ?? false) {
            differences.append("dry_run: want \(dry), got \(decisive?.dryRun ?? false)")
        }
        if let minimum = expect.minConfidence, (decisive?.confidence ?? 0) < minimum {
            differences.append("confidence: want at least \(minimum), got \(decisive.map { "\($0.confidence)" } ?? "none")")
        }
        let fallback = decisive?.fallback?.verdict
        check("fallback kind", expect.fallbackKind, fallback?.kind.rawValue)
        check("fallback action", expect.fallbackAction, fallback?.action.rawValue)
        // The `after` of the recheck: the verdict's, or its fallback's.
        let after = decisive?.after ?? fallback?.after
        if let want = expect.recheckAfter, want != after {
            differences.append("recheck_after: want \(want), got \(after.map { "\($0)" } ?? "none")")
        }
        if let matched = expect.matched, matched != evaluation.matches.map(\.rule) {
            differences.append("matched: want [\(matched.joined(separator: ", "))], got [\(evaluation.matches.map(\.rule).joined(separator: ", "))]")
        }
        let errors = expect.errors ?? 0
        if errors != evaluation.errors.count {
            differences.append("errors: want \(errors), got \(evaluation.errors.count)"
                + evaluation.errors.map { "\n      \($0)" }.joined())
        }
        return differences
    }
}
