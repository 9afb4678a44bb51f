import Foundation

/// Reads `Decodable` types from a ``JSONValue``, the way every HemoStat message is read.
///
/// The first problem is thrown as a ``MessageDecodingError`` whose path names the field
/// (`data.anomalies[0].severity: expected a string, found a number`). Beyond what
/// `JSONDecoder` does, it reads:
/// - `Int` from a number written with a zero fraction (`3.0`), as producers in other
///   languages write them;
/// - `Date` from an ISO-8601 timestamp (``Timestamp/parse(_:)``);
/// - string enums conforming to ``ContractEnum`` with an error listing the allowed values.
///
/// Fields a type does not ask for are ignored, so producers may add fields. `null` counts as
/// absent for `decodeIfPresent`.
package struct JSONValueDecoder {
    /// Values a type's `init(from:)` may read (``EnvelopeFields/userInfoKey``).
    package var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    package init() {}

    /// Decodes `type` from `value`; `path` names `value` in errors (`data`), empty for the root.
    package func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, path: String = "") throws(MessageDecodingError) -> T {
        let root = ValueDecoder(value: value, parent: nil, key: path.isEmpty ? nil : JSONKey(path), context: DecodingContext(userInfo: userInfo))
        do {
            return try root.decodeValue(T.self)
        } catch let error as MessageDecodingError {
            throw error
        } catch {
            throw MessageDecodingError(code: .invalidValue, path: path.isEmpty ? nil : path, reason: "\(path.isEmpty ? "message" : path): \(error)")
        }
    }
}

/// A key naming a field or an array index in a coding path.
struct JSONKey: CodingKey {
    private let name: String
    let intValue: Int?

    init(_ string: String) {
        name = string
        intValue = nil
    }

    init(index: Int) {
        name = ""
        intValue = index
    }

    /// Spelled out only when asked (an error's path), not for every array element.
    var stringValue: String { intValue.map(String.init) ?? name }

    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}

extension MessageDecodingError {
    /// `data.anomalies[0].severity` for a coding path.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var path = ""
        for key in codingPath {
            // Only an array's keys are indices: a map's key may read as a number too.
            if let key = key as? JSONKey, let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return path
    }

    /// A field with the right JSON type and a value the contract does not allow.
    package static func invalid(_ codingPath: [any CodingKey], _ problem: String) -> MessageDecodingError {
        invalid(path(codingPath), problem)
    }
}

/// A string enum of the message contract: reading an unknown value names the field and lists
/// the values allowed.
public protocol ContractEnum: RawRepresentable, CaseIterable, Codable where RawValue == String {}

extension ContractEnum {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let value = Self(rawValue: raw) else {
            let allowed = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw MessageDecodingError.invalid(decoder.codingPath, "unknown value \(MessageDecodingError.quote(raw)); expected one of \(allowed)")
        }
        self = value
    }
}

// MARK: - Validation while decoding

extension KeyedDecodingContainer {
    /// A string that must not be empty (identifiers, names).
    package func decode(_ type: String.Type, forKey key: Key, nonEmpty: Bool) throws -> String {
        let string = try decode(String.self, forKey: key)
        if nonEmpty, string.isEmpty { throw MessageDecodingError.invalid(codingPath + [key], "must not be empty") }
        return string
    }

    /// An integer no smaller than `minimum`.
    package func decode(_ type: Int.Type, forKey key: Key, minimum: Int) throws -> Int {
        try check(decode(Int.self, forKey: key), minimum: minimum, key)
    }

    package func decodeIfPresent(_ type: Int.Type, forKey key: Key, minimum: Int) throws -> Int? {
        try decodeIfPresent(Int.self, forKey: key).map { try check($0, minimum: minimum, key) }
    }

    /// A number within `range`.
    package func decode(_ type: Double.Type, forKey key: Key, in range: ClosedRange<Double>) throws -> Double {
        try check(decode(Double.self, forKey: key), in: range, key)
    }

