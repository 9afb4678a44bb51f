import Testing
@testable import HemoStatCore

@Suite struct VersionTests {
    @Test func versionIsSemantic() {
        #expect(HemoStatVersion.current.split(separator: ".").count == 3)
    }
}
