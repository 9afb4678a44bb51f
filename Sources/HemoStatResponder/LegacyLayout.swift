public import HemoStatCore
import HemoStatRedis
public import Logging

/// Moves the per-container keys of the layout before hosts (`gate:c:<name>…`,
/// `remediation:<name>`, `responder:inflight`) under the host of the first responder that
/// starts on the new layout, once per Redis. That install had one host, so its containers are
/// that host's: cooldowns, counters, open breakers, holds, history and unconcluded actions
/// carry over. Keys that already exist under the new name are left as they are. Stats and the
/// container list are written anew by the monitors within a poll; their old entries expire.
public enum LegacyLayout {
    /// Migrates once; later calls (by this or any responder) find the marker
    /// (`hemostat:layout:hosts`) and return.
    /// Returns how many keys were moved.
    @discardableResult
    public static func migrate(context: AgentContext, logger: Logger) async throws -> Int {
        let keys = context.keys
        let host = context.hostID
        let marker = "\(keys.prefix)layout:hosts"
        // Set once done; two responders migrating at once move each key once (RENAMENX).
        guard try await context.redis.send(["EXISTS", marker]).integer == 0 else { return 0 }
        var moved = 0
        for prefix in ["\(keys.gate):c:", "\(keys.dryRunGate):c:", "\(keys.prefix)remediation:"] {
            for key in try await scan(context.redis, prefix + "*") {
                let rest = key.dropFirst(prefix.count)
                // `name` or `name:sub`; the new layout's `host/name…` has a slash.
                guard !rest.contains("/") else { continue }
                if try await context.redis.send(["RENAMENX", key, prefix + host + "/" + rest]).integer == 1 { moved += 1 }
            }
        }
        if case .array(let items) = try await context.redis.send(["HGETALL", keys.legacyResponderInFlight]) {
            var index = 0
            while index + 1 < items.count {
                if let id = items[index].string, let record = items[index + 1].string {
                    _ = try await context.redis.send(["HSETNX", keys.responderInFlight(host: host), id, record])
                    moved += 1
                }
                index += 2
            }
            _ = try await context.redis.send(["DEL", keys.legacyResponderInFlight])
        }
        if case .array(let members) = try await context.redis.send(["ZRANGE", keys.containers, "0", "-1"]) {
            let bare = members.compactMap(\.string).filter { !$0.contains("/") }
            if !bare.isEmpty { _ = try await context.redis.send(["ZREM", keys.containers] + bare) }
        }
        _ = try await context.redis.send(["SET", marker, host])
        if moved > 0 {
            logger.notice("keys of the layout before hosts moved under this host", metadata: ["host.id": "\(host)", "keys.moved": "\(moved)"])
        }
        return moved
    }

    private static func scan(_ redis: RedisClient, _ pattern: String) async throws -> [String] {
        var cursor = "0"
        var found: [String] = []
        repeat {
            guard case .array(let parts) = try await redis.send(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"]), parts.count == 2,
                  let next = parts[0].string, case .array(let batch) = parts[1]
            else { throw RedisError(code: .unexpectedReply, message: "SCAN returned an unexpected reply") }
            found += batch.compactMap(\.string)
            cursor = next
        } while cursor != "0"
        return found
    }
}
