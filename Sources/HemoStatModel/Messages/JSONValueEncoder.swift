import Foundation

/// Writes `Encodable` types as a ``JSONValue``, the way every HemoStat message is written:
/// optional fields that are nil are left out, a `Date` is written as an ISO-8601 timestamp in UTC
/// (``Timestamp/format(_:)``), integers stay integers.
package struct JSONValueEncoder {
    package init() {}

    package func encode(_ value: some Encodable) -> JSONValue {
        if let json = scalar(value) { return json }
        let root = EncodedValue()
        do {
            try ValueEncoder(slot: root, codingPath: []).encodeValue(value)
        } catch {
            // The encoder itself never throws; a type's encode(to:) may, and the contract's
            // types do not.
            preconditionFailure("encoding \(type(of: value)) failed: \(error)")
        }
        return root.json
    }
}

/// A value being built. Scalars are stored as they are written; an object or array keeps a
/// slot per member that is itself a container, for its encoder to fill in later.
private final class EncodedValue {
    enum Member {
        case value(JSONValue)
        case nested(EncodedValue)

        var json: JSONValue {
            switch self {
            case .value(let value): value
            case .nested(let slot): slot.json
            }
        }
    }

    var leaf: JSONValue = .null
    var fields: [String: Member]?
    var elements: [Member]?

    var json: JSONValue {
        if let fields { return .object(fields.mapValues(\.json)) }
        if let elements { return .array(elements.map(\.json)) }
        return leaf
    }

    func makeObject() {
        if fields == nil { fields = [:] }
    }

    func makeArray() {
        if elements == nil { elements = [] }
    }

    func set(_ key: String, _ value: JSONValue) {
        fields?[key] = .value(value)
    }

    func nestedField(_ key: String) -> EncodedValue {
        if case .nested(let existing)? = fields?[key] { return existing }
        let slot = EncodedValue()
        fields?[key] = .nested(slot)
        return slot
    }

    func append(_ value: JSONValue) {
        elements?.append(.value(value))
    }

    func appendNested() -> EncodedValue {
        let slot = EncodedValue()
        elements?.append(.nested(slot))
        return slot
    }

    var count: Int { elements?.count ?? 0 }
}

/// A value written as one JSON scalar (or, for ``JSONValue``, as it is), without an encoder.
private protocol JSONScalar {
    var jsonScalar: JSONValue { get }
}

extension String: JSONScalar { var jsonScalar: JSONValue { .string(self) } }
extension Int: JSONScalar { var jsonScalar: JSONValue { .integer(self) } }
extension Double: JSONScalar { var jsonScalar: JSONValue { .number(self) } }
extension Bool: JSONScalar { var jsonScalar: JSONValue { .bool(self) } }
extension Date: JSONScalar { var jsonScalar: JSONValue { .string(Timestamp.format(self)) } }
extension JSONValue: JSONScalar { var jsonScalar: JSONValue { self } }

/// A scalar's JSON form, or nil for a value that encodes itself into containers.
private func scalar(_ value: some Encodable) -> JSONValue? {
    (value as? any JSONScalar)?.jsonScalar
}

