import Foundation
import HemoStatTestSupport
import Testing
@testable import HemoStatRedis

@Suite(.enabled(if: TestEnvironment.integration))
struct RedisStreamTests {
    @Test func consumerGroupRoundTripWithReclaim() async throws {
        let client = try testClient()
        defer { client.close() }
        let prefix = TestEnvironment.uniquePrefix("stream")
        let stream = "\(prefix):remediation_needed"
        let group = "responders"

        #expect(try await client.xgroupCreate(stream: stream, group: group, startID: "$", mkstream: true))
        // Creating it again is not an error.
        #expect(try await client.xgroupCreate(stream: stream, group: group) == false)

        let id1 = try await client.xadd(stream, fields: [("message", "{\"n\":1}"), ("z", "last")], maxLength: 1000)
        let id2 = try await client.xadd(stream, fields: [("message", "{\"n\":2}")])
        #expect(try await client.xlen(stream) == 2)

        // Consumer "a" reads both and dies without acknowledging.
        let read = try await client.xreadgroup(group: group, consumer: "a", streams: [(stream, ">")], count: 10)
        #expect(read.map(\.id) == [id1, id2])
        #expect(read[0].stream == stream)
        #expect(read[0].fields?.map(\.name) == ["message", "z"])
        #expect(read[0][field: "message"] == "{\"n\":1}")

        let summary = try await client.xpending(stream: stream, group: group)
        #expect(summary.count == 2)
        #expect(summary.smallestID == id1)
        #expect(summary.largestID == id2)
        #expect(summary.consumers == ["a": 2])

        // Nothing new for consumer "b".
        #expect(try await client.xreadgroup(group: group, consumer: "b", streams: [(stream, ">")]).isEmpty)

        // Consumer "b" reclaims what "a" left behind.
        let claim = try await client.xautoclaim(stream: stream, group: group, consumer: "b", minIdle: .zero, start: "0-0", count: 10)
        #expect(claim.next == "0-0")
        #expect(claim.entries.map(\.id) == [id1, id2])
        #expect(claim.entries[1][field: "message"] == "{\"n\":2}")
        #expect(claim.deleted.isEmpty)

        let detail = try await client.xpending(stream: stream, group: group, count: 10)
        #expect(detail.map(\.id) == [id1, id2])
        #expect(detail.allSatisfy { $0.consumer == "b" && $0.deliveryCount == 2 })

        #expect(try await client.xack(stream, group: group, ids: [id1, id2]) == 2)
        #expect(try await client.xpending(stream: stream, group: group).count == 0)
        #expect(try await client.xrange(stream).map(\.id) == [id1, id2])
        #expect(try await client.xrevrange(stream, count: 1).map(\.id) == [id2])
        try await client.send(["DEL", stream])
    }

    @Test func deletedPendingEntries() async throws {
        let client = try testClient()
        defer { client.close() }
        let stream = TestEnvironment.uniquePrefix("stream")
        try await client.xgroupCreate(stream: stream, group: "g", startID: "0")
        let id = try await client.xadd(stream, fields: [("message", "x")])
        _ = try await client.xreadgroup(group: "g", consumer: "c", streams: [(stream, ">")])
        try await client.send(["XDEL", stream, id])

        // Re-reading the consumer's own pending list shows the entry without data.
        let pending = try await client.xreadgroup(group: "g", consumer: "c", streams: [(stream, "0")])
        #expect(pending.count == 1)
        #expect(pending.first?.id == id)
        #expect(pending.first?.isDeleted == true)

        // XAUTOCLAIM reports it as deleted (Redis 7) and drops it from the pending list.
        let claim = try await client.xautoclaim(stream: stream, group: "g", consumer: "d", minIdle: .zero)
        #expect(claim.entries.isEmpty)
        #expect(claim.deleted == [id])
        #expect(try await client.xpending(stream: stream, group: "g").count == 0)
        try await client.send(["DEL", stream])
    }

    @Test func blockingReadReturnsEmptyWhenTheBlockTimeRunsOut() async throws {
        let client = try testClient(commandTimeout: .milliseconds(500))
        defer { client.close() }
        let stream = TestEnvironment.uniquePrefix("stream")
        try await client.xgroupCreate(stream: stream, group: "g")
        // Blocks longer than the command timeout: the call's timeout is extended by the block time.
        let entries = try await client.xreadgroup(group: "g", consumer: "c", streams: [(stream, ">")], block: .milliseconds(800))
        #expect(entries.isEmpty)
        try await client.send(["DEL", stream])
    }

    @Test func blockingReadWakesOnNewEntry() async throws {
        let reader = try testClient()
        let writer = try testClient()
        defer { reader.close(); writer.close() }
        let stream = TestEnvironment.uniquePrefix("stream")
        try await reader.xgroupCreate(stream: stream, group: "g")
        async let read = reader.xreadgroup(group: "g", consumer: "c", streams: [(stream, ">")], block: .seconds(20))
        try await eventually("the reader blocked") {
            // The reader is blocked once its client shows up as blocked.
            let info = try await writer.send(["INFO", "clients"]).string ?? ""
            return !info.contains("blocked_clients:0")
        }
        let id = try await writer.xadd(stream, fields: [("message", "wake")])
        let entries = try await read
        #expect(entries.map(\.id) == [id])
        try await writer.send(["DEL", stream])
    }
}

@Suite(.enabled(if: TestEnvironment.integration))
struct RedisScriptIntegrationTests {
    static let script = RedisScript("""
        local n = redis.call('INCRBY', KEYS[1], ARGV[1])
        return n
        """)

