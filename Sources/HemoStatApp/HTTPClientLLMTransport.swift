public import HemoStatAnalyzer
public import HemoStatHTTP

/// Sends LLM requests with the shared libcurl ``HTTPClient`` (HTTPS, connection reuse, its own
/// thread).
public struct HTTPClientLLMTransport: LLMTransport {
    public let client: HTTPClient
    /// Extra certificate authorities for the provider's certificate (`analyzer.llm.ca_file`).
    public let caFile: String?

    public init(client: HTTPClient, caFile: String? = nil) {
        self.client = client
        self.caFile = caFile
    }

    public func send(_ request: LLMHTTPRequest) async throws -> LLMHTTPResponse {
        let outgoing = HTTPRequest(
            url: request.url, method: .post, headers: HTTPHeaders(request.headers.map { ($0.name, $0.value) }),
            body: request.body, timeout: request.timeout, caFile: caFile)
        let response: HTTPResponse
        do {
            response = try await client.execute(outgoing)
        } catch let error as HTTPClientError {
            if error.code == .timeout { throw LLMError(code: .timeout, message: "no answer within \(request.timeout)") }
            if error.code == .cancelled { throw LLMError(code: .timeout, message: "request cancelled") }
            throw LLMError(code: .transport, message: "request failed (\(error.code))")
        } catch {
            throw LLMError(code: .transport, message: "request failed")
        }
        var headers: [String: String] = [:]
        for field in response.headers { headers[field.name.lowercased()] = field.value }
        return LLMHTTPResponse(status: response.status, headers: headers, body: response.body)
    }
}
