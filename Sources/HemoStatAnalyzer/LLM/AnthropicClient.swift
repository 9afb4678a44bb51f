import HemoStatModel

/// The Anthropic Messages API: `POST {base}/v1/messages` with `x-api-key` and
/// `anthropic-version: 2023-06-01`; the answer is the text of `content[]`, the cost is
/// `usage.input_tokens` / `usage.output_tokens`.
public struct AnthropicClient: LLMClient {
    public static let defaultBaseURL = "https://api.anthropic.com"
    public static let defaultModel = "claude-sonnet-4-5"
    public static let apiVersion = "2023-06-01"

    public let provider = "anthropic"
    public let model: String
    private let apiKey: String
    private let maxTokens: Int
    private let endpoint: LLMEndpoint

    /// - Parameter baseURL: `https://api.anthropic.com` by default; a base ending in `/v1` is
    ///   accepted as well.
    public init(
        apiKey: String, model: String? = nil, baseURL: String? = nil, maxTokens: Int = 1024, timeout: Duration = .seconds(30),
        transport: any LLMTransport, retry: LLMRetryPolicy = LLMRetryPolicy()
    ) {
        self.apiKey = apiKey
        self.model = model ?? Self.defaultModel
        self.maxTokens = maxTokens
        self.endpoint = LLMEndpoint(
            name: "Anthropic", base: baseURL ?? Self.defaultBaseURL, path: "/v1/messages", timeout: timeout, transport: transport, retry: retry)
    }

    public func complete(system: String, user: String) async throws -> LLMCompletion {
        let body: JSONValue = [
            "model": .string(model),
            "max_tokens": .integer(maxTokens),
            "system": .string(system),
            "messages": [["role": "user", "content": .string(user)]],
        ]
        let document = try await endpoint.post(body, headers: [
            ("x-api-key", apiKey),
            ("anthropic-version", Self.apiVersion),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ])
        guard case .array(let blocks)? = document["content"] else {
            throw LLMError(code: .invalidResponse, message: "Anthropic response has no content array")
        }
        var text = ""
        for block in blocks where block["type"]?.stringValue == "text" {
            text += block["text"]?.stringValue ?? ""
        }
        guard !text.isEmpty else {
            throw LLMError(code: .invalidResponse, message: "Anthropic response has no text content")
        }
        let usage = document["usage"]
        return LLMCompletion(
            text: text,
            inputTokens: usage?["input_tokens"]?.intValue ?? 0,
            outputTokens: usage?["output_tokens"]?.intValue ?? 0)
    }
}

/// The OpenAI Chat Completions API, from OpenAI or any server speaking it (Ollama, vLLM,
/// llama.cpp server): `POST {base}/v1/chat/completions` with `Authorization: Bearer` when a key
/// is given and `response_format: {type: json_object}`; the answer is
/// `choices[0].message.content`, the cost `usage.prompt_tokens` / `usage.completion_tokens`.
public struct OpenAIChatClient: LLMClient {
    public static let defaultBaseURL = "https://api.openai.com"
    public static let defaultModel = "gpt-4o-mini"

    public let provider: String
    public let model: String
    private let apiKey: String?
    private let maxTokens: Int
    private let endpoint: LLMEndpoint

    /// - Parameters:
    ///   - apiKey: nil for a local server that needs none (no `Authorization` header is sent).
    ///   - baseURL: `https://api.openai.com` by default; `http://127.0.0.1:11434` and
    ///     `http://127.0.0.1:11434/v1` both reach an Ollama server.
    ///   - provider: the metrics label, `openai` or `openai_compatible`.
    public init(
        apiKey: String?, model: String? = nil, baseURL: String? = nil, provider: String = "openai", maxTokens: Int = 1024,
        timeout: Duration = .seconds(30), transport: any LLMTransport, retry: LLMRetryPolicy = LLMRetryPolicy()
    ) {
        self.apiKey = apiKey
        self.model = model ?? Self.defaultModel
        self.provider = provider
        self.maxTokens = maxTokens
        self.endpoint = LLMEndpoint(
            name: "OpenAI", base: baseURL ?? Self.defaultBaseURL, path: "/v1/chat/completions", timeout: timeout, transport: transport,
            retry: retry)
    }

    public func complete(system: String, user: String) async throws -> LLMCompletion {
        let body: JSONValue = [
            "model": .string(model),
            "max_tokens": .integer(maxTokens),
            "messages": [
                ["role": "system", "content": .string(system)],
                ["role": "user", "content": .string(user)],
            ],
            "response_format": ["type": "json_object"],
        ]
        var headers: [(name: String, value: String)] = [("content-type", "application/json"), ("accept", "application/json")]
        if let apiKey { headers.append(("authorization", "Bearer \(apiKey)")) }
        let document = try await endpoint.post(body, headers: headers)
        guard case .array(let choices)? = document["choices"], let first = choices.first,
              let text = first["message"]?["content"]?.stringValue, !text.isEmpty
        else {
            throw LLMError(code: .invalidResponse, message: "chat completion has no choices[0].message.content")
        }
        let usage = document["usage"]
        return LLMCompletion(
            text: text,
            inputTokens: usage?["prompt_tokens"]?.intValue ?? 0,
            outputTokens: usage?["completion_tokens"]?.intValue ?? 0)
    }
}

/// Where a client sends its requests: each one POSTs a JSON body to `url` within `timeout`, is
/// retried as `retry` says, and must be answered with a 2xx JSON object.
struct LLMEndpoint: Sendable {
    /// The provider as error messages name it (`Anthropic`, `OpenAI`).
    let name: String
    let url: String
    let timeout: Duration
    let transport: any LLMTransport
    let retry: LLMRetryPolicy

    init(name: String, base: String, path: String, timeout: Duration, transport: any LLMTransport, retry: LLMRetryPolicy) {
        self.name = name
        self.url = Self.url(base: base, path: path)
        self.timeout = timeout
        self.transport = transport
        self.retry = retry
    }

    /// Sends `body` with `headers` and returns the JSON object of the 2xx response.
    ///
    /// - Throws: ``LLMError``: for a non-2xx answer after the retries, a body that is not a JSON
    ///   object, or what the retries and the transport threw.
    func post(_ body: JSONValue, headers: [(name: String, value: String)]) async throws -> JSONValue {
        let request = LLMHTTPRequest(url: url, headers: headers, body: Array(body.jsonText.utf8), timeout: timeout)
        let response = try await retry.run { try await transport.send(request) }
        return try Self.successDocument(response, provider: name)
    }

    /// `base` + `path`, where a base already ending in `/v1` does not get a second one.
    static func url(base: String, path: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1"), path.hasPrefix("/v1/") { return base + path.dropFirst(3) }
        return base + path
    }

    /// The JSON body of a 2xx response.
    static func successDocument(_ response: LLMHTTPResponse, provider: String) throws -> JSONValue {
        switch response.status {
        case 200..<300:
            guard let document = try? JSONValue.parse(response.body), case .object = document else {
                throw LLMError(code: .invalidResponse, message: "\(provider) response body is not a JSON object")
            }
            return document
        case 429:
            throw LLMError(code: .rateLimited, message: "\(provider) answered 429 on every attempt")
        default:
            throw LLMError(code: .http, message: "\(provider) answered HTTP \(response.status)")
        }
    }
}
