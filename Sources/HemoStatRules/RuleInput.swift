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
    public init(_ alert: RuleValue) {
        self.alert = alert.compactJSON
        self.history = .alert
    }
}

extension RuleValue {
    /// Compact JSON text in the members' own order (non-finite numbers become `null`).
    /// Integral numbers are written without a fraction.
    public var compactJSON: String {
        var out = ""
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n):
            if !n.isFinite {
                out += "null"
            } else if n.rounded() == n, abs(n) < 9.0e15 {
                out += String(Int64(n))
            } else {
                out += "\(n)"
            }
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let elements):
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                element.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            var first = true
            for (key, member) in members {
                if !first { out += "," }
                first = false
                Self.writeString(key, into: &out)
                out += ":"
                member.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
