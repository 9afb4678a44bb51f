import Foundation
import HemoStatTestSupport
import Testing
@testable import HemoStatRedis

/// A client for the private test Redis (unix socket), or for `url`.
func testClient(url: String? = nil, commandTimeout: Duration = .seconds(5)) throws -> RedisClient {
    var configuration = try RedisConfiguration(url: url ?? TestEnvironment.redisURL())
    configuration.commandTimeout = commandTimeout
    return RedisClient(configuration: configuration)
}

/// Deletes every key under `prefix` (tests only create a handful).
func cleanUp(_ client: RedisClient, prefix: String) async {
    if let keys = try? await client.send(["KEYS", prefix + "*"]).array?.compactMap(\.string), !keys.isEmpty {
        _ = try? await client.send(["DEL"] + keys)
    }
}

@Suite(.enabled(if: TestEnvironment.integration))
struct RedisCommandTests {
    @Test func setAndGetBinarySafeValues() async throws {
        let client = try testClient()
        let prefix = TestEnvironment.uniquePrefix("redis")
        defer { client.close() }
        let key = Array("\(prefix):bin\u{0}key".utf8)
        let value: [UInt8] = [0, 1, 2, 0xFF, 0xFE, 13, 10, 0]
        try await client.send([Array("SET".utf8), key, value])
        #expect(try await client.send([Array("GET".utf8), key]) == .bulk(value))
        #expect(try await client.send(["GET", "\(prefix):missing"]) == .null)
        try await client.send(["SET", "\(prefix):text", "héllo wörld"])
        #expect(try await client.send(["GET", "\(prefix):text"]).string == "héllo wörld")
        try await client.send([Array("DEL".utf8), key])
        await cleanUp(client, prefix: prefix)
    }

    /// A call cancelled as it finishes shuts its socket down; the client must not use that
    /// connection again (its next write would fail with "Broken pipe").
    @Test func callsCancelledAsTheyFinishLeaveTheClientUsable() async throws {
        let client = try testClient()
        defer { client.close() }
        let key = TestEnvironment.uniquePrefix("cancel")
        for round in 0..<300 {
            let call = Task { try await client.send(["INCR", key]) }
            // Cancel at a different moment each round, around the time the call completes.
            if round % 3 != 0 { try await Task.sleep(for: .microseconds(round % 7 * 40)) }
            call.cancel()
            _ = try? await call.value
            let pong = try await client.send(["PING"])
            #expect(pong.string == "PONG", "round \(round)")
        }
        _ = try await client.send(["DEL", key])
    }

    @Test func serverErrorThrowsWithItsCode() async throws {
        let client = try testClient()
        let prefix = TestEnvironment.uniquePrefix("redis")
        defer { client.close() }
        try await client.send(["SET", "\(prefix):s", "x"])
        await #expect {
            try await client.send(["LPUSH", "\(prefix):s", "y"])
        } throws: { error in
            let e = error as? RedisError
            return e?.code == .server && e?.serverCode == "WRONGTYPE"
        }
        // The connection survives a server error.
        #expect(try await client.send(["GET", "\(prefix):s"]).string == "x")
        await cleanUp(client, prefix: prefix)
    }

    @Test func pipelineReturnsEveryReplyInOrder() async throws {
        let client = try testClient()
        let prefix = TestEnvironment.uniquePrefix("redis")
        defer { client.close() }
        let replies = try await client.pipeline([
            ["SET", "\(prefix):a", "1"],
            ["INCR", "\(prefix):a"],
            ["LPUSH", "\(prefix):a", "x"],
            ["GET", "\(prefix):a"],
        ])
        #expect(replies.count == 4)
        #expect(replies[0] == .status("OK"))
        #expect(replies[1] == .integer(2))
        #expect(replies[2].redisError?.serverCode == "WRONGTYPE")
        #expect(replies[3].string == "2")
        let many = try await client.pipeline((0..<500).map { ["RPUSH", "\(prefix):list", String($0)] })
        #expect(many.last == .integer(500))
        await cleanUp(client, prefix: prefix)
    }

    @Test func tcpAndDatabaseNumber() async throws {
        let port = try TestEnvironment.redisPort()
        let prefix = TestEnvironment.uniquePrefix("redis")
        let db3 = try testClient(url: "redis://127.0.0.1:\(port)/3")
        let db0 = try testClient(url: "redis://127.0.0.1:\(port)")
        defer { db3.close(); db0.close() }
        try await db3.send(["SET", "\(prefix):k", "in-3"])
        #expect(try await db3.send(["GET", "\(prefix):k"]).string == "in-3")
        #expect(try await db0.send(["GET", "\(prefix):k"]) == .null)
        try await db3.send(["DEL", "\(prefix):k"])
    }

    @Test func publishCountsReceivers() async throws {
        let client = try testClient()
        defer { client.close() }
        #expect(try await client.publish(channel: TestEnvironment.uniquePrefix("nobody"), message: "x") == 0)
    }
}

