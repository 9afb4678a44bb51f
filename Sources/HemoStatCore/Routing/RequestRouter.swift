import Foundation
import HemoStatModel
import HemoStatRedis
import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// Hands each remediation request to the responders of its container's host.
///
/// `hemostat:remediation_needed` is the contract's way in: the analyzer publishes there, and so
/// may any script (`XADD hemostat:remediation_needed '*' message '{…}'`). The router reads it
/// through the consumer group `responder` (the group that stream always had, so requests left
/// pending by an older version are routed too) and appends each request, with `data.host` set,
/// to `hemostat:remediation_needed:<host>`, which only that host's responders read (group
/// `responder`). Every responder and every analyzer runs one; the group shares the work.
///
/// A request that names no host gets the first of: the host that reported its incident, its
/// envelope's `host` when that is a known host, the one host with a container of that name,
/// the only known host. Otherwise it goes to the dead-letter stream saying why; while no host
/// is known at all it stays pending and is routed again later.
///
/// Every `checkInterval` it also looks at each known host without a live responder: a request
/// waiting there longer than `responder.no_responder_after` is escalated once ("no responder
/// for host X"); it stays queued and is carried out when a responder of the host is back.
public struct RequestRouter: Service {
    public static let group = "responder"

    public let context: AgentContext
    /// Who runs it (`responder`, `analyzer`): part of its consumer name.
    public let role: String
    public let checkInterval: Duration
    private let logger: Logger
    private let preparedStreams = PreparedStreams()

    public init(context: AgentContext, role: String, checkInterval: Duration = .seconds(10)) {
        self.context = context
        self.role = role
        self.checkInterval = checkInterval
        var logger = context.logger
        logger[metadataKey: "agent"] = .string("router")
        self.logger = logger
    }

