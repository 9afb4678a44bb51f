/// A JSON document as a Swift value: what a message's `data` holds before it is read into a
/// typed payload and what a payload turns into before it is written, a stats document, what a
/// rule receives and returns, and the cases of a rule test file. The one any-JSON type.
///
/// Integers and other numbers are kept apart so that byte counts survive a round trip exactly;
/// a field declared as a number accepts both, and equality is numeric (`.integer(3)` equals
/// `.number(3)`), as JSON has one kind of number.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The name of this value's JSON type as used in error reasons: "a string", "an object", ...
    public var typeDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses UTF-8 encoded JSON text.
    ///
    /// - Throws: `MessageDecodingError` with code `.invalidJSON` and the byte offset of the
    ///   problem. Nesting deeper than 128 levels is rejected.
    public static func parse(_ bytes: some Collection<UInt8>) throws(MessageDecodingError) -> JSONValue {
        var parser = JSONParser(bytes: Array(bytes))
        return try parser.parseDocument()
    }

    /// Parses JSON text.
    public static func parse(_ text: String) throws(MessageDecodingError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Compact JSON text with object keys sorted, so equal values give equal text.
    ///
    /// Non-finite numbers have no JSON form and are written as `null`.
    public var jsonText: String {
        var out = ""
        JSONWriter.write(self, into: &out)
        return out
    }

    /// ``jsonText`` with `<`, `>`, `&`, U+2028 and U+2029 also written as `\u` escapes, so the
    /// text is safe to embed anywhere in a web page (the escapes mean the same characters).
    public var htmlSafeText: String {
        var out = ""
        JSONWriter.write(self, into: &out, htmlSafe: true)
        return out
    }

    /// The same text indented by two spaces a level, for people to read.
    public var prettyText: String {
        var out = ""
        JSONWriter.write(self, into: &out, indent: "  ", level: 0)
        return out
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.integer, .number), (.number, .integer), (.number, .number): lhs.doubleValue == rhs.doubleValue
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let flag): hasher.combine(flag)
        case .integer, .number: hasher.combine(doubleValue)
        case .string(let string): hasher.combine(string)
        case .array(let elements): hasher.combine(elements)
        case .object(let fields): hasher.combine(fields)
        }
    }
}

extension JSONValue {
    /// The field `key` of an object; nil when this is not an object or has no such field.
    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    /// The text of a string; nil for any other type.
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// An integer, or a number with no fractional part that fits; nil for any other value.
    public var intValue: Int? {
        switch self {
        case .integer(let int): int
        case .number(let double) where double.rounded() == double && abs(double) < 9e15: Int(double)
        default: nil
        }
    }

    /// Any number; nil for any other type.
    public var doubleValue: Double? {
        switch self {
        case .integer(let int): Double(int)
        case .number(let double): double
        default: nil
        }
    }

