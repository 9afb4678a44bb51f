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
    public static func ruleValue(alert: HealthAlert, history: [JSONValue]) -> JSONValue {
        guard case .object(var fields) = alert.json else { return .null }
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
    public static func history(statsDocument text: String?) -> [JSONValue] {
        guard let text, let document = try? JSONValue.parse(text), case .object(let fields) = document,
              case .array(let samples)? = fields["history"]
        else { return [] }
        return samples
    }
}