    public func run() async throws {
        let consumer = BusConsumer(
            channel: context.keys.channel(.remediationNeeded), group: Self.group,
            consumer: "\(context.consumerName(agent: role)):router", bus: context.bus,
            reader: context.makeReader(agent: "\(role)-router"), logger: logger
        ) { delivery in
            try await self.route(delivery)
        }
        await withDiscardingTaskGroup { group in
            group.addTask {
                do { try await consumer.run() } catch { self.logger.error("router stopped", metadata: ["error": "\(error)"]) }
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.checkInterval) }
                    if Task.isCancelled || Task.isShuttingDownGracefully { break }
                    await self.escalateUnserved()
                }
            }
        }
    }

    // MARK: Routing

    /// Forwards one request to its host's stream, or dead-letters it when the host cannot be
    /// known. Throws when Redis fails (the entry stays pending and is retried).
    func route(_ delivery: BusDelivery) async throws -> BusDisposition {
        guard let text = delivery.message else { return .deadLetter(reason: "entry has no `message` field") }
        guard case .object(var root)? = try? JSONValue.parse(text) else {
            return .deadLetter(reason: "message: not a JSON object")
        }
        guard case .object(var data)? = root["data"] else { return .deadLetter(reason: "data: missing or not an object") }
        guard let name = data["container"]?.stringValue, !name.isEmpty else { return .deadLetter(reason: "data.container: missing") }
        let host: String
        switch try await resolveHost(
            named: data["host"]?.stringValue, incident: data["incident_id"]?.stringValue,
            envelopeHost: root["host"]?.stringValue, container: name)
        {
        case .success(let found): host = found
        case .failure(let problem):
            Counter(label: MetricNames.deadLetters, dimensions: [("channel", Channel.remediationNeeded.eventType)]).increment()
            return .deadLetter(reason: problem.message)
        }
        data["host"] = .string(host)
        root["data"] = .object(data)
        let stream = context.keys.remediationRequests(host: host)
        if !preparedStreams.contains(stream) {
            // From the start of the stream: requests routed before the host's first responder
            // started are still read by it.
            try await context.redis.xgroupCreate(stream: stream, group: Self.group, startID: "0", mkstream: true)
            preparedStreams.insert(stream)
        }
        try await context.redis.xadd(
            stream, fields: [(MessageBus.messageField, JSONValue.object(root).jsonText)],
            maxLength: context.bus.configuration.streamMaxLength)
        return .ack
    }

    struct Unroutable: Error {
        var message: String
    }

    /// The host a request is for (see the type's summary for the order).
    func resolveHost(named: String?, incident: String?, envelopeHost: String?, container name: String) async throws -> Result<String, Unroutable> {
        if let named, !named.isEmpty {
            return ContainerRef.isValidHostID(named) ? .success(named) : .failure(Unroutable(message: "data.host: \(MessageDecodingError.quote(named)) is not a host id"))
        }
        if let incident, !incident.isEmpty, let host = try await context.redis.send(["GET", context.keys.incidentHost(incident)]).string {
            return .success(host)
        }
        let known = try await knownHosts()
        if let envelopeHost, known.contains(envelopeHost) { return .success(envelopeHost) }
        let listed = try await context.redis.send(["ZRANGE", context.keys.containers, "0", "-1"]).array ?? []
        let hostsWithName = Set(listed.compactMap { $0.string.flatMap(ContainerRef.init) }.filter { $0.name == name }.map(\.host))
        if hostsWithName.count == 1, let host = hostsWithName.first { return .success(host) }
        if hostsWithName.count > 1 {
            return .failure(Unroutable(message: "data.host: missing, and \(name) runs on several hosts (\(hostsWithName.sorted().joined(separator: ", "))): name one"))
        }
        if known.count == 1, let host = known.first { return .success(host) }
        if known.isEmpty {
            // No host has announced itself yet (or Redis lost its data): left pending, the
            // request is routed again once the responders have announced their hosts.
            throw Unroutable(message: "no host is known yet to route a request for \(name) that names none")
        }
        return .failure(Unroutable(message: "data.host: missing, and none of the known hosts (\(known.sorted().joined(separator: ", "))) is known to run \(name): name its host in data.host"))
    }

    /// The hosts whose monitor or responder announced itself within the last day. When none
    /// has, a responder's router announces its own host.
    func knownHosts() async throws -> Set<String> {
        let since = context.clock.nowMilliseconds - 86_400_000
        let reply = try await context.redis.send(["ZRANGEBYSCORE", context.keys.hosts, String(since), "+inf"])
        let hosts = Set(reply.array?.compactMap(\.string) ?? [])
        if hosts.isEmpty, role == "responder" {
            // Redis lost its data, or this is the first responder: its own host is known.
            _ = try await context.redis.send(["ZADD", context.keys.hosts, String(context.clock.nowMilliseconds), context.hostID])
            return [context.hostID]
        }
        return hosts
    }

    // MARK: Hosts without a responder

    /// Escalates, once each, the requests that have waited longer than
    /// `responder.no_responder_after` on a host with no live responder.
    func escalateUnserved() async {
        do {
            for host in try await knownHosts().sorted() {
                guard try await context.redis.send(["EXISTS", context.keys.agent("responder", host: host)]).integer == 0 else { continue }
                try await escalateWaiting(on: host)
            }
        } catch {
            logger.warning("could not look for requests waiting for a responder", metadata: ["error": "\(error)"])
        }
    }

    private func escalateWaiting(on host: String) async throws {
        let stream = context.keys.remediationRequests(host: host)
        let bound = context.configuration.responder.noResponderAfter
        let cutoff = context.clock.nowMilliseconds - bound.milliseconds
        // Not yet read by any responder of the host, and read by one that is gone since.
        let after = "(" + (try await lastDelivered(stream))
        var waiting = try await context.redis.xrange(stream, start: after, end: String(cutoff), count: 100)
        let held = (try? await context.redis.xpending(stream: stream, group: Self.group, end: String(cutoff), count: 100)) ?? []
        for entry in held {
            waiting += try await context.redis.xrange(stream, start: entry.id, end: entry.id)
        }
        for entry in waiting {
            guard let text = entry[field: MessageBus.messageField],
                  let request = try? Envelope<RemediationNeeded>.decode(text),
                  try await context.redis.send(["SET", context.keys.noResponderEscalated(host: host, entry: entry.id), "1", "NX", "EX", "86400"]).string == "OK"
            else { continue }
            let escalation = Escalation(
                container: request.data.container, containerID: request.data.containerID, severity: .critical,
                reason: "no responder for host \(host): this \(request.data.action.rawValue) request has waited over \(Int(bound.timeInterval)) s; it stays queued and is carried out when a responder of \(host) is back",
                action: request.data.action, rule: request.data.rule, incidentID: request.data.incidentID, host: host)
            try await context.publish(escalation, agent: "router", host: host)
            logger.warning("no responder for a host", metadata: [
                "host.id": "\(host)", "container.name": "\(request.data.container)", "incident.id": "\(request.data.incidentID)",
            ])
        }
    }

    /// The id of the last entry the host's responders were handed, `0-0` when none.
    private func lastDelivered(_ stream: String) async throws -> String {
        guard case .array(let groups)? = try? await context.redis.send(["XINFO", "GROUPS", stream]) else { return "0-0" }
        for group in groups {
            guard case .array(let fields) = group else { continue }
            var values: [String: RedisValue] = [:]
            var i = 0
            while i + 1 < fields.count {
                if let key = fields[i].string { values[key] = fields[i + 1] }
                i += 2
            }
            if values["name"]?.string == Self.group { return values["last-delivered-id"]?.string ?? "0-0" }
        }
        return "0-0"
    }
}

/// The host streams whose consumer group this process has made sure of.
private final class PreparedStreams: Sendable {
    private let streams = Mutex(Set<String>())
    func contains(_ stream: String) -> Bool { streams.withLock { $0.contains(stream) } }
    func insert(_ stream: String) { _ = streams.withLock { $0.insert(stream) } }
}