private struct ValueEncoder: Encoder, SingleValueEncodingContainer {
    let slot: EncodedValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        slot.makeObject()
        return KeyedEncodingContainer(KeyedContainer(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        slot.makeArray()
        return UnkeyedContainer(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func child(_ slot: EncodedValue, _ key: any CodingKey) -> ValueEncoder {
        ValueEncoder(slot: slot, codingPath: codingPath + [key])
    }

    func encodeValue<T: Encodable>(_ value: T) throws {
        if let json = scalar(value) {
            slot.leaf = json
        } else {
            try value.encode(to: self)
        }
    }

    func encodeNil() { slot.leaf = (.null) }
    func encode(_ value: Bool) { slot.leaf = (.bool(value)) }
    func encode(_ value: String) { slot.leaf = (.string(value)) }
    func encode(_ value: Double) { slot.leaf = (.number(value)) }
    func encode(_ value: Float) { slot.leaf = (.number(Double(value))) }
    func encode(_ value: Int) { slot.leaf = (.integer(value)) }
    func encode(_ value: Int8) { encode(Int(value)) }
    func encode(_ value: Int16) { encode(Int(value)) }
    func encode(_ value: Int32) { encode(Int(value)) }
    func encode(_ value: Int64) { encode(Int(value)) }
    func encode(_ value: UInt) { encodeUnsigned(value) }
    func encode(_ value: UInt8) { encode(Int(value)) }
    func encode(_ value: UInt16) { encode(Int(value)) }
    func encode(_ value: UInt32) { encode(Int(value)) }
    func encode(_ value: UInt64) { encodeUnsigned(value) }
    func encode<T: Encodable>(_ value: T) throws { try encodeValue(value) }

    private func encodeUnsigned<U: UnsignedInteger>(_ value: U) {
        slot.leaf = (Int(exactly: value).map(JSONValue.integer) ?? .number(Double(value)))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func child(_ key: Key) -> ValueEncoder {
        encoder.child(encoder.slot.nestedField(key.stringValue), key)
    }

    private func set(_ value: JSONValue, _ key: Key) {
        encoder.slot.set(key.stringValue, value)
    }

    func encodeNil(forKey key: Key) { set(.null, key) }
    func encode(_ value: Bool, forKey key: Key) { set(.bool(value), key) }
    func encode(_ value: String, forKey key: Key) { set(.string(value), key) }
    func encode(_ value: Double, forKey key: Key) { set(.number(value), key) }
    func encode(_ value: Float, forKey key: Key) { set(.number(Double(value)), key) }
    func encode(_ value: Int, forKey key: Key) { set(.integer(value), key) }
    func encode(_ value: Int8, forKey key: Key) { set(.integer(Int(value)), key) }
    func encode(_ value: Int16, forKey key: Key) { set(.integer(Int(value)), key) }
    func encode(_ value: Int32, forKey key: Key) { set(.integer(Int(value)), key) }
    func encode(_ value: Int64, forKey key: Key) { set(.integer(Int(value)), key) }
    func encode(_ value: UInt, forKey key: Key) { child(key).encode(value) }
    func encode(_ value: UInt8, forKey key: Key) { set(.integer(Int(value)), key) }
    func encode(_ value: UInt16, forKey key: Key) { set(.integer(Int(value)), key) }
    func encode(_ value: UInt32, forKey key: Key) { set(.integer(Int(value)), key) }
    func encode(_ value: UInt64, forKey key: Key) { child(key).encode(value) }

    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if let json = scalar(value) {
            set(json, key)
        } else {
            try child(key).encodeValue(value)
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        child(key).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        child(key).unkeyedContainer()
    }

    func superEncoder() -> any Encoder { encoder }
    func superEncoder(forKey key: Key) -> any Encoder { child(key) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { encoder.slot.count }

    private func next() -> ValueEncoder {
        let key = JSONKey(index: count)
        return encoder.child(encoder.slot.appendNested(), key)
    }

    private func append(_ value: JSONValue) {
        encoder.slot.append(value)
    }

    func encodeNil() { append(.null) }
    func encode(_ value: Bool) { append(.bool(value)) }
    func encode(_ value: String) { append(.string(value)) }
    func encode(_ value: Double) { append(.number(value)) }
    func encode(_ value: Float) { append(.number(Double(value))) }
    func encode(_ value: Int) { append(.integer(value)) }
    func encode(_ value: Int8) { append(.integer(Int(value))) }
    func encode(_ value: Int16) { append(.integer(Int(value))) }
    func encode(_ value: Int32) { append(.integer(Int(value))) }
    func encode(_ value: Int64) { append(.integer(Int(value))) }
    func encode(_ value: UInt) { next().encode(value) }
    func encode(_ value: UInt8) { append(.integer(Int(value))) }
    func encode(_ value: UInt16) { append(.integer(Int(value))) }
    func encode(_ value: UInt32) { append(.integer(Int(value))) }
    func encode(_ value: UInt64) { next().encode(value) }

    func encode<T: Encodable>(_ value: T) throws {
        if let json = scalar(value) {
            append(json)
        } else {
            try next().encodeValue(value)
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next().container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { next().unkeyedContainer() }
    func superEncoder() -> any Encoder { next() }
}
