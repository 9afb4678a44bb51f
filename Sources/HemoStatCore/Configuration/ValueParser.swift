import Foundation
import HemoStatModel
import HemoStatRules
import Yams

/// A value's problem before its location is known.
struct ValueProblem: Error {
    var code: ConfigurationProblem.Code
    var message: String
}

/// Reads one kind of value from a YAML node or an environment variable's text.
struct ValueParser<Value> {
    /// The type as the docs name it.
    var kind: String
    var yaml: (Node) -> Result<Value, ValueProblem>
    var text: (String) -> Result<Value, ValueProblem>
    var render: (Value) -> String

    /// The same parser with a check on the parsed value.
    func checked(_ check: @escaping (Value) -> ValueProblem?) -> ValueParser<Value> {
        ValueParser(
            kind: kind,
            yaml: { node in yaml(node).flatMap { value in check(value).map { .failure($0) } ?? .success(value) } },
            text: { raw in text(raw).flatMap { value in check(value).map { .failure($0) } ?? .success(value) } },
            render: render)
    }

    /// `null` (or an empty environment value) means nil.
    var optional: ValueParser<Value?> {
        ValueParser<Value?>(
            kind: kind,
            yaml: { node in Self.isNull(node) ? .success(nil) : yaml(node).map { $0 } },
            text: { raw in raw.isEmpty ? .success(nil) : text(raw).map { $0 } },
            render: { $0.map(render) ?? "(not set)" })
    }

    static func isNull(_ node: Node) -> Bool {
        node.scalar != nil && node.tagName == .null
    }
}

/// How a node reads in an error message: `a string "abc"`, `a list`, `a mapping`.
func describe(_ node: Node, secret: Bool = false) -> String {
    switch node {
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .scalar(let scalar):
        switch node.tagName {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .float: return secret ? "a number" : "the number \(scalar.string)"
        default: return secret ? "a string" : "a string \(quoted(scalar.string))"
        }
    }
}

