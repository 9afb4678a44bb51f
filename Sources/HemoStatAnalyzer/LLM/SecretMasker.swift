import Foundation
public import HemoStatModel

/// Masks text that looks like a credential before anything leaves for an LLM provider.
///
/// Replaced with `***`: values of `key=value` / `key: value` pairs whose key names a secret
/// (password, secret, token, api key, access key, private key, credential, auth), bearer and
/// basic tokens, `sk-…` keys, AWS access key ids, GitHub and Slack tokens, JWTs, and the
/// password of `scheme://user:password@host` URLs. In a JSON object, the whole value of a
/// member whose name looks like a secret is masked.
public enum SecretMasker {
    public static let mask = "***"

    private static let keyWords = "(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth(?:orization)?|session[_-]?id|cookie)"

    /// (regex, template) in application order.
    private static let rules: [(NSRegularExpression, String)] = {
        let patterns: [(String, String)] = [
            // scheme://user:password@host
            (#"([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*):[^@\s/]+@"#, "$1:***@"),
            // Authorization: Bearer xyz / Basic xyz
            (#"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}"#, "$1 ***"),
            // key=value, key: value, "key": "value"
            (#"(?i)([A-Za-z0-9_.\-]*"# + keyWords + #"[A-Za-z0-9_.\-]*"?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)"#, "$1***"),
            // OpenAI / Anthropic style keys
            (#"\bsk-[A-Za-z0-9_\-]{10,}"#, "sk-***"),
            // AWS access key ids
            (#"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b"#, "AKIA***"),
            // GitHub and Slack tokens
            (#"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|xox[abposr]-[A-Za-z0-9\-]{10,})"#, "***"),
            // JSON web tokens
            (#"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"#, "***"),
        ]
        return patterns.map { (try! NSRegularExpression(pattern: $0.0), $0.1) }
    }()

    private static let secretName = try! NSRegularExpression(pattern: "(?i)" + keyWords)

    /// `text` with credential-looking parts replaced.
    public static func mask(_ text: String) -> String {
        var result = text
        for (regex, template) in rules {
            let range = NSRange(result.startIndex..., in: result)
            result = regex.stringByReplacingMatches(in: result, range: range, withTemplate: template)
        }
        return result
    }

    /// True when a field or label name looks like it holds a secret (`DB_PASSWORD`, `api_key`).
    public static func isSecretName(_ name: String) -> Bool {
        secretName.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }

    /// Masks every string of a JSON document, and the whole value of members whose name looks
    /// like a secret.
    public static func mask(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let s): return .string(mask(s))
        case .array(let elements): return .array(elements.map { mask($0) })
        case .object(let fields):
            var out: [String: JSONValue] = [:]
            for (key, member) in fields {
                out[mask(key)] = isSecretName(key) ? .string(Self.mask) : mask(member)
            }
            return .object(out)
        default: return value
        }
    }
}
