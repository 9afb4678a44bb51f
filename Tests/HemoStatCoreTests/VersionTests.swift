@testable import HemoStatCore
import Testing

@Suite struct VersionTests {
    @Test func versionIsSemantic() {
        #expect(HemoStatVersion.current.split(separator: ".").count == 3)
    }
}
