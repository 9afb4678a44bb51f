public import HemoStatModel
public import HemoStatRules

/// Builds what a rule receives: the alert's `data` with the container's recent `history` from
/// `hemostat:stats:<container>`.
public enum AlertInput {
    /// The rule input for `alert`: its contract fields (`docs/rules.md`, "What a rule
    /// receives") plus `history`, oldest sample first.
    ///
    /// Anomalies carrying `projected_seconds_to_limit` also get it as `projected_seconds`, the
    /// name the rules read.
    public static func ruleValue(alert: HealthAlert, history: [RuleValue]) -> RuleValue {
        guard case .object(var fields) = RuleValue(alert.json) else { return .null }
        if case .array(let anomalies)? = fields["anomalies"] {
            fields["anomalies"] = .array(anomalies.map { anomaly in
                guard case .object(var a) = anomaly, let projected = a["projected_seconds_to_limit"] else { return anomaly }
                a["projected_seconds"] = projected
                return .object(a)
            })
        }
        fields["history"] = .array(history)
        return .object(fields)
    }

    /// The rule input for `alert`: its contract fields as JSON text, the history read from
    /// the container's `hemostat:stats:<container>` document (`statsDocument`) when the rules
    /// run. This is what the analyzer evaluates; `ruleValue(alert:history:)` builds the same
    /// input as a value.
    public static func ruleInput(alert: HealthAlert, statsDocument: String?) -> RuleInput {
        RuleInput(alertJSON: alert.json.jsonText, history: .statsDocument(statsDocument))
    }

    /// The `history` array of a `hemostat:stats:<container>` document; empty when the text is
    /// missing, not JSON, or has no history.
    public static func history(statsDocument text: String?) -> [RuleValue] {
        guard let text, let document = try? JSONValue.parse(text), case .object(let fields) = document,
              case .array(let samples)? = fields["history"]
        else { return [] }
        return samples.map(RuleValue.init)
    }
}

extension RuleValue {
    /// The same document as a rule value (integers become numbers).
    init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .integer(let i): self = .number(Double(i))
        case .number(let d): self = .number(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map(RuleValue.init))
        case .object(let o): self = .object(o.mapValues(RuleValue.init))
        }
    }
}

extension JSONValue {
    /// The same document as a message value (integral numbers become integers).
    init(_ rule: RuleValue) {
        switch rule {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 { self = .integer(Int(n)) } else { self = .number(n) }
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map(JSONValue.init))
        case .object(let o): self = .object(o.mapValues(JSONValue.init))
        }
    }
}
