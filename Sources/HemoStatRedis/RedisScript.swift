/// A Lua script run with `EVALSHA`.
///
/// The SHA-1 is computed locally from the source, exactly as Redis names scripts, so no round
/// trip is needed before the first call.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The lowercase hex SHA-1 of ``source``: the name Redis caches the script under.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(Array(source.utf8))
    }
}

extension RedisClient {
    /// Runs a script by its SHA-1 (`EVALSHA sha numkeys keys... args...`).
    ///
    /// When the server does not have the script cached (`NOSCRIPT`: after a restart or
    /// `SCRIPT FLUSH`), loads it with `SCRIPT LOAD` and retries once. An error raised by the
    /// script throws ``RedisError`` with code `.server`.
    @discardableResult
    public func evalSHA(_ script: RedisScript, keys: [String] = [], args: [String] = [], timeout: Duration? = nil) async throws -> RedisValue {
        let call = ["EVALSHA", script.sha1, String(keys.count)] + keys + args
        do {
            return try await send(call, timeout: timeout)
        } catch let error as RedisError where error.serverCode == "NOSCRIPT" {
            logger.debug("Loading Redis script", metadata: ["redis.script.sha1": "\(script.sha1)"])
            try await loadScript(script)
            do {
                return try await send(call, timeout: timeout)
            } catch let retry as RedisError where retry.serverCode == "NOSCRIPT" {
                throw RedisError(code: .noScript, message: "script \(script.sha1) is still missing after SCRIPT LOAD", serverCode: "NOSCRIPT")
            }
        }
    }

    /// `SCRIPT LOAD`: caches the script on the server.
    public func loadScript(_ script: RedisScript) async throws {
        let sha = try await send(["SCRIPT", "LOAD", script.source]).requireString("SCRIPT LOAD")
        if sha != script.sha1 {
            throw RedisError(code: .unexpectedReply, message: "SCRIPT LOAD returned SHA-1 \(sha), expected \(script.sha1)")
        }
    }
}
