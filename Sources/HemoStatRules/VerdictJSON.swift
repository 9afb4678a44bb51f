public import HemoStatModel
extension RuleVerdict {
    /// The verdict as JSON-ready fields (`kind`, `action`, `confidence`, `reason`, `rule`,
    /// `location`, `rule_location`, `dry_run`, `params`, `fallback` when ambiguous and `after`
    /// when a recheck gives it), for
    /// audit logs and `hemostat rules eval --json`.
    public var jsonValue: JSONValue {
        var fields: [String: JSONValue] = [
            "kind": .string(kind.rawValue),
            "action": .string(action.rawValue),
            "confidence": .number(confidence),
            "reason": .string(reason),
            "rule": .string(rule),
            "location": .string(location.description),
            "rule_location": .string(ruleLocation.description),
            "dry_run": .bool(dryRun),
            "params": .object(parameters),
        ]
        if let fallback { fields["fallback"] = fallback.verdict.jsonValue }
        if let after { fields["after"] = .number(after) }
        return .object(fields)
    }
}

extension RuleError {
    /// `code`, `message`, `location` (`file:line`) and `rule` when known.
    public var jsonValue: JSONValue {
        var fields: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(message)]
        if let location { fields["location"] = .string(location.description) }
        if let rule { fields["rule"] = .string(rule) }
        return .object(fields)
    }
}

extension RuleEvaluation {
    /// `decisive` (or null), `matches`, `errors`, `rules_evaluated`.
    public var jsonValue: JSONValue {
        .object([
            "decisive": decisive?.jsonValue ?? .null,
            "matches": .array(matches.map(\.jsonValue)),
            "errors": .array(errors.map(\.jsonValue)),
            "rules_evaluated": .number(Double(rulesEvaluated)),
        ])
    }
}