@Suite(.enabled(if: TestEnvironment.integration))
struct RedisAuthTests {
    @Test func passwordAuthentication() async throws {
        let server = try RedisServerProcess(password: "p@ss:w/rd")
        let good = try testClient(url: server.tcpURL)
        defer { good.close() }
        try await good.ping()

        let none = try testClient(url: "redis://127.0.0.1:\(server.port)")
        defer { none.close() }
        await #expect {
            try await none.ping()
        } throws: { ($0 as? RedisError)?.serverCode == "NOAUTH" }

        let wrong = try testClient(url: "redis://:nope@127.0.0.1:\(server.port)")
        defer { wrong.close() }
        await #expect {
            try await wrong.ping()
        } throws: { error in
            let e = error as? RedisError
            return e?.code == .authenticationFailed && e?.message.contains("nope") == false
        }
    }

    @Test func aclUserAuthentication() async throws {
        let server = try RedisServerProcess(aclUser: (name: "hemostat", password: "acl-secret"))
        let client = try testClient(url: server.tcpURL)
        defer { client.close() }
        #expect(try await client.send(["ACL", "WHOAMI"]).string == "hemostat")

        let wrong = try testClient(url: "redis://hemostat:bad@127.0.0.1:\(server.port)")
        defer { wrong.close() }
        await #expect {
            try await wrong.ping()
        } throws: { ($0 as? RedisError)?.code == .authenticationFailed }
    }

    @Test func unixSocketWithPasswordInQuery() async throws {
        let server = try RedisServerProcess(password: "sockpw")
        let client = try testClient(url: server.unixURL + "?password=sockpw&db=2")
        defer { client.close() }
        try await client.send(["SET", "k", "v"])
        #expect(try await client.send(["DBSIZE"]) == .integer(1))
    }
}

@Suite(.enabled(if: TestEnvironment.integration))
struct RedisPubSubTests {
    @Test func subscribeReceivesPublishedMessages() async throws {
        let client = try testClient()
        defer { client.close() }
        let channel = TestEnvironment.uniquePrefix("chan")
        let stream = try await client.subscribe(channels: [channel, channel + ":other"])
        #expect(try await client.publish(channel: channel, message: "hello") == 1)
        try await client.publish(channel: channel + ":other", message: [0, 1, 255])

        var iterator = stream.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        #expect(first.channel == channel)
        #expect(first.pattern == nil)
        #expect(first.string == "hello")
        let second = try #require(try await iterator.next())
        #expect(second.channel == channel + ":other")
        #expect(second.payload == [0, 1, 255])
    }

    @Test func psubscribeReceivesMatchingChannels() async throws {
        let client = try testClient()
        defer { client.close() }
        let prefix = TestEnvironment.uniquePrefix("pchan")
        let stream = try await client.psubscribe(patterns: ["\(prefix):*"])
        try await client.publish(channel: "\(prefix)-nomatch", message: "skip")
        try await client.publish(channel: "\(prefix):health_alert", message: "{\"a\":1}")
        var iterator = stream.makeAsyncIterator()
        let message = try #require(try await iterator.next())
        #expect(message.channel == "\(prefix):health_alert")
        #expect(message.pattern == "\(prefix):*")
        #expect(message.string == "{\"a\":1}")
    }

    @Test func endingTheStreamUnsubscribes() async throws {
        let client = try testClient()
        defer { client.close() }
        let channel = TestEnvironment.uniquePrefix("chan")
        let consumer = Task {
            let stream = try await client.subscribe(channels: [channel])
            for try await _ in stream {}
        }
        try await eventually("the subscription") { try await subscriberCount(client, channel) == 1 }
        consumer.cancel()
        _ = await consumer.result
        try await eventually("the unsubscription") { try await subscriberCount(client, channel) == 0 }
    }

    @Test func droppedConnectionEndsTheStreamWithAnError() async throws {
        let server = try RedisServerProcess()
        let client = try testClient(url: server.tcpURL)
        defer { client.close() }
        let stream = try await client.subscribe(channels: ["c"])
        server.stop()
        await #expect(throws: RedisError.self) {
            for try await _ in stream {}
        }
    }

    private func subscriberCount(_ client: RedisClient, _ channel: String) async throws -> Int64 {
        let reply = try await client.send(["PUBSUB", "NUMSUB", channel]).array ?? []
        return reply.count == 2 ? reply[1].integer ?? -1 : -1
    }
}
