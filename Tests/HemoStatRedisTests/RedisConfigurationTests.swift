import Testing
@testable import HemoStatRedis

@Suite struct RedisConfigurationTests {
    @Test func parsesFullTCPURL() throws {
        let c = try RedisConfiguration(url: "redis://worker:s3cret@redis.internal:6380/4")
        #expect(c.endpoint == .tcp(host: "redis.internal", port: 6380))
        #expect(c.username == "worker")
        #expect(c.password == "s3cret")
        #expect(c.database == 4)
    }

    @Test func defaultsPortAndDatabase() throws {
        let c = try RedisConfiguration(url: "redis://localhost")
        #expect(c.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(c.username == nil && c.password == nil)
        #expect(c.database == 0)
        #expect(try RedisConfiguration(url: "redis://h:7000/").database == 0)
    }

    @Test func passwordOnlyForms() throws {
        let empty = try RedisConfiguration(url: "redis://:pa%3Ass%40w0rd@db:6379")
        #expect(empty.username == nil)
        #expect(empty.password == "pa:ss@w0rd")
        let legacy = try RedisConfiguration(url: "redis://secret@db")
        #expect(legacy.username == nil)
        #expect(legacy.password == "secret")
    }

    @Test func percentDecodesUserAndPassword() throws {
        let c = try RedisConfiguration(url: "redis://us%2Fer:p%20w%25d@host/2")
        #expect(c.username == "us/er")
        #expect(c.password == "p w%d")
    }

    @Test func ipv6Host() throws {
        let c = try RedisConfiguration(url: "redis://[::1]:6390")
        #expect(c.endpoint == .tcp(host: "::1", port: 6390))
        #expect(c.endpoint.description == "[::1]:6390")
    }

    @Test func unixSocketWithQuery() throws {
        let c = try RedisConfiguration(url: "unix:///var/run/redis/redis.sock?db=3&password=p%26q")
        #expect(c.endpoint == .unix(path: "/var/run/redis/redis.sock"))
        #expect(c.database == 3)
        #expect(c.password == "p&q")
        let plain = try RedisConfiguration(url: "unix:///tmp/r.sock")
        #expect(plain.endpoint == .unix(path: "/tmp/r.sock"))
        #expect(plain.password == nil && plain.database == 0)
    }

    @Test func rejectsTLS() {
        #expect {
            try RedisConfiguration(url: "rediss://:pw@host:6380")
        } throws: { error in
            let e = error as? RedisError
            return e?.code == .invalidConfiguration && e?.message.contains("TLS") == true && e?.message.contains("pw") == false
        }
    }

    @Test(arguments: ["redis://host:notaport", "redis://host:70000", "redis://host/abc", "http://host", "localhost:6379", "unix://", "redis://[::1"])
    func rejectsMalformed(url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func parseErrorsNeverQuoteTheURL() {
        do {
            _ = try RedisConfiguration(url: "redis://u:topsecret@host:99999")
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("topsecret"))
        }
    }

    @Test func environmentURLWins() throws {
        let c = try RedisConfiguration.fromEnvironment([
            "REDIS_URL": "redis://:pw@from-url:7001/5",
            "REDIS_HOST": "ignored", "REDIS_PORT": "1", "REDIS_DB": "9",
        ])
        #expect(c.endpoint == .tcp(host: "from-url", port: 7001))
        #expect(c.password == "pw")
        #expect(c.database == 5)
    }

    @Test func environmentVariablesOfTheOriginal() throws {
        let c = try RedisConfiguration.fromEnvironment([
            "REDIS_HOST": "redis", "REDIS_PORT": "6380", "REDIS_PASSWORD": "hunter2", "REDIS_DB": "2",
        ])
        #expect(c.endpoint == .tcp(host: "redis", port: 6380))
        #expect(c.password == "hunter2")
        #expect(c.database == 2)
    }

    @Test func environmentDefaults() throws {
        let c = try RedisConfiguration.fromEnvironment(["REDIS_URL": ""])
        #expect(c.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(c.password == nil)
        #expect(c.database == 0)
    }

    @Test func environmentRejectsBadNumbers() {
        #expect(throws: RedisError.self) { try RedisConfiguration.fromEnvironment(["REDIS_PORT": "x"]) }
        #expect(throws: RedisError.self) { try RedisConfiguration.fromEnvironment(["REDIS_DB": "-1"]) }
    }

    @Test func descriptionNeverShowsThePassword() throws {
        let c = try RedisConfiguration(url: "redis://admin:hunter2@db:6379/1")
        var dumped = ""
        dump(c, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(!String(reflecting: c).contains("hunter2"))
        for text in [c.description, c.redacted, "\(c)", String(describing: c)] {
            #expect(!text.contains("hunter2"))
            #expect(text.contains("password=***"))
            #expect(text.contains("db:6379"))
        }
    }
}

@Suite struct RedisErrorTests {
    @Test func serverErrorKeepsItsCode() {
        let e = RedisError.server("WRONGTYPE Operation against a key holding the wrong kind of value")
        #expect(e.code == .server)
        #expect(e.serverCode == "WRONGTYPE")
        #expect(e.message.hasPrefix("WRONGTYPE"))
    }

    @Test func serverErrorDropsEchoedArguments() {
        let e = RedisError.server("ERR unknown command 'SETX', with args beginning with: 'key' 'secret-value' ")
        #expect(e.serverCode == "ERR")
        #expect(!e.message.contains("secret-value"))
        #expect(e.message.contains("unknown command"))
    }
}

@Suite struct ReconnectBackoffTests {
    @Test func doublesUpToTheCapAndResets() {
        var backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(300))
        let t0 = ContinuousClock.now
        #expect(backoff.waitRemaining(at: t0) == nil)

        backoff.recordFailure(at: t0)
        #expect(backoff.currentDelay == .milliseconds(50))
        #expect(backoff.waitRemaining(at: t0) == .milliseconds(50))
        #expect(backoff.waitRemaining(at: t0 + .milliseconds(20)) == .milliseconds(30))
        #expect(backoff.waitRemaining(at: t0 + .milliseconds(50)) == nil)

        var delays: [Duration] = []
        for _ in 0..<4 {
            backoff.recordFailure(at: t0)
            delays.append(backoff.currentDelay)
        }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(300)])

        backoff.recordSuccess()
        #expect(backoff.waitRemaining(at: t0) == nil)
        backoff.recordFailure(at: t0)
        #expect(backoff.currentDelay == .milliseconds(50))
    }
}

@Suite struct RedisScriptTests {
    @Test func sha1MatchesKnownVectors() {
        #expect(SHA1.hexDigest(Array("".utf8)) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hexDigest(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(SHA1.hexDigest([UInt8](repeating: 0x61, count: 1_000_000)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func scriptIsNamedByItsSHA1() {
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }
}
