import Testing
@testable import HemoStatHTTP

@Suite struct HTTPMethodTests {
    @Test func rawValues() {
        #expect(HTTPMethod.post.rawValue == "POST")
    }
}
