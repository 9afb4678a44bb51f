@testable import HemoStatCore
@testable import HemoStatModel
import Testing

@Suite struct VersionTests {
    @Test func versionIsSemantic() {
        #expect(HemoStatVersion.current.split(separator: ".").count == 3)
    }
}
