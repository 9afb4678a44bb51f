/// The default rules, built into the binary: the source tree's `rules/*.lua` (linked into
/// `DefaultRules/` and embedded at build time). The analyzer runs them when it finds no rules
/// directory (`FileLocations` in HemoStatCore), so an installed `hemostat` decides as a source
/// checkout does.
public enum DefaultRules {
    /// The files, in load order, each named `built-in/<file>` in messages.
    public static let sources: [RuleSource] = [
        ("00-operator.lua", PackageResources._0_operator_lua),
        ("10-starting.lua", PackageResources._0_starting_lua),
        ("20-crash.lua", PackageResources._0_crash_lua),
        ("30-health.lua", PackageResources._0_health_lua),
        ("40-resources.lua", PackageResources._0_resources_lua),
    ].map { RuleSource(path: "built-in/" + $0.0, text: String(decoding: $0.1, as: UTF8.self)) }
}
