import Foundation
public import HemoStatModel
public import HemoStatRedis

/// Incidents whose verdict was "not yet", evaluated again as new samples of their container
/// arrive, in Redis so that any analyzer takes them up.
///
/// `analyzer:rechecks` is a sorted set of incident ids scored by when each is next looked at;
/// `analyzer:recheck:<incident>` holds the alert (`alert`, its envelope as it came), the
/// sample last evaluated (`sample`, the stats document's `updated_at`), how many evaluations
/// were made (`evaluations`), until when (`until`, ms) and, when the rule asked for one
/// (`recheck{after = …}`), when it is evaluated again even without a new sample (`at`, ms;
/// 0 for none). A look is claimed by moving the
/// incident's score a lease ahead in one script, so two analyzers never look at once and one
/// that dies mid-look leaves it to the next after the lease.
public struct Rechecks: Sendable {
    public let redis: RedisClient
    public let keys: KeySpace

    public init(redis: RedisClient, keys: KeySpace) {
        self.redis = redis
        self.keys = keys
    }

    public struct Pending: Sendable, Hashable {
        public var incidentID: String
        public var alert: String
        public var sample: String
        public var evaluations: Int
        public var until: Int64
        /// When to evaluate again even without a new sample (ms), if the rule asked for it.
        public var at: Int64?
    }

    /// Whether `incidentID` is waiting to be evaluated again.
    public func contains(_ incidentID: String) async throws -> Bool {
        try await redis.send(["ZSCORE", keys.analyzerRechecks, incidentID]).string != nil
    }

    /// Starts re-evaluating an incident (or refreshes its alert), next look at `next` ms, and an
    /// evaluation at `at` ms whatever the samples, when given.
    public func schedule(_ incidentID: String, alert: String, sample: String, until: Int64, next: Int64, at: Int64? = nil) async throws {
        let replies = try await redis.pipeline([
            ["HSET", keys.analyzerRecheck(incidentID), "alert", alert, "sample", sample, "until", String(until), "at", String(at ?? 0)],
            ["HSETNX", keys.analyzerRecheck(incidentID), "evaluations", "1"],
            ["PEXPIREAT", keys.analyzerRecheck(incidentID), String(until + 60_000)],
            ["ZADD", keys.analyzerRechecks, String(next), incidentID],
        ])
        if let error = replies.lazy.compactMap(\.redisError).first { throw error }
    }

    /// Claims up to `limit` incidents due at `now` (ms) for `lease` ms and returns them.
    public func claimDue(now: Int64, lease: Int64, limit: Int = 20) async throws -> [Pending] {
        let reply = try await redis.evalSHA(Self.claimScript, keys: [keys.analyzerRechecks], args: [String(now), String(now + lease), String(limit)])
        var pending: [Pending] = []
        for id in (reply.array ?? []).compactMap(\.string) {
            let fields = try await redis.send(["HMGET", keys.analyzerRecheck(id), "alert", "sample", "evaluations", "until", "at"]).array ?? []
            guard fields.count == 5, let alert = fields[0].string else {
                try await finish(id)
                continue
            }
            pending.append(Pending(
                incidentID: id, alert: alert, sample: fields[1].string ?? "", evaluations: Int(fields[2].string ?? "") ?? 1,
                until: Int64(fields[3].string ?? "") ?? 0, at: Int64(fields[4].string ?? "").flatMap { $0 > 0 ? $0 : nil }))
        }
        return pending
    }

    /// After a look that decided nothing: the sample seen, the next look at `next` ms, and when
    /// to evaluate whatever the samples (`at` ms; nil for none).
    public func again(_ pending: Pending, sample: String, evaluated: Bool, next: Int64, at: Int64?) async throws {
        let replies = try await redis.pipeline([
            [
                "HSET", keys.analyzerRecheck(pending.incidentID), "sample", sample,
                "evaluations", String(pending.evaluations + (evaluated ? 1 : 0)), "at", String(at ?? 0),
            ],
            ["ZADD", keys.analyzerRechecks, String(next), pending.incidentID],
        ])
        if let error = replies.lazy.compactMap(\.redisError).first { throw error }
    }

    /// The incident is decided, over, or past its time: no more looks.
    public func finish(_ incidentID: String) async throws {
        _ = try await redis.pipeline([["ZREM", keys.analyzerRechecks, incidentID], ["DEL", keys.analyzerRecheck(incidentID)]])
    }

    /// `Lua/analyzer-claim-rechecks.lua`.
    static let claimScript = RedisScript(embedded: PackageResources.analyzer_claim_rechecks_lua)
}
