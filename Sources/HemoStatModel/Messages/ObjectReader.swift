package import Foundation

/// Reads the fields of one JSON object, checking each one's type and naming its full path in
/// every error. Fields it is not asked about are ignored, so producers may add fields.
struct ObjectReader {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws(MessageDecodingError) {
        guard case .object(let fields) = value else {
            throw .wrongType(path.isEmpty ? "message" : path, expected: "an object", found: value)
        }
        self.fields = fields
        self.path = path
    }

    func fieldPath(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The value of `key`, or nil when absent or null.
    func optionalValue(_ key: String) -> JSONValue? {
        switch fields[key] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    func value(_ key: String) throws(MessageDecodingError) -> JSONValue {
        guard let value = fields[key] else { throw .missing(fieldPath(key)) }
        return value
    }

    // MARK: Strings

    func string(_ key: String, nonEmpty: Bool = false) throws(MessageDecodingError) -> String {
        try Self.string(try value(key), path: fieldPath(key), nonEmpty: nonEmpty)
    }

    func optionalString(_ key: String) throws(MessageDecodingError) -> String? {
        guard let value = optionalValue(key) else { return nil }
        return try Self.string(value, path: fieldPath(key), nonEmpty: false)
    }

    static func string(_ value: JSONValue, path: String, nonEmpty: Bool) throws(MessageDecodingError) -> String {
        guard case .string(let string) = value else { throw .wrongType(path, expected: "a string", found: value) }
        if nonEmpty, string.isEmpty { throw .invalid(path, "must not be empty") }
        return string
    }

    func stringArray(_ key: String) throws(MessageDecodingError) -> [String] {
        let path = fieldPath(key)
        guard case .array(let elements) = try value(key) else { throw .wrongType(path, expected: "an array", found: try value(key)) }
        var strings: [String] = []
        for (index, element) in elements.enumerated() {
            strings.append(try Self.string(element, path: "\(path)[\(index)]", nonEmpty: false))
        }
        return strings
    }

    func optionalStringArray(_ key: String) throws(MessageDecodingError) -> [String]? {
        guard optionalValue(key) != nil else { return nil }
        return try stringArray(key)
    }

    func stringMap(_ key: String) throws(MessageDecodingError) -> [String: String] {
        let path = fieldPath(key)
        let value = try value(key)
        guard case .object(let fields) = value else { throw .wrongType(path, expected: "an object", found: value) }
        var map: [String: String] = [:]
        for (name, element) in fields {
            map[name] = try Self.string(element, path: "\(path).\(name)", nonEmpty: false)
        }
        return map
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws(MessageDecodingError) -> E where E.RawValue == String {
        let path = fieldPath(key)
        let raw = try string(key)
        guard let value = E(rawValue: raw) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalid(path, "unknown value \(MessageDecodingError.quote(raw)); expected one of \(allowed)")
        }
        return value
    }

    // MARK: Numbers and booleans

    func bool(_ key: String) throws(MessageDecodingError) -> Bool {
        let value = try value(key)
        guard case .bool(let flag) = value else { throw .wrongType(fieldPath(key), expected: "a boolean", found: value) }
        return flag
    }

    func optionalBool(_ key: String) throws(MessageDecodingError) -> Bool? {
        guard optionalValue(key) != nil else { return nil }
        return try bool(key)
    }

    func int(_ key: String, minimum: Int? = nil) throws(MessageDecodingError) -> Int {
        try Self.int(try value(key), path: fieldPath(key), minimum: minimum)
    }

    func optionalInt(_ key: String, minimum: Int? = nil) throws(MessageDecodingError) -> Int? {
        guard let value = optionalValue(key) else { return nil }
        return try Self.int(value, path: fieldPath(key), minimum: minimum)
    }

    static func int(_ value: JSONValue, path: String, minimum: Int?) throws(MessageDecodingError) -> Int {
        let result: Int
        switch value {
        case .integer(let int):
            result = int
        case .number(let double):
            // Producers in other languages may write 3.0 for an integer.
            guard double == double.rounded(), let int = Int(exactly: double) else {
                throw .invalid(path, "expected an integer, found \(double)")
            }
            result = int
        default:
            throw .wrongType(path, expected: "an integer", found: value)
        }
        if let minimum, result < minimum { throw .invalid(path, "must be at least \(minimum), found \(result)") }
        return result
    }

    func double(_ key: String, range: ClosedRange<Double>? = nil) throws(MessageDecodingError) -> Double {
        try Self.double(try value(key), path: fieldPath(key), range: range)
    }

    func optionalDouble(_ key: String, range: ClosedRange<Double>? = nil) throws(MessageDecodingError) -> Double? {
        guard let value = optionalValue(key) else { return nil }
        return try Self.double(value, path: fieldPath(key), range: range)
    }

    static func double(_ value: JSONValue, path: String, range: ClosedRange<Double>?) throws(MessageDecodingError) -> Double {
        let result: Double
        switch value {
        case .integer(let int): result = Double(int)
        case .number(let double): result = double
        default: throw .wrongType(path, expected: "a number", found: value)
        }
        if let range, !range.contains(result) {
            throw .invalid(path, "must be between \(range.lowerBound.formatted) and \(range.upperBound.formatted), found \(result.formatted)")
        }
        return result
    }

    // MARK: Dates and nested values

    func date(_ key: String) throws(MessageDecodingError) -> Date {
        let path = fieldPath(key)
        let text = try string(key)
        guard let date = Timestamp.parse(text) else {
            throw .invalid(path, "expected an ISO-8601 timestamp such as 2025-01-31T12:00:00.000Z, found \(MessageDecodingError.quote(text))")
        }
        return date
    }

    func optionalDate(_ key: String) throws(MessageDecodingError) -> Date? {
        guard optionalValue(key) != nil else { return nil }
        return try date(key)
    }

    func object(_ key: String) throws(MessageDecodingError) -> ObjectReader {
        try ObjectReader(try value(key), path: fieldPath(key))
    }

    func optionalObject(_ key: String) throws(MessageDecodingError) -> ObjectReader? {
        guard let value = optionalValue(key) else { return nil }
        return try ObjectReader(value, path: fieldPath(key))
    }

    func array(_ key: String) throws(MessageDecodingError) -> [(value: JSONValue, path: String)] {
        let path = fieldPath(key)
        let value = try value(key)
        guard case .array(let elements) = value else { throw .wrongType(path, expected: "an array", found: value) }
        return elements.enumerated().map { (value: $0.element, path: "\(path)[\($0.offset)]") }
    }
}

extension Double {
    /// `85` for whole numbers, `92.5` otherwise.
    package var formatted: String {
        self == rounded() && abs(self) < 1e15 ? String(Int(self)) : "\(self)"
    }
}

/// Builds a JSON object, leaving out optional fields that are nil.
package struct ObjectBuilder {
    package init() {}

    package private(set) var fields: [String: JSONValue] = [:]

    package subscript(key: String) -> JSONValue? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    package mutating func set(_ key: String, _ value: String?) { if let value { fields[key] = .string(value) } }
    package mutating func set(_ key: String, _ value: Int?) { if let value { fields[key] = .integer(value) } }
    package mutating func set(_ key: String, _ value: Double?) { if let value { fields[key] = .number(value) } }
    package mutating func set(_ key: String, _ value: Bool?) { if let value { fields[key] = .bool(value) } }
    package mutating func set(_ key: String, _ value: Date?) { if let value { fields[key] = .string(Timestamp.format(value)) } }
    package mutating func set(_ key: String, _ value: [String]?) { if let value { fields[key] = .array(value.map(JSONValue.string)) } }
    package mutating func set(_ key: String, _ value: JSONValue?) { if let value { fields[key] = value } }

    package var value: JSONValue { .object(fields) }
}
