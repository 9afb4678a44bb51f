public import Foundation

/// A JSON-like value: the alert a rule receives, action parameters a rule returns, and the
/// contents of rule test files.
///
/// Pushed into Lua as tables (objects keyed by string, arrays 1-based); `null` becomes `nil`.
/// Integral numbers reach Lua as integers, so `alert.exit_code == 137` and
/// `tostring(alert.exit_code) == "137"` both hold.
public enum RuleValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([RuleValue])
    case object([String: RuleValue])

    /// Parses JSON bytes (an object, array or scalar).
    ///
    /// - Throws: `RuleError` with code `.invalidInput` when the bytes are not JSON.
    public init(json: Data) throws {
        do {
            self = try JSONDecoder().decode(RuleValue.self, from: json)
        } catch {
            throw RuleError(code: .invalidInput, message: "not valid JSON: \(Self.describe(error))")
        }
    }

    /// The member `key` of an object, or `nil` for other values and missing keys.
    public subscript(key: String) -> RuleValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number, if this is one.
    public var numberValue: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The boolean, if this is one.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [RuleValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members, if this is an object.
    public var objectValue: [String: RuleValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Compact JSON text with sorted keys.
    public var jsonText: String {
        let data = (try? JSONEncoder.sorted.encode(self)) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        default:
            return "\(error)"
        }
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension RuleValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([RuleValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: RuleValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 {
                try container.encode(Int64(n))
            } else {
                try container.encode(n)
            }
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

extension RuleValue: ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: RuleValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, RuleValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}
