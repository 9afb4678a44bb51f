/// One entry read from a Redis stream.
public struct RedisStreamEntry: Sendable, Equatable, CustomStringConvertible {
    /// The stream key the entry came from.
    public var stream: String
    /// The entry id, `<milliseconds>-<sequence>`.
    public var id: String
    /// The field/value pairs in stored order; `nil` when the entry was deleted (XDEL, MAXLEN
    /// trimming) while still pending for the group. Such an entry should be acknowledged.
    public var fields: [(name: String, value: String)]?

    public init(stream: String, id: String, fields: [(name: String, value: String)]?) {
        self.stream = stream
        self.id = id
        self.fields = fields
    }

    /// True when the entry's data is gone (see ``fields``).
    public var isDeleted: Bool { fields == nil }

    /// The value of the first field with this name.
    public subscript(field name: String) -> String? {
        fields?.first(where: { $0.name == name })?.value
    }

    /// The fields as a dictionary (a repeated field name keeps its last value).
    public var fieldDictionary: [String: String] {
        var result: [String: String] = [:]
        for (name, value) in fields ?? [] { result[name] = value }
        return result
    }

    public static func == (lhs: RedisStreamEntry, rhs: RedisStreamEntry) -> Bool {
        guard lhs.stream == rhs.stream, lhs.id == rhs.id else { return false }
        switch (lhs.fields, rhs.fields) {
        case (nil, nil): return true
        case (let l?, let r?): return l.count == r.count && zip(l, r).allSatisfy { $0.name == $1.name && $0.value == $1.value }
        default: return false
        }
    }

    /// Stream and id only; field values may hold anything.
    public var description: String { "RedisStreamEntry(\(stream) \(id)\(isDeleted ? " deleted" : ""))" }
}

/// The summary form of `XPENDING key group`.
public struct RedisPendingSummary: Sendable, Equatable {
    /// Number of entries delivered to the group and not yet acknowledged.
    public var count: Int
    /// Smallest and largest pending id; `nil` when nothing is pending.
    public var smallestID: String?
    public var largestID: String?
    /// Pending count per consumer.
    public var consumers: [String: Int]
}

/// One row of the extended form of `XPENDING`.
public struct RedisPendingEntry: Sendable, Equatable {
    public var id: String
    /// The consumer that holds the entry.
    public var consumer: String
    /// Time since the entry was last delivered.
    public var idle: Duration
    /// How many times the entry has been delivered.
    public var deliveryCount: Int
}

extension RedisClient {
    /// `XADD stream [MAXLEN ~ n] id field value ...`; returns the new entry's id.
    ///
    /// - Parameters:
    ///   - maxLength: trims the stream to about this many entries (`MAXLEN ~`).
    ///   - id: `*` lets the server choose.
    @discardableResult
    public func xadd(
        _ stream: String,
        fields: [(String, String)],
        maxLength: Int? = nil,
        id: String = "*"
    ) async throws -> String {
        precondition(!fields.isEmpty, "XADD needs at least one field")
        var args = ["XADD", stream]
        if let maxLength { args += ["MAXLEN", "~", String(maxLength)] }
        args.append(id)
        for (name, value) in fields { args += [name, value] }
        return try await send(args).requireString("XADD")
    }

    /// `XGROUP CREATE stream group startID [MKSTREAM]`.
    ///
    /// A group that already exists is not an error (`BUSYGROUP`): returns `false` then,
    /// `true` when the group was created. `startID` `$` delivers only new entries, `0` the
    /// whole stream.
    @discardableResult
    public func xgroupCreate(stream: String, group: String, startID: String = "$", mkstream: Bool = true) async throws -> Bool {
        var args = ["XGROUP", "CREATE", stream, group, startID]
        if mkstream { args.append("MKSTREAM") }
        do {
            try await send(args)
            return true
        } catch let error as RedisError where error.serverCode == "BUSYGROUP" {
            return false
        }
    }

    /// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...`.
    ///
    /// - Parameters:
    ///   - streams: `(stream, id)` pairs; id `>` reads new entries, any other id re-reads this
    ///     consumer's pending entries after it.
    ///   - block: how long the server may wait for new entries; `nil` does not block,
    ///     `.zero` blocks forever. The call's timeout is extended by this amount.
    /// - Returns: the entries of all streams, stream by stream; empty when the block time ran
    ///   out. Pending entries deleted from the stream come back with `fields == nil`.
    public func xreadgroup(
        group: String,
        consumer: String,
        streams: [(String, String)],
        count: Int? = nil,
        block: Duration? = nil,
        noAck: Bool = false
    ) async throws -> [RedisStreamEntry] {
        precondition(!streams.isEmpty, "XREADGROUP needs at least one stream")
        var args = ["XREADGROUP", "GROUP", group, consumer]
        if let count { args += ["COUNT", String(count)] }
        var timeout: Duration?
        if let block {
            let ms = max(0, Int(block / .milliseconds(1)))
            args += ["BLOCK", String(ms)]
            timeout = ms == 0 || configuration.commandTimeout == .zero ? .zero : configuration.commandTimeout + block
        }
        if noAck { args.append("NOACK") }
        args.append("STREAMS")
        args += streams.map(\.0)
        args += streams.map(\.1)
        let reply = try await send(args, timeout: timeout)
        return try Self.parseStreamsReply(reply, command: "XREADGROUP")
    }

    /// `XACK stream group id...`; returns how many entries were acknowledged.
    @discardableResult
    public func xack(_ stream: String, group: String, ids: [String]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await send(["XACK", stream, group] + ids).requireInteger("XACK")
    }

