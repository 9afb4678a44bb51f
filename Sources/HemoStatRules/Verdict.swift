public import HemoStatModel

/// Where something is in a rule file.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// The file path as the rules were loaded (for example `rules/crash.lua`).
    public var file: String
    /// 1-based line; 0 when unknown.
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `file:line`.
    public var description: String { "\(file):\(line)" }
}

/// What a verdict asks for.
public enum VerdictKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Do `action` to the container.
    case act
    /// The alert is not a fault: nothing to do, tell the alert channel it was a false alarm.
    case falseAlarm = "false_alarm"
    /// A human has to look: no automatic action.
    case escalate
    /// The rules cannot tell: ask the LLM if one is configured, otherwise use `fallback`.
    case ambiguous
    /// Not decided yet: evaluate the incident again with each new sample of its container,
    /// and at the latest after `after` seconds.
    case recheck
}

/// One rule's answer about one alert.
public struct RuleVerdict: Sendable, Hashable {
    public var kind: VerdictKind
    /// The remediation for `.act`; `.notify` for `.escalate`; `.none` otherwise.
    public var action: RuleAction
    /// 0…1.
    public var confidence: Double
    public var reason: String
    /// The rule's `name`.
    public var rule: String
    /// Where the verdict was constructed (the `restart{…}` call).
    public var location: SourceLocation
    /// Where the rule is defined (its `rule{…}` call).
    public var ruleLocation: SourceLocation
    /// The rule or the verdict asked to only pretend (`dry_run = true`).
    public var dryRun: Bool
    /// Action parameters (`params = {signal = "SIGTERM"}`), an empty object when none.
    public var parameters: [String: JSONValue]
    /// For `.ambiguous`: what the rules would do without an LLM. Never itself ambiguous.
    public var fallback: Fallback?
    /// For `.recheck`: evaluate again at the latest this many seconds later (1…86,400); nil
    /// means with the next sample only.
    public var after: Double?

    /// Boxes the fallback verdict of an ambiguous verdict.
    public struct Fallback: Sendable, Hashable {
        private let storage: [RuleVerdict]
        public init(_ verdict: RuleVerdict) { storage = [verdict] }
        public var verdict: RuleVerdict { storage[0] }
    }

    public init(
        kind: VerdictKind, action: RuleAction, confidence: Double, reason: String, rule: String,
        location: SourceLocation, ruleLocation: SourceLocation, dryRun: Bool = false,
        parameters: [String: JSONValue] = [:], fallback: RuleVerdict? = nil, after: Double? = nil
    ) {
        self.kind = kind
        self.action = action
        self.confidence = confidence
        self.reason = reason
        self.rule = rule
        self.location = location
        self.ruleLocation = ruleLocation
        self.dryRun = dryRun
        self.parameters = parameters
        self.fallback = fallback.map(Fallback.init)
        self.after = after
    }
}

/// A problem with a rule: a load error (syntax, rule definition) or a failure while
/// evaluating (runtime error, instruction limit, memory limit).
///
/// `message` is Lua's message without the location prefix; `description` is
/// `file:line: message`. Rule source is never included.
public struct RuleError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable {
        /// The file is not valid Lua.
        case syntax
        /// The file runs but defines rules wrongly (`rule{…}` fields, duplicates, a bad verdict).
        case api
        /// A rule raised an error while evaluating.
        case runtime
        /// A rule ran past the instruction limit.
        case instructionLimit = "instruction_limit"
        /// A rule allocated past the memory cap.
        case memoryLimit = "memory_limit"
        /// A rules directory or file could not be read.
        case io
        /// An alert or test file is malformed.
        case invalidInput = "invalid_input"
    }

    public var code: Code
    public var message: String
    public var location: SourceLocation?
    /// The rule being evaluated, when known.
    public var rule: String?

    public init(code: Code, message: String, location: SourceLocation? = nil, rule: String? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.rule = rule
    }

    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }
}

/// The outcome of evaluating every rule against one alert.
public struct RuleEvaluation: Sendable, Hashable {
    /// The first decisive verdict in rule order, or `nil`: no rule had an opinion (the caller
    /// takes no action).
    public var decisive: RuleVerdict?
    /// Every verdict returned, in rule order (the decisive one included).
    public var matches: [RuleVerdict]
    /// Rules that failed (runtime error, instruction or memory limit); they were skipped.
    public var errors: [RuleError]
    /// How many enabled rules ran.
    public var rulesEvaluated: Int

    public init(decisive: RuleVerdict?, matches: [RuleVerdict], errors: [RuleError], rulesEvaluated: Int) {
        self.decisive = decisive
        self.matches = matches
        self.errors = errors
        self.rulesEvaluated = rulesEvaluated
    }
}

/// A loaded rule, as listed for the dashboard and `hemostat rules eval`.
public struct RuleInfo: Sendable, Hashable {
    public var name: String
    public var priority: Double
    public var description: String
    public var location: SourceLocation
    public var enabled: Bool
    public var dryRun: Bool
}
