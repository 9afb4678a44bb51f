import Foundation
public import HemoStatModel

/// Which remediations an LLM answer may ask for on one container.
///
/// Computed in Swift from the configuration and the container's labels, never from the model's
/// answer or from anything else the container controls, so no text in a name, label or health
/// output can widen it.
public enum AllowedActions {
    /// Actions an answer may name without parameters. `exec` and `update_resources` need a
    /// command or limits the answer format does not carry, so they are never offered.
    public static let parameterless: Set<RuleAction> = [.restart, .start, .stop, .kill, .pause, .unpause, .notify]

    /// Label listing actions the analyzer must never choose for the container by LLM
    /// (`hemostat.deny_actions=kill,stop`).
    public static let denyLabel = "hemostat.deny_actions"

    /// The actions an LLM may choose for a container: `configured` (the responder's
    /// `allowed_actions`) restricted to ``parameterless``, minus those in the container's
    /// ``denyLabel``; only `notify` when the container opted out (`hemostat.enable=false`) or
    /// is protected (`hemostat.protect=true`).
    public static func forLLM(configured: [RuleAction], labels: [String: String]) -> Set<RuleAction> {
        var allowed = Set(configured).intersection(parameterless)
        if flag(labels["hemostat.enable"]) == false || flag(labels["hemostat.protect"]) == true {
            allowed.formIntersection([.notify])
        }
        if let deny = labels[denyLabel] {
            for item in deny.split(separator: ",") {
                let name = item.trimmingCharacters(in: .whitespaces).lowercased()
                if let action = RuleAction(rawValue: name) { allowed.remove(action) }
            }
        }
        return allowed
    }

    private static func flag(_ value: String?) -> Bool? {
        switch value?.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: nil
        }
    }
}