    package func decodeIfPresent(_ type: Double.Type, forKey key: Key, in range: ClosedRange<Double>) throws -> Double? {
        try decodeIfPresent(Double.self, forKey: key).map { try check($0, in: range, key) }
    }

    /// A string, nil when absent, null or empty.
    package func decodeNonEmptyIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try decodeIfPresent(String.self, forKey: key).flatMap { $0.isEmpty ? nil : $0 }
    }

    private func check(_ value: Int, minimum: Int, _ key: Key) throws -> Int {
        if value < minimum { throw MessageDecodingError.invalid(codingPath + [key], "must be at least \(minimum), found \(value)") }
        return value
    }

    private func check(_ value: Double, in range: ClosedRange<Double>, _ key: Key) throws -> Double {
        if !range.contains(value) {
            throw MessageDecodingError.invalid(
                codingPath + [key], "must be between \(range.lowerBound.formatted) and \(range.upperBound.formatted), found \(value.formatted)")
        }
        return value
    }
}

extension Double {
    /// `85` for whole numbers, `92.5` otherwise.
    package var formatted: String {
        self == rounded() && abs(self) < 1e15 ? String(Int(self)) : "\(self)"
    }
}

extension ClosedRange<Double> {
    /// Every non-negative number, for byte counts and percentages.
    package static let nonNegative: ClosedRange<Double> = 0...Double.greatestFiniteMagnitude
}

// MARK: - The decoder

/// What every decoder of one document shares.
private final class DecodingContext {
    let userInfo: [CodingUserInfoKey: Any]

    init(userInfo: [CodingUserInfoKey: any Sendable]) {
        self.userInfo = userInfo
    }
}

/// Where an object or array sits in the document, made once per container rather than once per
/// field: the coding path is only spelled out for an error.
private final class PathNode {
    let parent: PathNode?
    let key: (any CodingKey)?

    init(parent: PathNode?, key: (any CodingKey)?) {
        self.parent = parent
        self.key = key
    }

    var codingPath: [any CodingKey] {
        var keys: [any CodingKey] = []
        var node: PathNode? = self
        while let current = node {
            if let key = current.key { keys.append(key) }
            node = current.parent
        }
        return keys.reversed()
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let parent: PathNode?
    let key: (any CodingKey)?
    let context: DecodingContext

    var codingPath: [any CodingKey] {
        var path = parent?.codingPath ?? []
        if let key { path.append(key) }
        return path
    }

    var userInfo: [CodingUserInfoKey: Any] { context.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw wrongType(expected: "an object") }
        return KeyedDecodingContainer(KeyedContainer(fields: fields, node: PathNode(parent: parent, key: key), context: context))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw wrongType(expected: "an array") }
        return UnkeyedContainer(elements: elements, node: PathNode(parent: parent, key: key), context: context)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func wrongType(expected: String) -> MessageDecodingError {
        value.wrongType(codingPath, expected: expected)
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        // Concrete types first: the synthesized paths of Date and Int would not give the
        // contract's errors.
        if type == Date.self {
            let text = try decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw MessageDecodingError.invalid(codingPath, "expected an ISO-8601 timestamp such as 2025-01-31T12:00:00.000Z, found \(MessageDecodingError.quote(text))")
            }
            return date as! T
        }
        if type == JSONValue.self { return value as! T }
        return try T(from: self)
    }
}

/// How a JSON scalar reads as a Swift one. `path` is spelled out only for an error, so a field
/// is read without building its coding path.
extension JSONValue {
    fileprivate func read(_ type: Bool.Type, at path: () -> [any CodingKey]) throws -> Bool {
        guard case .bool(let flag) = self else { throw wrongType(path(), expected: "a boolean") }
        return flag
    }

    fileprivate func read(_ type: String.Type, at path: () -> [any CodingKey]) throws -> String {
        guard case .string(let string) = self else { throw wrongType(path(), expected: "a string") }
        return string
    }

