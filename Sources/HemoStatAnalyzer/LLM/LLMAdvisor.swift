import Foundation
public import HemoStatCore
public import HemoStatModel
public import HemoStatRedis
public import HemoStatRules
public import Logging
import Metrics

/// Asks the configured LLM about an alert the rules found ambiguous, within the hourly budget
/// and through a response cache, both in Redis.
///
/// Never throws: every failure is an ``Outcome/unavailable(_:)`` carrying why, so the caller
/// falls back to the rules' own verdict. With no client (no provider, or no key) nothing is
/// sent anywhere.
public struct LLMAdvisor: Sendable {
    /// What the LLM contributed.
    public enum Outcome: Sendable, Hashable {
        /// A valid answer, allowed for the container.
        case answer(LLMAnswer, cached: Bool)
        /// No usable answer; the rules' fallback decides.
        case unavailable(LLMError)
    }

    public let client: (any LLMClient)?
    private let unconfigured: String
    private let configuration: LLMConfiguration
    private let redis: RedisClient
    private let keys: KeySpace
    private let clock: any WallClock
    private let logger: Logger

    /// - Parameters:
    ///   - client: nil when no LLM is to be used; `unconfiguredReason` then says why.
    public init(
        client: (any LLMClient)?, unconfiguredReason: String = "no LLM configured", configuration: LLMConfiguration,
        redis: RedisClient, keys: KeySpace, clock: any WallClock, logger: Logger
    ) {
        self.client = client
        self.unconfigured = unconfiguredReason
        self.configuration = configuration
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.logger = logger
    }

    /// The `provider model` pair for messages, or nil without a client.
    public var label: String? { client.map { "\($0.provider) \($0.model)" } }

    public func advise(alert: HealthAlert, verdict: RuleVerdict, history: [JSONValue], allowed: Set<RuleAction>) async -> Outcome {
        guard let client else {
            return .unavailable(LLMError(code: .notConfigured, message: unconfigured))
        }
        let provider = client.provider
        let fingerprint = AlertFingerprint.of(alert: alert, rule: verdict.rule, model: client.model)
        let cacheKey = keys.llmCache(fingerprint)

        if let text = try? await redis.send(["GET", cacheKey]).string,
           let cached = try? LLMAnswer(text: text), (try? cached.validate(allowed: allowed)) != nil
        {
            count(provider, "cached")
            return .answer(cached, cached: true)
        }

        do {
            try await spendBudget()
        } catch let error as LLMError {
            count(provider, error.metricOutcome)
            logger.warning("LLM not asked", metadata: ["llm.provider": "\(provider)", "llm.error": "\(error)"])
            return .unavailable(error)
        } catch {
            return .unavailable(LLMError(code: .transport, message: "budget counter unavailable"))
        }

        let prompt = LLMPrompt(alert: alert, verdict: verdict, history: history, allowed: allowed)
        let started = ContinuousClock.now
        do {
            let completion = try await client.complete(system: prompt.system, user: prompt.user)
            Counter(label: MetricNames.llmTokens, dimensions: [("provider", provider), ("direction", "input")])
                .increment(by: completion.inputTokens)
            Counter(label: MetricNames.llmTokens, dimensions: [("provider", provider), ("direction", "output")])
                .increment(by: completion.outputTokens)
            let answer = try LLMAnswer(text: completion.text)
            try answer.validate(allowed: allowed)
            count(provider, "ok")
            _ = try? await redis.send([
                "SET", cacheKey, answer.jsonText, "EX", String(max(1, Int(configuration.cacheTTL.timeInterval))),
            ])
            logger.debug("LLM answered", metadata: [
                "llm.provider": "\(provider)", "llm.action": "\(answer.action.rawValue)",
                "llm.ms": "\((ContinuousClock.now - started).milliseconds)",
            ])
            return .answer(answer, cached: false)
        } catch {
            let failure = error as? LLMError ?? LLMError(code: .transport, message: "request failed")
            count(provider, failure.metricOutcome)
            logger.warning("LLM answer not used; the rules' fallback decides", metadata: [
                "llm.provider": "\(provider)", "llm.error": "\(failure)",
            ])
            return .unavailable(failure)
        }
    }

    /// Counts one call against this hour's budget; throws `.budgetSpent` past it.
    private func spendBudget() async throws {
        let budget = configuration.hourlyCallBudget
        guard budget > 0 else {
            throw LLMError(code: .budgetSpent, message: "the hourly LLM call budget is 0")
        }
        let key = keys.llmBudget(at: clock.now)
        let replies = try await redis.pipeline([["INCR", key], ["EXPIRE", key, "7200"]])
        if let error = replies[0].redisError { throw error }
        let used = replies[0].integer ?? 0
        if used > Int64(budget) {
            throw LLMError(code: .budgetSpent, message: "the hourly LLM call budget (\(budget)) is spent")
        }
    }

    private func count(_ provider: String, _ outcome: String) {
        Counter(label: MetricNames.llmCalls, dimensions: [("provider", provider), ("outcome", outcome)]).increment()
    }
}
