import Foundation

/// A JSON document as read from Redis: the dashboard passes the agents' envelopes through
/// without knowing every field, and builds its own answers with the same type.
enum JSONNode: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONNode])
    case object([String: JSONNode])

    /// Parses UTF-8 JSON; nil when the text is not JSON.
    init?(parsing text: String) {
        self.init(parsing: Data(text.utf8))
    }

    /// Parses UTF-8 JSON; nil when the bytes are not JSON.
    init?(parsing data: Data) {
        guard let any = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return nil }
        self.init(any: any)
    }

    private init(any: Any) {
        switch any {
        case let s as String:
            self = .string(s)
        case let n as NSNumber:
            // JSONSerialization gives booleans as NSNumber of type "c" (char); numbers never are.
            self = String(cString: n.objCType) == "c" ? .bool(n.boolValue) : .number(n.doubleValue)
        case let a as [Any]:
            self = .array(a.map(JSONNode.init(any:)))
        case let d as [String: Any]:
            self = .object(d.mapValues(JSONNode.init(any:)))
        default:
            self = .null
        }
    }

    subscript(key: String) -> JSONNode? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var string: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    var double: Double? {
        switch self {
        case .number(let n): return n
        case .string(let s): return Double(s)
        default: return nil
        }
    }

    var int: Int? { double.map { Int($0) } }

    var bool: Bool? {
        switch self {
        case .bool(let b): return b
        case .string(let s): return ["true", "1", "yes"].contains(s.lowercased()) ? true : (["false", "0", "no"].contains(s.lowercased()) ? false : nil)
        case .number(let n): return n != 0
        default: return nil
        }
    }

    var array: [JSONNode]? {
        if case .array(let a) = self { return a }
        return nil
    }

    var object: [String: JSONNode]? {
        if case .object(let o) = self { return o }
        return nil
    }

    var isNull: Bool { self == .null }

    /// Compact JSON text with sorted keys. `/` is not escaped; `<`, `>` and `&` are, so the
    /// text is safe to embed anywhere in a page.
    var jsonText: String {
        var out = ""
        write(into: &out)
        return out
    }

    /// The same document with values under secret-looking keys replaced by `"[redacted]"`.
    /// Messages are not meant to carry secrets; this keeps one that does off the page.
    func redactingSecrets() -> JSONNode {
        switch self {
        case .object(let o):
            var copy: [String: JSONNode] = [:]
            for (k, v) in o {
                copy[k] = Self.isSecretKey(k) ? .string("[redacted]") : v.redactingSecrets()
            }
            return .object(copy)
        case .array(let a): return .array(a.map { $0.redactingSecrets() })
        default: return self
        }
    }

    static func isSecretKey(_ key: String) -> Bool {
        let k = key.lowercased().replacingOccurrences(of: "-", with: "_")
        if k.contains("password") || k.contains("passwd") || k.contains("secret") || k.contains("api_key") || k.contains("apikey") {
            return true
        }
        if k == "token" || k.hasSuffix("_token") || k == "authorization" || k == "cookie" || k.contains("webhook_url") || k == "credentials" {
            return true
        }
        return false
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n):
            if !n.isFinite {
                out += "null"
            } else if n == n.rounded() && abs(n) < 1e15 {
                out += String(Int64(n))
            } else {
                out += String(n)
            }
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                Self.writeString(k, into: &out)
                out += ":"
                o[k]!.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONNode: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .number(Double(value)) }
    init(floatLiteral value: Double) { self = .number(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSONNode...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSONNode)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    init(nilLiteral: ()) { self = .null }
}

extension JSONNode {
    /// A string or null.
    static func from(_ s: String?) -> JSONNode { s.map { .string($0) } ?? .null }
    /// A number or null.
    static func from(_ n: Int?) -> JSONNode { n.map { .number(Double($0)) } ?? .null }
    static func from(_ n: Double?) -> JSONNode { n.map { .number($0) } ?? .null }
    static func from(_ b: Bool?) -> JSONNode { b.map { .bool($0) } ?? .null }
}
