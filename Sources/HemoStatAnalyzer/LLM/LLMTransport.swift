
/// One HTTPS exchange with a provider, as the LLM clients need it.
public struct LLMHTTPRequest: Sendable {
    public var url: String
    /// Header names and values; values may hold credentials and are never logged.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Total time allowed for the exchange.
    public var timeout: Duration

    public init(url: String, headers: [(name: String, value: String)], body: [UInt8], timeout: Duration) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A provider's response, any status.
public struct LLMHTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8]) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.body = body
    }
}

/// Sends LLM requests over HTTP(S).
public protocol LLMTransport: Sendable {
    /// - Throws: ``LLMError`` with code `.timeout` or `.transport` when no response arrived.
    func send(_ request: LLMHTTPRequest) async throws -> LLMHTTPResponse
}