    /// `XAUTOCLAIM stream group consumer min-idle start [COUNT n]`: takes over entries that
    /// have been pending for at least `minIdle` (their consumer presumably died).
    ///
    /// - Returns: `next`, the start id for the next call (`0-0` when the scan is complete);
    ///   the claimed `entries`; and `deleted`, ids that were pending but no longer exist in the
    ///   stream (Redis removes them from the pending list).
    public func xautoclaim(
        stream: String,
        group: String,
        consumer: String,
        minIdle: Duration,
        start: String = "0-0",
        count: Int? = nil
    ) async throws -> (next: String, entries: [RedisStreamEntry], deleted: [String]) {
        var args = ["XAUTOCLAIM", stream, group, consumer, String(max(0, Int(minIdle / .milliseconds(1)))), start]
        if let count { args += ["COUNT", String(count)] }
        let reply = try await send(args).requireArray("XAUTOCLAIM")
        guard reply.count >= 2 else { throw RedisValue.array(reply).unexpected("XAUTOCLAIM", expected: "an array of 3") }
        let next = try reply[0].requireString("XAUTOCLAIM")
        let entries = try Self.parseEntries(reply[1], stream: stream, command: "XAUTOCLAIM")
        let deleted = reply.count > 2 ? (reply[2].array ?? []).compactMap(\.string) : []
        return (next, entries, deleted)
    }

    /// `XPENDING stream group`: how many entries are pending and for whom.
    public func xpending(stream: String, group: String) async throws -> RedisPendingSummary {
        let reply = try await send(["XPENDING", stream, group]).requireArray("XPENDING")
        guard reply.count == 4 else { throw RedisValue.array(reply).unexpected("XPENDING", expected: "an array of 4") }
        var consumers: [String: Int] = [:]
        for pair in reply[3].array ?? [] {
            if let p = pair.array, p.count == 2, let name = p[0].string, let n = p[1].integer {
                consumers[name] = Int(n)
            }
        }
        return RedisPendingSummary(
            count: try reply[0].requireInteger("XPENDING"),
            smallestID: reply[1].string,
            largestID: reply[2].string,
            consumers: consumers
        )
    }

    /// `XPENDING stream group [IDLE ms] start end count [consumer]`: the pending entries
    /// themselves, with their consumer, idle time and delivery count.
    public func xpending(
        stream: String,
        group: String,
        start: String = "-",
        end: String = "+",
        count: Int,
        consumer: String? = nil,
        minIdle: Duration? = nil
    ) async throws -> [RedisPendingEntry] {
        var args = ["XPENDING", stream, group]
        if let minIdle { args += ["IDLE", String(max(0, Int(minIdle / .milliseconds(1))))] }
        args += [start, end, String(count)]
        if let consumer { args.append(consumer) }
        let reply = try await send(args).requireArray("XPENDING")
        return try reply.map { row in
            guard let r = row.array, r.count == 4, let id = r[0].string, let consumer = r[1].string,
                  let idle = r[2].integer, let deliveries = r[3].integer
            else { throw row.unexpected("XPENDING", expected: "[id, consumer, idle, deliveries]") }
            return RedisPendingEntry(id: id, consumer: consumer, idle: .milliseconds(idle), deliveryCount: Int(deliveries))
        }
    }

    /// `XRANGE stream start end [COUNT n]` (oldest first).
    public func xrange(_ stream: String, start: String = "-", end: String = "+", count: Int? = nil) async throws -> [RedisStreamEntry] {
        var args = ["XRANGE", stream, start, end]
        if let count { args += ["COUNT", String(count)] }
        return try Self.parseEntries(try await send(args), stream: stream, command: "XRANGE")
    }

    /// `XREVRANGE stream end start [COUNT n]` (newest first).
    public func xrevrange(_ stream: String, end: String = "+", start: String = "-", count: Int? = nil) async throws -> [RedisStreamEntry] {
        var args = ["XREVRANGE", stream, end, start]
        if let count { args += ["COUNT", String(count)] }
        return try Self.parseEntries(try await send(args), stream: stream, command: "XREVRANGE")
    }

    /// `XLEN stream`.
    public func xlen(_ stream: String) async throws -> Int {
        try await send(["XLEN", stream]).requireInteger("XLEN")
    }

    // MARK: - Reply parsing

    /// `[[stream, [entry...]]...]` or nil (XREAD / XREADGROUP).
    static func parseStreamsReply(_ reply: RedisValue, command: String) throws -> [RedisStreamEntry] {
        if reply.isNull { return [] }
        let streams = try reply.requireArray(command)
        var entries: [RedisStreamEntry] = []
        for item in streams {
            guard let pair = item.array, pair.count == 2, let name = pair[0].string else {
                throw item.unexpected(command, expected: "[stream, entries]")
            }
            entries += try parseEntries(pair[1], stream: name, command: command)
        }
        return entries
    }

    /// `[[id, [field, value, ...] or nil]...]`.
    static func parseEntries(_ reply: RedisValue, stream: String, command: String) throws -> [RedisStreamEntry] {
        if reply.isNull { return [] }
        return try reply.requireArray(command).map { item in
            guard let parts = item.array, parts.count == 2, let id = parts[0].string else {
                throw item.unexpected(command, expected: "[id, fields]")
            }
            guard let flat = parts[1].array else {
                // A pending entry whose data was deleted.
                return RedisStreamEntry(stream: stream, id: id, fields: nil)
            }
            var fields: [(name: String, value: String)] = []
            fields.reserveCapacity(flat.count / 2)
            var index = 0
            while index + 1 < flat.count {
                fields.append((flat[index].string ?? "", flat[index + 1].string ?? ""))
                index += 2
            }
            return RedisStreamEntry(stream: stream, id: id, fields: fields)
        }
    }
}
