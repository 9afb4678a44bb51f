import Foundation
public import HemoStatModel

/// The decision an LLM returned: strict JSON
/// `{"action": "...", "confidence": 0..1, "reason": "...", "is_false_alarm": bool}`.
public struct LLMAnswer: Sendable, Hashable {
    public var action: RuleAction
    public var confidence: Double
    public var reason: String
    public var isFalseAlarm: Bool

    public init(action: RuleAction, confidence: Double, reason: String, isFalseAlarm: Bool) {
        self.action = action
        self.confidence = confidence
        self.reason = reason
        self.isFalseAlarm = isFalseAlarm
    }

    /// Reads the model's text. The text must be one JSON object with exactly the four fields
    /// (a surrounding Markdown code fence is tolerated); anything else throws.
    ///
    /// - Throws: ``LLMError`` with code `.invalidAnswer`.
    public init(text: String) throws {
        var body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if body.hasPrefix("```") {
            body = String(body.drop { $0 != "\n" })
            if body.hasSuffix("```") { body = String(body.dropLast(3)) }
            body = body.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func invalid(_ why: String) -> LLMError { LLMError(code: .invalidAnswer, message: why) }
        guard let document = try? JSONValue.parse(body), case .object(let fields) = document else {
            throw invalid("the answer is not a JSON object")
        }
        let expected: Set<String> = ["action", "confidence", "reason", "is_false_alarm"]
        if let extra = Set(fields.keys).subtracting(expected).sorted().first {
            throw invalid("the answer has an unexpected field '\(extra.prefix(40))'")
        }
        guard let name = fields["action"]?.stringValue else { throw invalid("'action' is missing or not a string") }
        guard let action = RuleAction(rawValue: name) else { throw invalid("'action' is not a known action") }
        guard let confidence = fields["confidence"]?.doubleValue, (0...1).contains(confidence) else {
            throw invalid("'confidence' must be a number from 0 to 1")
        }
        guard let reason = fields["reason"]?.stringValue, !reason.isEmpty else {
            throw invalid("'reason' must be a non-empty string")
        }
        guard case .bool(let isFalseAlarm)? = fields["is_false_alarm"] else {
            throw invalid("'is_false_alarm' must be true or false")
        }
        self.init(action: action, confidence: confidence, reason: String(reason.prefix(500)), isFalseAlarm: isFalseAlarm)
    }

    /// Checks the answer against the actions allowed for the container.
    ///
    /// A false alarm needs no action (`none` or any allowed one); otherwise the action must be
    /// in `allowed`.
    /// - Throws: ``LLMError`` with code `.disallowedAction`.
    public func validate(allowed: Set<RuleAction>) throws {
        if isFalseAlarm { return }
        guard action != .none, allowed.contains(action) else {
            throw LLMError(code: .disallowedAction, message: "the answer asks for '\(action.rawValue)', which is not allowed for this container")
        }
    }

    /// The answer as its JSON text (what the cache stores).
    public var jsonText: String {
        JSONValue.object([
            "action": .string(action.rawValue), "confidence": .number(confidence), "reason": .string(reason),
            "is_false_alarm": .bool(isFalseAlarm),
        ]).jsonText
    }
}