    fileprivate func read(_ type: Double.Type, at path: () -> [any CodingKey]) throws -> Double {
        switch self {
        case .integer(let int): return Double(int)
        case .number(let double): return double
        default: throw wrongType(path(), expected: "a number")
        }
    }

    fileprivate func read(_ type: Int.Type, at path: () -> [any CodingKey]) throws -> Int {
        switch self {
        case .integer(let int):
            return int
        case .number(let double):
            // Producers in other languages may write 3.0 for an integer.
            guard double == double.rounded(), let int = Int(exactly: double) else {
                throw MessageDecodingError.invalid(path(), "expected an integer, found \(double)")
            }
            return int
        default:
            throw wrongType(path(), expected: "an integer")
        }
    }

    fileprivate func wrongType(_ codingPath: [any CodingKey], expected: String) -> MessageDecodingError {
        let path = MessageDecodingError.path(codingPath)
        return .wrongType(path.isEmpty ? "message" : path, expected: expected, found: self)
    }
}

extension ValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try value.read(type) { codingPath } }
    func decode(_ type: String.Type) throws -> String { try value.read(type) { codingPath } }
    func decode(_ type: Double.Type) throws -> Double { try value.read(type) { codingPath } }
    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    func decode(_ type: Int.Type) throws -> Int { try value.read(type) { codingPath } }
    func decode(_ type: Int8.Type) throws -> Int8 { try exactly(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try exactly(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try exactly(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try exactly(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try exactly(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try exactly(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try exactly(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try exactly(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try exactly(type) }

    private func exactly<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        let int = try decode(Int.self)
        guard let exact = I(exactly: int) else { throw MessageDecodingError.invalid(codingPath, "\(int) is out of range") }
        return exact
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [String: JSONValue]
    let node: PathNode
    let context: DecodingContext

    var codingPath: [any CodingKey] { node.codingPath }
    var allKeys: [Key] { fields.keys.compactMap(Key.init(stringValue:)) }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    private func field(_ key: Key) throws -> JSONValue {
        guard let value = fields[key.stringValue] else {
            throw MessageDecodingError.missing(MessageDecodingError.path(codingPath + [key]))
        }
        return value
    }

    private func child(_ key: Key) throws -> ValueDecoder {
        ValueDecoder(value: try field(key), parent: node, key: key, context: context)
    }

    /// The field's value; nil when the field is absent or null.
    private func present(_ key: Key) -> JSONValue? {
        switch fields[key.stringValue] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    func decodeNil(forKey key: Key) throws -> Bool { fields[key.stringValue] ?? .null == .null }

    // The scalars read their field's value directly, without a decoder for it.
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try field(key).read(type) { codingPath + [key] } }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try field(key).read(type) { codingPath + [key] } }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try field(key).read(type) { codingPath + [key] } }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try field(key).read(type) { codingPath + [key] } }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present(key)?.read(type) { codingPath + [key] } }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present(key)?.read(type) { codingPath + [key] } }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try present(key)?.read(type) { codingPath + [key] } }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present(key)?.read(type) { codingPath + [key] } }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = present(key) else { return nil }
        return try ValueDecoder(value: value, parent: node, key: key, context: context).decodeValue(type)
    }

    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { ValueDecoder(value: .object(fields), parent: node.parent, key: node.key, context: context) }
    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let node: PathNode
    let context: DecodingContext
    var currentIndex = 0

    init(elements: [JSONValue], node: PathNode, context: DecodingContext) {
        self.elements = elements
        self.node = node
        self.context = context
    }

    var codingPath: [any CodingKey] { node.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> ValueDecoder {
        let key = JSONKey(index: currentIndex)
        guard !isAtEnd else { throw MessageDecodingError.missing(MessageDecodingError.path(codingPath + [key])) }
        defer { currentIndex += 1 }
        return ValueDecoder(value: elements[currentIndex], parent: node, key: key, context: context)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next().decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decode(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next() }
}
