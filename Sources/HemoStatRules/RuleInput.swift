public import HemoStatModel
/// What one evaluation reads: the alert as JSON text and where its history comes from.
///
/// The text is decoded straight into Lua tables in C; the history (an array of samples)
/// becomes columns that the helpers `h.*` walk without a table per sample.
public struct RuleInput: Sendable {
    /// Where the samples of `h.*` and `a.history` come from.
    public enum History: Sendable {
        /// The alert's own `history` member; an alert without one has no history (`a.history`
        /// is `nil`).
        case alert
        /// The `history` member of a `hemostat:stats:<container>` document. A missing or
        /// unreadable document gives an empty history.
        case statsDocument(String?)
    }

    /// The alert (a health alert's `data`) as a JSON object.
    public var alert: String
    public var history: History

    public init(alertJSON: String, history: History) {
        self.alert = alertJSON
        self.history = history
    }

    /// The alert as a value, its history in its `history` member.
    public init(_ alert: JSONValue) {
        self.alert = alert.jsonText
        self.history = .alert
    }
}
