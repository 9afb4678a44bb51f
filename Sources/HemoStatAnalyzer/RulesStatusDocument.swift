public import Foundation
public import HemoStatModel
public import HemoStatRules

extension RulesStatus {
    /// The `hemostat:rules:status` document: `updated_at`, `host`, `generation`, `last_reload`,
    /// `last_check`, `load_errors` (`code`, `message`, `location`) and `rules` in evaluation
    /// order, each with `name`, `priority`, `description`, `location`, `enabled`, `dry_run`,
    /// `matched`, `decisive`, `errors`.
    public func document(host: String, now: Date) -> JSONValue {
        let ruleDocuments: [JSONValue] = rules.map { rule in
            let c = counters[rule.name] ?? RuleCounters()
            return .object([
                "name": .string(rule.name),
                "priority": .number(rule.priority),
                "description": .string(rule.description),
                "location": .string(rule.location.description),
                "enabled": .bool(rule.enabled),
                "dry_run": .bool(rule.dryRun),
                "matched": .integer(c.matched),
                "decisive": .integer(c.decisive),
                "errors": .integer(c.errors),
            ])
        }
        return .object([
            "updated_at": .string(Timestamp.format(now)),
            "host": .string(host),
            "generation": .integer(generation),
            "last_reload": .string(Timestamp.format(lastReload)),
            "last_check": .string(Timestamp.format(lastCheck)),
            "load_errors": .array(loadErrors.map(\.jsonValue)),
            "rules": .array(ruleDocuments),
        ])
    }
}
