import Testing
@testable import HemoStatDocker

@Suite struct DockerAPIVersionTests {
    @Test func parsesAndCompares() throws {
        let engine = try #require(DockerAPIVersion("1.41"))
        let client = try #require(DockerAPIVersion("1.45"))
        #expect(min(engine, client).description == "1.41")
        #expect(DockerAPIVersion("v1") == nil)
    }
}
