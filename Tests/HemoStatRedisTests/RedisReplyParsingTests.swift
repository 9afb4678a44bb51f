import Testing
@testable import HemoStatRedis

@Suite struct RedisReplyParsingTests {
    private func bulk(_ s: String) -> RedisValue { .bulk(Array(s.utf8)) }

    @Test func accessors() {
        #expect(RedisValue.integer(7).integer == 7)
        #expect(bulk("42").integer == 42)
        #expect(RedisValue.status("OK").bytes == Array("OK".utf8))
        #expect(RedisValue.null.isNull)
        #expect(RedisValue.array([.null]).array == [.null])
        #expect(RedisValue.error("ERR x").redisError?.serverCode == "ERR")
        #expect(RedisValue.integer(1).errorMessage == nil)
    }

    @Test func streamsReplyKeepsFieldOrderAndDeletedEntries() throws {
        let reply = RedisValue.array([
            .array([bulk("s1"), .array([
                .array([bulk("1-0"), .array([bulk("b"), bulk("2"), bulk("a"), bulk("1")])]),
                .array([bulk("2-0"), .null]),
            ])]),
            .array([bulk("s2"), .array([
                .array([bulk("3-0"), .array([bulk("message"), bulk("{}")])]),
            ])]),
        ])
        let entries = try RedisClient.parseStreamsReply(reply, command: "XREADGROUP")
        #expect(entries.map(\.id) == ["1-0", "2-0", "3-0"])
        #expect(entries.map(\.stream) == ["s1", "s1", "s2"])
        #expect(entries[0].fields?.map(\.name) == ["b", "a"])
        #expect(entries[0].fieldDictionary == ["a": "1", "b": "2"])
        #expect(entries[1].isDeleted)
        #expect(entries[2][field: "message"] == "{}")
    }

    @Test func nilStreamsReplyIsEmpty() throws {
        #expect(try RedisClient.parseStreamsReply(.null, command: "XREADGROUP").isEmpty)
    }

    @Test func wrongShapeIsUnexpectedReply() {
        #expect {
            try RedisClient.parseStreamsReply(.integer(1), command: "XREADGROUP")
        } throws: { ($0 as? RedisError)?.code == .unexpectedReply }
    }

    @Test func pubSubMessages() {
        let message = SubscriptionReader.message(from: .array([bulk("message"), bulk("ch"), .bulk([0, 255])]))
        #expect(message == RedisPubSubMessage(channel: "ch", payload: [0, 255]))
        let pmessage = SubscriptionReader.message(from: .array([bulk("pmessage"), bulk("h:*"), bulk("h:x"), bulk("hi")]))
        #expect(pmessage?.pattern == "h:*")
        #expect(pmessage?.channel == "h:x")
        #expect(pmessage?.string == "hi")
        #expect(SubscriptionReader.message(from: .array([bulk("subscribe"), bulk("ch"), .integer(1)])) == nil)
    }
}
