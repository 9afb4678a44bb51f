import HemoStatCore
import HemoStatModel

/// An LLM request or answer that did not give a usable decision.
///
/// The message is safe for logs and for the published `reason`: it never contains the API
/// key, a header value or the prompt.
public struct LLMError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// No provider, or no key for it.
        case notConfigured = "not_configured"
        /// The request took longer than `analyzer.llm.timeout`.
        case timeout
        /// No response: connection refused, TLS failure, name resolution.
        case transport
        /// 429 on every attempt.
        case rateLimited = "rate_limited"
        /// Any other non-2xx status (5xx after every attempt).
        case http
        /// A 2xx response that is not the provider's documented format.
        case invalidResponse = "invalid_response"
        /// The model's text is not the required JSON answer.
        case invalidAnswer = "invalid_answer"
        /// The answer names an action not allowed for the container.
        case disallowedAction = "disallowed_action"
        /// `analyzer.llm.hourly_call_budget` is spent for this hour.
        case budgetSpent = "budget_spent"
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The `outcome` label of `hemostat_llm_calls_total` for this failure.
    var metricOutcome: String {
        switch code {
        case .timeout: "timeout"
        case .invalidAnswer, .invalidResponse, .disallowedAction: "invalid"
        case .budgetSpent: "budget"
        default: "error"
        }
    }
}

/// The model's text and what it cost.
public struct LLMCompletion: Sendable, Hashable {
    public var text: String
    public var inputTokens: Int
    public var outputTokens: Int

    public init(text: String, inputTokens: Int, outputTokens: Int) {
        self.text = text
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// A chat model behind one provider's API.
public protocol LLMClient: Sendable {
    /// `anthropic`, `openai` or `openai_compatible` (the metrics' `provider` label).
    var provider: String { get }
    var model: String { get }
    /// Sends one system prompt and one user message; retries 429 and 5xx within the client's
    /// policy.
    ///
    /// - Throws: ``LLMError`` only.
    func complete(system: String, user: String) async throws -> LLMCompletion
}
