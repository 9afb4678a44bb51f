import HemoStatModel

extension JSONValue {
    /// The same document with values under secret-looking keys replaced by `"[redacted]"`.
    /// Messages are not meant to carry secrets; this keeps one that does off the page.
    func redactingSecrets() -> JSONValue {
        switch self {
        case .object(let fields):
            var copy: [String: JSONValue] = [:]
            for (key, value) in fields {
                copy[key] = Self.isSecretKey(key) ? .string("[redacted]") : value.redactingSecrets()
            }
            return .object(copy)
        case .array(let elements): return .array(elements.map { $0.redactingSecrets() })
        default: return self
        }
    }

    static func isSecretKey(_ key: String) -> Bool {
        let k = key.lowercased().replacingOccurrences(of: "-", with: "_")
        if k.contains("password") || k.contains("passwd") || k.contains("secret") || k.contains("api_key") || k.contains("apikey") {
            return true
        }
        if k == "token" || k.hasSuffix("_token") || k == "authorization" || k == "cookie" || k.contains("webhook_url") || k == "credentials" {
            return true
        }
        return false
    }

    /// A string or null.
    static func from(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    /// An integer or null.
    static func from(_ n: Int?) -> JSONValue { n.map { .integer($0) } ?? .null }
    /// A number or null.
    static func from(_ n: Double?) -> JSONValue { n.map { .number($0) } ?? .null }
    /// A boolean or null.
    static func from(_ b: Bool?) -> JSONValue { b.map { .bool($0) } ?? .null }
}

extension KeySpace {
    /// The channels an incident passes through, each a stream and a pub/sub channel.
    static let incidentChannels: [Channel] = [.healthAlert, .remediationNeeded, .remediationComplete, .falseAlarm, .escalation, .containerRecovered]

    /// Every key and channel under the prefix, for the live feed's PSUBSCRIBE.
    var everything: String { prefix + "*" }

    /// A channel's name without the prefix (`hemostat:health_alert` -> `health_alert`).
    func shortChannel(_ channel: String) -> String {
        channel.hasPrefix(prefix) ? String(channel.dropFirst(prefix.count)) : channel
    }
}