    @Test func evalSHAReloadsAfterScriptFlush() async throws {
        // A private server: SCRIPT FLUSH would affect every other test's scripts.
        let server = try RedisServerProcess()
        let client = try testClient(url: server.tcpURL)
        defer { client.close() }

        // Not loaded yet: the first call loads it transparently.
        #expect(try await client.evalSHA(Self.script, keys: ["counter"], args: ["2"]) == .integer(2))
        #expect(try await client.evalSHA(Self.script, keys: ["counter"], args: ["3"]) == .integer(5))
        try await client.send(["SCRIPT", "FLUSH"])
        #expect(try await client.send(["SCRIPT", "EXISTS", Self.script.sha1]) == .array([.integer(0)]))
        #expect(try await client.evalSHA(Self.script, keys: ["counter"], args: ["1"]) == .integer(6))
        #expect(try await client.send(["SCRIPT", "EXISTS", Self.script.sha1]) == .array([.integer(1)]))
    }

    @Test func scriptErrorsThrowServerErrors() async throws {
        let client = try testClient()
        defer { client.close() }
        let failing = RedisScript("return redis.error_reply('HSREFUSED cooldown active')")
        await #expect {
            try await client.evalSHA(failing)
        } throws: { error in
            let e = error as? RedisError
            return e?.code == .server && e?.serverCode == "HSREFUSED"
        }
    }
}

@Suite(.enabled(if: TestEnvironment.integration))
struct RedisFailureTests {
    @Test func reconnectsAfterServerRestart() async throws {
        let server = try RedisServerProcess()
        let client = try testClient(url: server.tcpURL)
        defer { client.close() }
        try await client.send(["SET", "before", "1"])

        try server.restart()

        var failures: [RedisError] = []
        var recovered = false
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            do {
                try await client.ping()
                recovered = true
                break
            } catch let error as RedisError {
                failures.append(error)
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(recovered)
        // The restart is noticed as a connection-level failure, never as anything else.
        #expect(failures.allSatisfy { [.io, .connectionFailed, .timeout].contains($0.code) })
        // The new server is empty: the client really talks to it.
        #expect(try await client.send(["GET", "before"]) == .null)
    }

    @Test func stoppedServerFailsFastWithBackoff() async throws {
        let server = try RedisServerProcess()
        var configuration = try RedisConfiguration(url: server.tcpURL)
        configuration.initialReconnectBackoff = .seconds(30)
        let client = RedisClient(configuration: configuration)
        defer { client.close() }
        try await client.ping()
        server.stop()

        // The broken connection, then the refused reconnect.
        var codes: [RedisError.Code] = []
        for _ in 0..<2 {
            do { try await client.ping() } catch let error as RedisError { codes.append(error.code) }
        }
        #expect(codes.allSatisfy { [.io, .connectionFailed].contains($0) })
        #expect(codes.last == .connectionFailed)
        // Inside the backoff window: fails at once, saying when it will retry.
        await #expect {
            try await client.ping()
        } throws: { error in
            let e = error as? RedisError
            return e?.code == .connectionFailed && e?.message.contains("next reconnect attempt") == true
        }
    }

    @Test func hungServerTimesOut() async throws {
        let listener = try SilentTCPListener()
        var configuration = RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: listener.port))
        configuration.connectTimeout = .milliseconds(500)
        configuration.commandTimeout = .milliseconds(300)
        let client = RedisClient(configuration: configuration)
        defer { client.close() }
        await #expect {
            try await client.ping()
        } throws: { ($0 as? RedisError)?.code == .timeout }
    }

    @Test func hungServerTimesOutDuringAuth() async throws {
        let listener = try SilentTCPListener()
        var configuration = try RedisConfiguration(url: "redis://:secret@127.0.0.1:\(listener.port)")
        configuration.commandTimeout = .milliseconds(300)
        let client = RedisClient(configuration: configuration)
        defer { client.close() }
        await #expect {
            try await client.ping()
        } throws: { error in
            let e = error as? RedisError
            return e?.code == .timeout && e?.message.contains("secret") == false
        }
    }

    @Test func commandTimeoutThenRecovers() async throws {
        let client = try testClient()
        defer { client.close() }
        let key = TestEnvironment.uniquePrefix("blpop")
        await #expect {
            try await client.send(["BLPOP", key, "10"], timeout: .milliseconds(300))
        } throws: { ($0 as? RedisError)?.code == .timeout }
        // The timed-out connection was dropped; the next call uses a fresh one.
        try await client.ping()
        #expect(try await client.send(["LLEN", key]) == .integer(0))
    }

    @Test func cancellationAbortsABlockedCall() async throws {
        let client = try testClient()
        defer { client.close() }
        let key = TestEnvironment.uniquePrefix("blpop")
        let blocked = Task {
            try await client.send(["BLPOP", key, "0"], timeout: .zero)
        }
        let observer = try testClient()
        defer { observer.close() }
        try await eventually("a client blocked") {
            let info = try await observer.send(["INFO", "clients"]).string ?? ""
            return !info.contains("blocked_clients:0")
        }
        blocked.cancel()
        let result = await blocked.result
        #expect(throws: CancellationError.self) { try result.get() }
        try await client.ping()
    }

    @Test func closedClientRejectsCalls() async throws {
        let client = try testClient()
        try await client.ping()
        client.close()
        await #expect {
            try await client.ping()
        } throws: { ($0 as? RedisError)?.code == .closed }
    }
}
