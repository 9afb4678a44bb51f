@testable import HemoStatModel
import Testing

@Suite struct RuleActionTests {
    @Test func wireNames() {
        #expect(RuleAction(rawValue: "update_resources") == .updateResources)
        #expect(RuleAction(rawValue: "rm") == nil)
    }
}