    /// A boolean; nil for any other type.
    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    /// The elements of an array; nil for any other type.
    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The fields of an object; nil for any other type.
    public var objectValue: [String: JSONValue]? {
        if case .object(let fields) = self { return fields }
        return nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

enum JSONWriter {
    static func write(_ value: JSONValue, into out: inout String, htmlSafe: Bool = false) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .integer(let int): out += String(int)
        case .number(let double): writeNumber(double, into: &out)
        case .string(let string): writeString(string, into: &out, htmlSafe: htmlSafe)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                write(element, into: &out, htmlSafe: htmlSafe)
            }
            out += "]"
        case .object(let fields):
            writeObject(fields.sorted { $0.key < $1.key }, into: &out, htmlSafe: htmlSafe)
        }
    }

    /// Writes `value` over several lines, `indent` per level.
    static func write(_ value: JSONValue, into out: inout String, indent: String, level: Int) {
        let inner = String(repeating: indent, count: level + 1)
        switch value {
        case .array(let elements) where !elements.isEmpty:
            out += "[\n"
            for (index, element) in elements.enumerated() {
                out += inner
                write(element, into: &out, indent: indent, level: level + 1)
                out += index < elements.count - 1 ? ",\n" : "\n"
            }
            out += String(repeating: indent, count: level) + "]"
        case .object(let fields) where !fields.isEmpty:
            out += "{\n"
            for (index, field) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
                out += inner
                writeString(field.key, into: &out)
                out += ": "
                write(field.value, into: &out, indent: indent, level: level + 1)
                out += index < fields.count - 1 ? ",\n" : "\n"
            }
            out += String(repeating: indent, count: level) + "}"
        default:
            write(value, into: &out)
        }
    }

    /// Writes an object with its keys in the given order.
    static func writeObject(_ fields: [(key: String, value: JSONValue)], into out: inout String, htmlSafe: Bool = false) {
        out += "{"
        for (index, field) in fields.enumerated() {
            if index > 0 { out += "," }
            writeString(field.key, into: &out, htmlSafe: htmlSafe)
            out += ":"
            write(field.value, into: &out, htmlSafe: htmlSafe)
        }
        out += "}"
    }

    static func writeNumber(_ double: Double, into out: inout String) {
        guard double.isFinite else {
            out += "null"
            return
        }
        if double == double.rounded(), abs(double) < 1e15 {
            // Keep a fractional part so the value reads back as a number, not an integer.
            out += String(Int(double)) + ".0"
        } else {
            out += "\(double)"
        }
    }

    /// Whether `string` holds a character that ``writeString(_:into:htmlSafe:)`` escapes: a
    /// control character, `"` or `\\`; with `htmlSafe` also `<`, `>`, `&` and the lead byte of
    /// U+2028 and U+2029 (0xE2, which other characters share: they then take the slow path).
    private static func needsEscaping(_ string: String, htmlSafe: Bool) -> Bool {
        string.utf8.contains { byte in
            byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                || (htmlSafe && (byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&") || byte == 0xE2))
        }
    }

    static func writeString(_ string: String, into out: inout String, htmlSafe: Bool = false) {
        if !needsEscaping(string, htmlSafe: htmlSafe) {
            // Most strings (names, ids, timestamps) have nothing to escape: one copy.
            out += "\""
            out += string
            out += "\""
            return
        }
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "<" where htmlSafe: out += "\\u003c"
            case ">" where htmlSafe: out += "\\u003e"
            case "&" where htmlSafe: out += "\\u0026"
            case "\u{2028}" where htmlSafe: out += "\\u2028"
            case "\u{2029}" where htmlSafe: out += "\\u2029"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// A strict RFC 8259 parser over UTF-8 bytes.
struct JSONParser {
    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0
    private static let maximumDepth = 128

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func parseDocument() throws(MessageDecodingError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected content after the JSON value") }
        return value
    }

    private func failure(_ problem: String) -> MessageDecodingError {
        MessageDecodingError(code: .invalidJSON, path: nil, reason: "invalid JSON at byte \(index): \(problem)")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func parseValue() throws(MessageDecodingError) -> JSONValue {
        guard index < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: String) throws(MessageDecodingError) {
        let expected = Array(literal.utf8)
        guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
            throw failure("unexpected character")
        }
        index += expected.count
    }

    private mutating func enter() throws(MessageDecodingError) {
        depth += 1
        if depth > Self.maximumDepth { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func parseObject() throws(MessageDecodingError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var fields: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(fields)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a field name") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            index += 1
            skipWhitespace()
            fields[key] = try parseValue()
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(fields)
            } else {
                throw failure("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray() throws(MessageDecodingError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            } else {
                throw failure("expected ',' or ']'")
            }
        }
    }

    private mutating func parseHex4() throws(MessageDecodingError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            value <<= 4
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value |= UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value |= UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value |= UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("invalid \\u escape")
            }
        }
        index += 4
        return value
    }

    private mutating func parseString() throws(MessageDecodingError) -> String {
        index += 1
        var utf8: [UInt8] = []
        while true {
            guard index < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let string = String(validating: utf8, as: UTF8.self) else { throw failure("string is not valid UTF-8") }
                return string
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw failure("unterminated string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): utf8.append(0x22)
                case UInt8(ascii: "\\"): utf8.append(0x5C)
                case UInt8(ascii: "/"): utf8.append(0x2F)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw failure("unpaired surrogate in \\u escape")
                        }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw failure("unpaired surrogate in \\u escape")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw failure("invalid \\u escape") }
                    utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw failure("invalid escape")
                }
            default:
                guard byte >= 0x20 else { throw failure("control character in string") }
                utf8.append(byte)
                index += 1
            }
        }
    }

    private mutating func parseNumber() throws(MessageDecodingError) -> JSONValue {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ parser: inout JSONParser) -> Int {
            var count = 0
            while parser.index < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index]) {
                parser.index += 1
                count += 1
            }
            return count
        }
        let integerStart = index
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw failure("invalid number") }
        if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") { throw failure("leading zero in number") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard digits(&self) > 0 else { throw failure("invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw failure("invalid number") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let int = Int(text) { return .integer(int) }
        guard let double = Double(text), double.isFinite else { throw failure("number out of range") }
        return .number(double)
    }
}

extension JSONValue: Codable {
    /// Any JSON value. ``JSONValueDecoder`` hands the value over as it is; other decoders are
    /// asked for each JSON type in turn.
    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: JSONKey.self) {
            var fields: [String: JSONValue] = [:]
            for key in keyed.allKeys { fields[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(fields)
        } else if var unkeyed = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !unkeyed.isAtEnd { elements.append(try unkeyed.decode(JSONValue.self)) }
            self = .array(elements)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let flag = try? single.decode(Bool.self) {
                self = .bool(flag)
            } else if let int = try? single.decode(Int.self) {
                self = .integer(int)
            } else if let double = try? single.decode(Double.self) {
                self = .number(double)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let flag):
            var single = encoder.singleValueContainer()
            try single.encode(flag)
        case .integer(let int):
            var single = encoder.singleValueContainer()
            try single.encode(int)
        case .number(let double):
            var single = encoder.singleValueContainer()
            try single.encode(double)
        case .string(let string):
            var single = encoder.singleValueContainer()
            try single.encode(string)
        case .array(let elements):
            var unkeyed = encoder.unkeyedContainer()
            for element in elements { try unkeyed.encode(element) }
        case .object(let fields):
            var keyed = encoder.container(keyedBy: JSONKey.self)
            for (key, value) in fields { try keyed.encode(value, forKey: JSONKey(key)) }
        }
    }
}