func quoted(_ text: String) -> String {
    let cut = text.count > 40 ? String(text.prefix(40)) + "…" : text
    return "\"" + cut.replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

func render(_ duration: Duration) -> String {
    let seconds = duration.seconds
    if seconds != 0, abs(seconds) < 1 { return (seconds * 1000).formatted + "ms" }
    return seconds.formatted + "s"
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}

enum Parsers {
    static func wrongType(_ expected: String, _ node: Node) -> ValueProblem {
        ValueProblem(code: .wrongType, message: "expected \(expected), found \(describe(node))")
    }

    static func range<T: Comparable>(_ value: T, _ range: ClosedRange<T>, render: (T) -> String) -> ValueProblem? {
        guard !range.contains(value) else { return nil }
        return ValueProblem(code: .outOfRange, message: "must be between \(render(range.lowerBound)) and \(render(range.upperBound)), found \(render(value))")
    }

    static func integer(_ range: ClosedRange<Int>) -> ValueParser<Int> {
        ValueParser(
            kind: "integer",
            yaml: { node in
                guard node.scalar != nil else { return .failure(wrongType("an integer", node)) }
                switch node.tagName {
                case .int:
                    guard let int = node.int else { return .failure(wrongType("an integer", node)) }
                    return .success(int)
                case .float:
                    if let double = node.float, let int = Int(exactly: double) { return .success(int) }
                    return .failure(wrongType("an integer", node))
                default:
                    return .failure(wrongType("an integer", node))
                }
            },
            text: { raw in
                guard let int = Int(raw.trimmingCharacters(in: .whitespaces)) else {
                    return .failure(ValueProblem(code: .wrongType, message: "expected an integer, found \(quoted(raw))"))
                }
                return .success(int)
            },
            render: { String($0) }
        ).checked { value in Self.range(value, range, render: { String($0) }) }
    }

    static func number(_ range: ClosedRange<Double>) -> ValueParser<Double> {
        ValueParser(
            kind: "number",
            yaml: { node in
                guard node.scalar != nil, node.tagName == .int || node.tagName == .float, let double = node.float, double.isFinite else {
                    return .failure(wrongType("a number", node))
                }
                return .success(double)
            },
            text: { raw in
                guard let double = Double(raw.trimmingCharacters(in: .whitespaces)), double.isFinite else {
                    return .failure(ValueProblem(code: .wrongType, message: "expected a number, found \(quoted(raw))"))
                }
                return .success(double)
            },
            render: { $0.formatted }
        ).checked { value in Self.range(value, range, render: { $0.formatted }) }
    }

    static func percent() -> ValueParser<Double> {
        number(0...100).checked { value in
            value > 0 ? nil : ValueProblem(code: .outOfRange, message: "must be between 0 and 100 (exclusive of 0), found \(value.formatted)")
        }
    }

    /// Seconds as a number, or a number with a unit: `500ms`, `30s`, `5m`, `1h`.
    static func duration(minimum: Duration = .zero, maximum: Duration = .seconds(7 * 86400)) -> ValueParser<Duration> {
        let expected = "a duration (seconds, or a number with ms, s, m or h)"
        func parse(_ raw: String) -> Duration? {
            let text = raw.trimmingCharacters(in: .whitespaces).lowercased()
            let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
            for (suffix, scale) in units where text.hasSuffix(suffix) {
                if let number = Double(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), number.isFinite {
                    return .milliseconds(Int64((number * scale * 1000).rounded()))
                }
            }
            if let number = Double(text), number.isFinite { return .milliseconds(Int64((number * 1000).rounded())) }
            return nil
        }
        return ValueParser(
            kind: "duration",
            yaml: { node in
                guard let scalar = node.scalar, node.tagName != .null, node.tagName != .bool, let duration = parse(scalar.string) else {
                    return .failure(wrongType(expected, node))
                }
                return .success(duration)
            },
            text: { raw in
                guard let duration = parse(raw) else {
                    return .failure(ValueProblem(code: .wrongType, message: "expected \(expected), found \(quoted(raw))"))
                }
                return .success(duration)
            },
            render: { render($0) }
        ).checked { value in
            if value < .zero { return ValueProblem(code: .outOfRange, message: "must not be negative, found \(render(value))") }
            return Self.range(value, minimum...maximum, render: { render($0) })
        }
    }

    static func bool() -> ValueParser<Bool> {
        ValueParser(
            kind: "boolean",
            yaml: { node in
                guard node.scalar != nil, node.tagName == .bool, let flag = node.bool else { return .failure(wrongType("true or false", node)) }
                return .success(flag)
            },
            text: { raw in
                switch raw.trimmingCharacters(in: .whitespaces).lowercased() {
                case "true", "1", "yes", "on": return .success(true)
                case "false", "0", "no", "off": return .success(false)
                default: return .failure(ValueProblem(code: .wrongType, message: "expected true or false, found \(quoted(raw))"))
                }
            },
            render: { $0 ? "true" : "false" })
    }

    static func string(nonEmpty: Bool = true, secret: Bool = false) -> ValueParser<String> {
        ValueParser(
            kind: "string",
            yaml: { node in
                guard let scalar = node.scalar, node.tagName != .null else { return .failure(wrongType("a string", node)) }
                return .success(scalar.string)
            },
            text: { .success($0) },
            render: { secret ? "<set>" : $0 }
        ).checked { value in
            nonEmpty && value.trimmingCharacters(in: .whitespaces).isEmpty ? ValueProblem(code: .invalidValue, message: "must not be empty") : nil
        }
    }

    static func secret(_ check: @escaping (String) -> String? = { _ in nil }) -> ValueParser<Secret> {
        ValueParser(
            kind: "secret",
            yaml: { node in
                guard node.scalar != nil, node.tagName != .null, let string = node.string else {
                    return .failure(ValueProblem(code: .wrongType, message: "expected a string, found \(describe(node, secret: true))"))
                }
                return .success(Secret(string))
            },
            text: { .success(Secret($0)) },
            render: { _ in "<set>" }
        ).checked { value in check(value.reveal()).map { ValueProblem(code: .invalidValue, message: $0) } }
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> ValueParser<E> where E.RawValue == String {
        let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
        func parse(_ raw: String) -> Result<E, ValueProblem> {
            guard let value = E(rawValue: raw.trimmingCharacters(in: .whitespaces).lowercased()) else {
                return .failure(ValueProblem(code: .invalidValue, message: "unknown value \(quoted(raw)); expected one of \(allowed)"))
            }
            return .success(value)
        }
        return ValueParser(
            kind: "one of \(allowed)",
            yaml: { node in
                guard let scalar = node.scalar, node.tagName != .null else { return .failure(wrongType("one of \(allowed)", node)) }
                return parse(scalar.string)
            },
            text: parse,
            render: { $0.rawValue })
    }

    /// A YAML list, or comma-separated in the environment.
    static func list<Element>(_ element: ValueParser<Element>) -> ValueParser<[Element]> {
        ValueParser<[Element]>(
            kind: "list of \(element.kind)",
            yaml: { node in
                if ValueParser<Element>.isNull(node) { return .success([]) }
                guard let sequence = node.sequence else { return .failure(wrongType("a list", node)) }
                var values: [Element] = []
                for (index, item) in sequence.enumerated() {
                    switch element.yaml(item) {
                    case .success(let value): values.append(value)
                    case .failure(let problem):
                        return .failure(ValueProblem(code: problem.code, message: "item \(index + 1): \(problem.message)"))
                    }
                }
                return .success(values)
            },
            text: { raw in
                var values: [Element] = []
                for part in raw.split(separator: ",") {
                    switch element.text(part.trimmingCharacters(in: .whitespaces)) {
                    case .success(let value): values.append(value)
                    case .failure(let problem): return .failure(problem)
                    }
                }
                return .success(values)
            },
            render: { "[" + $0.map(element.render).joined(separator: ", ") + "]" })
    }

    static func channel() -> ValueParser<Channel> {
        let allowed = Channel.allCases.map(\.eventType).joined(separator: ", ")
        func parse(_ raw: String) -> Result<Channel, ValueProblem> {
            guard let channel = Channel(eventType: raw) ?? Channel(rawValue: raw) else {
                return .failure(ValueProblem(code: .invalidValue, message: "unknown event type \(quoted(raw)); expected one of \(allowed)"))
            }
            return .success(channel)
        }
        return ValueParser(
            kind: "event type",
            yaml: { node in
                guard let scalar = node.scalar, node.tagName != .null else { return .failure(wrongType("an event type", node)) }
                return parse(scalar.string)
            },
            text: parse,
            render: { $0.eventType })
    }

    /// A mapping of names to numbers; `name=1,other=2` in the environment.
    static func numberMap() -> ValueParser<[String: Double]> {
        func validName(_ name: String) -> Bool {
            guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) || ("A"..."Z").contains(first) else { return false }
            return name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        }
        let badName = "names must be identifiers (letters, digits, _)"
        return ValueParser(
            kind: "mapping of name to number",
            yaml: { node in
                if ValueParser<[String: Double]>.isNull(node) { return .success([:]) }
                guard let mapping = node.mapping else { return .failure(wrongType("a mapping of names to numbers", node)) }
                var map: [String: Double] = [:]
                for (key, value) in mapping {
                    let name = key.string ?? ""
                    guard validName(name) else { return .failure(ValueProblem(code: .invalidValue, message: "\(quoted(name)): \(badName)")) }
                    guard value.scalar != nil, value.tagName == .int || value.tagName == .float, let number = value.float, number.isFinite else {
                        return .failure(ValueProblem(code: .wrongType, message: "\(name): expected a number, found \(describe(value))"))
                    }
                    map[name] = number
                }
                return .success(map)
            },
            text: { raw in
                var map: [String: Double] = [:]
                for part in raw.split(separator: ",") {
                    let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard pieces.count == 2, validName(pieces[0]), let number = Double(pieces[1]), number.isFinite else {
                        return .failure(ValueProblem(code: .wrongType, message: "expected name=number pairs separated by commas, found \(quoted(String(part)))"))
                    }
                    map[pieces[0]] = number
                }
                return .success(map)
            },
            render: { map in "{" + map.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.formatted)" }.joined(separator: ", ") + "}" })
    }

    static func url(schemes: [String]) -> (String) -> String? {
        { text in
            guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), schemes.contains(scheme),
                  let host = components.host, !host.isEmpty || scheme == "unix"
            else {
                return "expected a URL starting with " + schemes.map { "\($0)://" }.joined(separator: " or ")
            }
            return nil
        }
    }
}

extension Node {
    /// The resolved YAML tag: `.int`, `.float`, `.bool`, `.null`, `.str`, ... (quoted scalars are `.str`).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.description) }
}
