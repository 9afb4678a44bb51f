public import Foundation

/// Header fields in the order they were given; lookups ignore case.
public struct HTTPHeaders: Sendable, Hashable, Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public private(set) var fields: [Field]

    public init(_ pairs: [(String, String)] = []) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    public init(arrayLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// The first value for `name` (case-insensitive), or nil.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// Every value for `name` (case-insensitive), in order.
    public func values(for name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces every field called `name` with one field.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name.caseInsensitiveCompare(name) == .orderedSame }
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// Names only: header values may carry credentials.
    public var description: String { "[" + fields.map(\.name).joined(separator: ", ") + "]" }
}

/// One HTTP request. A value: build it, then hand it to ``HTTPClient``.
public struct HTTPRequest: Sendable {
    /// An absolute `http://` or `https://` URL. With ``unixSocketPath`` the host part is only
    /// sent as the `Host` header, e.g. `http://localhost/v1.41/containers/json`.
    public var url: String
    public var method: HTTPMethod
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Connect to this unix domain socket instead of the URL's host and port.
    public var unixSocketPath: String?
    /// Overrides ``HTTPClientConfiguration/connectTimeout``.
    public var connectTimeout: Duration?
    /// Overrides ``HTTPClientConfiguration/totalTimeout``; for ``HTTPClient/stream(_:)`` this is
    /// the only total limit (there is none by default).
    public var timeout: Duration?
    /// Overrides ``HTTPClientConfiguration/caFile`` (extra CAs on top of the system bundle).
    public var caFile: String?

    public init(
        url: String,
        method: HTTPMethod = .get,
        headers: HTTPHeaders = [],
        body: [UInt8] = [],
        unixSocketPath: String? = nil,
        connectTimeout: Duration? = nil,
        timeout: Duration? = nil,
        caFile: String? = nil
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.unixSocketPath = unixSocketPath
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.caFile = caFile
    }

    /// Sets the body to `value` encoded as JSON and `Content-Type: application/json`.
    public mutating func json<T: Encodable>(_ value: T, encoder: JSONEncoder = JSONEncoder()) throws {
        body = Array(try encoder.encode(value))
        headers.set("Content-Type", "application/json")
    }
}
