import Testing
@testable import HemoStatRules

@Suite struct RuleActionTests {
    @Test func wireNames() {
        #expect(RuleAction(rawValue: "update_resources") == .updateResources)
        #expect(RuleAction(rawValue: "rm") == nil)
    }
}
