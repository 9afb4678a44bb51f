import Testing
@testable import HemoStatRedis

@Suite struct RedisValueTests {
    @Test func bulkDecodesAsUTF8() {
        #expect(RedisValue.bulk(Array("héllo".utf8)).string == "héllo")
        #expect(RedisValue.integer(3).string == nil)
    }
}
