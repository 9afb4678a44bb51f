@testable import HemoStatCore
import Testing

/// The search order for the configuration file and the rules (``FileLocations``).
@Suite struct FileLocationsTests {
    @Test func theConfigurationFileIsTheFirstThatApplies() {
        let all: Set<String> = ["config/hemostat.yaml", "/etc/hemostat/hemostat.yaml"]
        func find(_ option: String?, _ environment: [String: String], _ existing: Set<String>) -> (String?, FileLocations.Reason) {
            let found = FileLocations.configFile(option: option, environment: environment, exists: existing.contains)
            return (found.path, found.reason)
        }
        #expect(find("/my.yaml", ["HEMOSTAT_CONFIG": "/env.yaml"], all) == ("/my.yaml", .option))
        #expect(find(nil, ["HEMOSTAT_CONFIG": "/env.yaml"], all) == ("/env.yaml", .environment))
        #expect(find(nil, ["HEMOSTAT_CONFIG": ""], all) == ("config/hemostat.yaml", .workingDirectory), "an empty variable counts as unset")
        #expect(find(nil, [:], ["/etc/hemostat/hemostat.yaml"]) == ("/etc/hemostat/hemostat.yaml", .system))
        #expect(find(nil, [:], []) == (nil, .builtIn))
    }

    @Test func theRulesAreTheFirstThatApply() {
        let all: Set<String> = ["rules", "/etc/hemostat/rules"]
        #expect(FileLocations.rules(configured: "/srv/rules", exists: all.contains) == .directory("/srv/rules", .configured))
        #expect(FileLocations.rules(configured: nil, exists: all.contains) == .directory("rules", .workingDirectory))
        #expect(FileLocations.rules(configured: nil, exists: ["/etc/hemostat/rules"].contains) == .directory("/etc/hemostat/rules", .system))
        #expect(FileLocations.rules(configured: nil, exists: { _ in false }) == .builtIn)
    }

    @Test func aConfigurationMadeInCodeRunsItsDirectory() {
        var configuration = AnalyzerConfiguration(rulesDirectory: "/srv/rules")
        #expect(configuration.rulesLocation == .directory("/srv/rules", .configured))
        configuration.rulesDirectory = "/other"
        #expect(configuration.rules.directory == "/other")
    }
}
