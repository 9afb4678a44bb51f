public import HemoStatCore

/// Builds the LLM client the configuration asks for.
public enum LLMClients {
    /// The client for `configuration`, or nil with the reason when the LLM is not to be used:
    /// provider `none`, or no API key in the environment (`openai_compatible` may run without
    /// one, for a local server).
    public static func make(
        configuration: LLMConfiguration, transport: any LLMTransport, retry: LLMRetryPolicy? = nil
    ) -> (client: (any LLMClient)?, reason: String) {
        let retry = retry ?? LLMRetryPolicy(maxAttempts: configuration.maxAttempts)
        let key = configuration.apiKey?.reveal()
        switch configuration.provider {
        case .none:
            return (nil, "no LLM configured")
        case .anthropic:
            guard let key, !key.isEmpty else { return (nil, "no API key for anthropic (ANTHROPIC_API_KEY)") }
            return (AnthropicClient(
                apiKey: key, model: configuration.model, baseURL: configuration.baseURL, maxTokens: configuration.maxTokens,
                timeout: configuration.timeout, transport: transport, retry: retry), "")
        case .openai:
            guard let key, !key.isEmpty else { return (nil, "no API key for openai (OPENAI_API_KEY)") }
            return (OpenAIChatClient(
                apiKey: key, model: configuration.model, baseURL: configuration.baseURL, provider: "openai",
                maxTokens: configuration.maxTokens, timeout: configuration.timeout, transport: transport, retry: retry), "")
        case .openaiCompatible:
            guard let base = configuration.baseURL else { return (nil, "openai_compatible needs analyzer.llm.base_url") }
            return (OpenAIChatClient(
                apiKey: key.flatMap { $0.isEmpty ? nil : $0 }, model: configuration.model, baseURL: base,
                provider: "openai_compatible", maxTokens: configuration.maxTokens, timeout: configuration.timeout,
                transport: transport, retry: retry), "")
        }
    }
}
