import Foundation

/// When and how long an LLM client waits before trying again.
///
/// 429 and 5xx responses and connection failures are retried up to ``maxAttempts`` in total;
/// a `retry-after` header (seconds) is honoured up to ``maxRetryAfter``, otherwise the wait
/// doubles from ``initialBackoff`` up to ``maxBackoff``. Timeouts are not retried: the
/// analyzer would rather fall back to the rules than keep an alert waiting.
public struct LLMRetryPolicy: Sendable {
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// A longer `retry-after` is not waited for: the call fails as rate limited.
    public var maxRetryAfter: Duration
    /// How the client waits; tests record the waits instead of sleeping.
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(
        maxAttempts: Int = 3, initialBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(8),
        maxRetryAfter: Duration = .seconds(30),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.sleep = sleep
    }

    /// The wait before attempt `attempt + 1` after `attempt` failed (1-based), or nil when the
    /// wait asked for is longer than allowed.
    func delay(afterAttempt attempt: Int, retryAfter: String?) -> Duration? {
        if let retryAfter, let seconds = Double(retryAfter.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
            let wait = Duration.milliseconds(Int64((seconds * 1000).rounded()))
            return wait <= maxRetryAfter ? wait : nil
        }
        var wait = initialBackoff
        for _ in 1..<max(1, attempt) { wait = min(wait * 2, maxBackoff) }
        return wait
    }

    /// Runs `send` until it gives a response that is neither 429 nor 5xx, or attempts run out.
    ///
    /// - Returns: the last response (possibly 429 or 5xx when attempts ran out).
    /// - Throws: ``LLMError`` from `send` (timeouts at once, transport errors after the last
    ///   attempt), or `.rateLimited` when `retry-after` asks for too long a wait.
    func run(_ send: () async throws -> LLMHTTPResponse) async throws -> LLMHTTPResponse {
        var attempt = 0
        while true {
            attempt += 1
            let response: LLMHTTPResponse
            do {
                response = try await send()
            } catch let error as LLMError where error.code == .transport && attempt < maxAttempts {
                try await wait(delay(afterAttempt: attempt, retryAfter: nil) ?? initialBackoff)
                continue
            }
            let retryable = response.status == 429 || (500...599).contains(response.status)
            guard retryable, attempt < maxAttempts else { return response }
            guard let wait = delay(afterAttempt: attempt, retryAfter: response.headers["retry-after"]) else {
                throw LLMError(code: .rateLimited, message: "the provider asked to retry after \(response.headers["retry-after"] ?? "?") s, longer than allowed")
            }
            try await self.wait(wait)
        }
    }

    private func wait(_ duration: Duration) async throws {
        do {
            try await sleep(duration)
        } catch {
            throw LLMError(code: .timeout, message: "cancelled while waiting to retry")
        }
    }
}
