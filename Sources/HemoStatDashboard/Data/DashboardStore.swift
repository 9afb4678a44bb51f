import Foundation
import HemoStatCore
import HemoStatModel
import HemoStatRedis
import HemoStatResponder
import Logging
import Metrics
import Synchronization

/// Reads what the agents keep in Redis and shapes it for the page. Every read is bounded:
/// containers by ``DashboardConfiguration/maxContainers``, streams by COUNT and a scan budget,
/// lists by LRANGE windows.
final class DashboardStore: Sendable {
    let redis: RedisClient
    let keys: KeySpace
    let configuration: DashboardConfiguration
    let logger: Logger
    private let remediationWindow: StreamWindow
    private let falseAlarmWindow: StreamWindow
    private let containerRead = Mutex<(at: ContinuousClock.Instant, task: Task<[ContainerRow], any Error>)?>(nil)
    private let statsCache = Mutex<[ContainerRef: (text: String, value: JSONValue?)]>([:])
    private let agentCache = Mutex<(at: ContinuousClock.Instant, agents: [AgentHeartbeat])?>(nil)
    /// Every `agent\0host` seen up since this dashboard started.
    private let seenAgents = Mutex<Set<String>>([])

    /// Entries one history or audit query may examine before it answers with a cursor.
    static let scanBudget = 10_000
    static let scanBatch = 500

    init(redis: RedisClient, configuration: DashboardConfiguration, logger: Logger) {
        self.redis = redis
        self.keys = KeySpace(prefix: configuration.keyPrefix)
        self.configuration = configuration
        self.logger = logger
        remediationWindow = StreamWindow(stream: keys.channel(.remediationComplete))
        falseAlarmWindow = StreamWindow(stream: keys.channel(.falseAlarm))
    }

    // MARK: - Agents and mode

    struct AgentHeartbeat: Sendable {
        var agent: String
        var host: String
        var document: JSONValue
        var dryRun: Bool? { document["dry_run"]?.boolValue }
    }

    /// Live heartbeats (`agents:<agent>:<host>`), read with a bounded SCAN and cached for a second.
    func agents() async throws -> [AgentHeartbeat] {
        if let cached = agentCache.withLock({ $0 }), ContinuousClock.now - cached.at < .seconds(1) {
            return cached.agents
        }
        var cursor = "0"
        var found: [String] = []
        var rounds = 0
        repeat {
            let reply = try await redis.send(["SCAN", cursor, "MATCH", keys.agentPattern, "COUNT", "1000"])
            guard let parts = reply.array, parts.count == 2 else { break }
            cursor = parts[0].string ?? "0"
            found += (parts[1].array ?? []).compactMap(\.string)
            rounds += 1
        } while cursor != "0" && rounds < 200 && found.count < 500
        var agents: [AgentHeartbeat] = []
        if !found.isEmpty {
            let values = try await redis.send(["MGET"] + found)
            for (key, value) in zip(found, values.array ?? []) {
                guard let text = value.string, let doc = (try? JSONValue.parse(text)) else { continue }
                let rest = key.dropFirst(keys.prefix.count + "agents:".count)
                let pieces = rest.split(separator: ":", maxSplits: 1).map(String.init)
                agents.append(AgentHeartbeat(agent: pieces.first ?? "?", host: pieces.count > 1 ? pieces[1] : "", document: doc))
            }
        }
        agents.sort { ($0.agent, $0.host) < ($1.agent, $1.host) }
        let result = agents
        agentCache.withLock { $0 = (ContinuousClock.now, result) }
        return result
    }

    /// Dry-run when a live responder says so.
    func isDryRun(_ agents: [AgentHeartbeat]) -> Bool {
        agents.contains { $0.agent == "responder" && $0.dryRun == true }
    }

    func gate(dryRun: Bool) -> SafetyGate {
        SafetyGate(redis: redis, policy: SafetyPolicy(), namespace: dryRun ? keys.dryRunGate : keys.gate)
    }

    // MARK: - Containers

    struct ContainerRow: Sendable {
        var container: ContainerRef
        var lastSeenMs: Int
        var stats: JSONValue?

        var name: String { container.name }
        var status: String { stats?["status"]?.stringValue ?? "unknown" }
        var health: String { stats?["health_status"]?.stringValue ?? "none" }
        var anomalies: [JSONValue] { stats?["anomalies"]?.arrayValue ?? [] }
        var excluded: Bool {
            stats?["excluded"]?.boolValue == true || stats?["labels"]?["hemostat.enable"]?.stringValue?.lowercased() == "false"
        }
        var protected: Bool { stats?["protected"]?.boolValue == true }
        /// Something is wrong with it now.
        var isUnhealthy: Bool {
            guard stats != nil else { return false }
            if health == "unhealthy" || stats?["oom_killed"]?.boolValue == true || !anomalies.isEmpty { return true }
            return !["running", "unknown"].contains(status)
        }
    }

    /// Every watched container (bounded), with its latest stats when they have not expired.
    /// Requests within half a second share one read: a page asks for the overview, the grid
    /// and the incidents on every tick, and each needs the same rows.
    func loadContainers() async throws -> [ContainerRow] {
        let now = ContinuousClock.now
        let task: Task<[ContainerRow], any Error> = containerRead.withLock { cached in
            if let cached, now - cached.at < .milliseconds(500) { return cached.task }
            let task = Task { try await self.readContainers() }
            cached = (now, task)
            return task
        }
        return try await task.value
    }

    private func readContainers() async throws -> [ContainerRow] {
        let reply = try await redis.send(["ZREVRANGE", keys.containers, "0", String(configuration.maxContainers - 1), "WITHSCORES"])
        let flat = reply.array ?? []
        var rows: [ContainerRow] = []
        var i = 0
        while i + 1 < flat.count {
            // Members are `host/name`; a bare name is from before containers had hosts.
            if let container = flat[i].string.flatMap(ContainerRef.init) {
                let score = flat[i + 1].string.flatMap(Double.init) ?? 0
                rows.append(ContainerRow(container: container, lastSeenMs: Int(score), stats: nil))
            }
            i += 2
        }
        var offset = 0
        while offset < rows.count {
            let chunk = rows[offset..<min(offset + 250, rows.count)]
            let values = try await redis.send(["MGET"] + chunk.map { keys.stats($0.container) })
            for (j, value) in (values.array ?? []).enumerated() {
                if let text = value.string { rows[offset + j].stats = parsedStats(rows[offset + j].container, text) }
            }
            offset += chunk.count
        }
        return rows
    }

    /// A container's stats document, parsed again only when its text changed since the last
    /// read (the monitor rewrites it once a poll; pages re-read it every tick).
    private func parsedStats(_ name: ContainerRef, _ text: String) -> JSONValue? {
        if let cached = statsCache.withLock({ $0[name] }), cached.text == text { return cached.value }
        let value = try? JSONValue.parse(text)
        statsCache.withLock { cache in
            if cache.count >= 2 * configuration.maxContainers { cache.removeAll() }
            cache[name] = (text, value)
        }
        return value
    }

    /// The grid: problems first, then by name and host; `query` filters by a substring of the
    /// name, `host` by the host. One row per container: same-named containers of different
    /// hosts are different rows.
    func containers(query: String?, host: String? = nil, limit: Int, offset: Int) async throws -> JSONValue {
        let agents = try await agents()
        let dryRun = isDryRun(agents)
        var rows = try await loadContainers()
        if let q = query?.lowercased(), !q.isEmpty {
            rows = rows.filter { $0.name.lowercased().contains(q) }
        }
        if let host, !host.isEmpty {
            rows = rows.filter { $0.container.host == host }
        }
        rows.sort { a, b in
            if a.isUnhealthy != b.isUnhealthy { return a.isUnhealthy }
            return (a.name, a.container.host) < (b.name, b.container.host)
        }
        let page = Array(rows.dropFirst(offset).prefix(limit))
        let statuses = try? await gate(dryRun: dryRun).statuses(containers: page.map(\.container))
        var waiting: [Waiting?] = []
        if let statuses {
            let reader = Waiting.Reader(redis: redis, keys: keys, maxActionsPerContainer: configuration.maxActionsPerContainer)
            var stats: [ContainerRef: JSONValue] = [:]
            for row in page { if let document = row.stats { stats[row.container] = document } }
            waiting = (try? await reader.waiting(statuses, stats: stats, rechecks: !dryRun, now: Date())) ?? []
        }
        let items = page.enumerated().map { index, row in
            containerItem(row, gate: statuses?[index], waiting: index < waiting.count ? waiting[index] : nil)
        }
        return .object([
            "total": .integer(rows.count),
            "offset": .integer(offset),
            "limit": .integer(limit),
            "dry_run": .bool(dryRun),
            "items": .array(items),
        ])
    }

    private func containerItem(_ row: ContainerRow, gate: ContainerGateStatus?, waiting: Waiting?) -> JSONValue {
        let s = row.stats
        let metrics = s?["metrics"]
        let history = (s?["history"]?.arrayValue ?? []).suffix(60)
        var labels: JSONValue = .object([:])
        if case .object(let o)? = s?["labels"] {
            // Bounded: a container can carry many labels; the grid shows a handful.
            labels = .object(Dictionary(uniqueKeysWithValues: o.sorted { $0.key < $1.key }.prefix(20).map { ($0.key, $0.value) }))
                .redactingSecrets()
        }
        var gateJSON: JSONValue = .null
        if let g = gate {
            gateJSON = .object([
                "cooldown_remaining_seconds": .integer(g.cooldownRemainingSeconds),
                "actions_this_window": .integer(g.actionsThisWindow),
                "breaker_state": .string(g.breakerState.rawValue),
                "breaker_failures": .integer(g.breakerFailures),
                "held_until": .from(g.heldUntil.map(Timestamp.format)),
                "held_by": .from(g.heldBy),
                "last_action": .from(g.lastAction),
                "last_result": .from(g.lastResult),
                "last_action_at": .from(g.lastActionAt.map(Timestamp.format)),
                "in_flight": .bool(g.inFlight),
            ])
        }
        return .object([
            "name": .string(row.name),
            "id": .from(s?["container_id"]?.stringValue.map { String($0.prefix(12)) }),
            "image": .from(s?["image"]?.stringValue),
            "host": .string(row.container.host),
            "status": .string(row.status),
            "health": .string(row.health),
            "exit_code": .from(s?["exit_code"]?.intValue),
            "oom_killed": .from(s?["oom_killed"]?.boolValue),
            "restart_count": .from(s?["restart_count"]?.intValue),
            "cpu_percent": .from(metrics?["cpu_percent"]?.doubleValue),
            "memory_percent": .from(metrics?["memory_percent"]?.doubleValue),
            "memory_usage": .from(metrics?["memory_usage"]?.doubleValue),
            "memory_limit": .from(metrics?["memory_limit"]?.doubleValue),
            "updated_at": .from(s?["updated_at"]?.stringValue),
            "last_seen": .integer(row.lastSeenMs),
            "stale": .bool(s == nil),
            "excluded": .bool(row.excluded),
            "protected": .bool(row.protected),
            "unhealthy": .bool(row.isUnhealthy),
            "labels": labels,
            "anomalies": .array(row.anomalies.prefix(10).map { $0.redactingSecrets() }),
            "cpu_history": .array(history.map { .from($0["cpu_percent"]?.doubleValue) }),
            "memory_history": .array(history.map { .from($0["memory_percent"]?.doubleValue) }),
            "gate": gateJSON,
            "waiting": .from(waiting?.waitingFor),
        ])
    }

    // MARK: - Gauges

    /// Sets the installation-wide gauges of `/metrics` from Redis: agents up, open breakers,
    /// dead letters, the LLM budget left. Called at each scrape.
    func updateGauges() async {
        do {
            let agents = try await agents()
            let up = Set(agents.map { "\($0.agent)\u{0}\($0.host)" })
            let known = seenAgents.withLock { seen in
                seen.formUnion(up)
                return seen
            }
            for key in known {
                let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
                Gauge(label: MetricNames.agentUp, dimensions: [("agent", parts[0]), ("host", parts.count > 1 ? parts[1] : "")])
                    .record(up.contains(key) ? 1 : 0)
            }
            let rows = try await loadContainers()
            let statuses = (try? await gate(dryRun: isDryRun(agents)).statuses(containers: rows.map(\.container))) ?? []
            Gauge(label: MetricNames.breakersOpen).record(statuses.filter { $0.breakerState == .open }.count)
            let letters = try await redis.send(["XLEN", keys.channel(.deadLetter)]).integer ?? 0
            Gauge(label: MetricNames.deadLetterEntries).record(letters)
            if let budget = configuration.llmHourlyBudget {
                let used = try await redis.send(["GET", keys.llmBudget(at: Date())]).string.flatMap { Int($0) } ?? 0
                Gauge(label: MetricNames.llmBudgetLeft).record(max(0, budget - used))
            }
        } catch {
            logger.warning("gauges not updated", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Overview

    func overview() async throws -> JSONValue {
        let agents = try await agents()
        let dryRun = isDryRun(agents)
        let rows = try await loadContainers()
        let statuses = (try? await gate(dryRun: dryRun).statuses(containers: rows.map(\.container))) ?? []
        let breakersOpen = statuses.filter { $0.breakerState == .open }.count
        let breakersHalfOpen = statuses.filter { $0.breakerState == .halfOpen }.count
        let nowMs = Int(Date().timeIntervalSince1970 * 1000)
        let since = nowMs - 86_400_000
        let remediations = try await remediationWindow.refresh(redis: redis, since: since)
        var byStatus: [String: Int] = [:]
        for entry in remediations { byStatus[entry.status, default: 0] += 1 }
        let attempted = (byStatus["success"] ?? 0) + (byStatus["failed"] ?? 0) + (byStatus["ineffective"] ?? 0)
        let falseAlarms = try await falseAlarmWindow.refresh(redis: redis, since: since).count

        // LLM calls: one counter per UTC hour.
        let now = Date()
        let hours = (0..<24).map { now.addingTimeInterval(Double(-3600 * $0)) }
        let counts = try await redis.send(["MGET"] + hours.map { keys.llmBudget(at: $0) }).array ?? []
        let perHour = counts.map { Int($0.integer ?? 0) }
        let callsThisHour = perHour.first ?? 0
        let calls24h = perHour.reduce(0, +)
        let budgetLeft: JSONValue = configuration.llmHourlyBudget.map { .integer(max(0, $0 - callsThisHour)) } ?? .null

        let responders = agents.filter { $0.agent == "responder" }
        return .object([
            "generated_at": .string(Timestamp.format(now)),
            "dry_run": .bool(dryRun),
            "responder_running": .bool(!responders.isEmpty),
            "containers_watched": .integer(rows.filter { !$0.excluded }.count),
            "containers_total": .integer(rows.count),
            "containers_excluded": .integer(rows.filter(\.excluded).count),
            "unhealthy_now": .integer(rows.filter { $0.isUnhealthy && !$0.excluded }.count),
            "remediations_24h": .integer(remediations.count),
            "remediations_by_status_24h": .object(byStatus.mapValues { .integer($0) }),
            "remediations_attempted_24h": .integer(attempted),
            "success_rate_24h": attempted > 0 ? .number(Double(byStatus["success"] ?? 0) / Double(attempted)) : .null,
            "false_alarms_24h": .integer(falseAlarms),
            "breakers_open": .integer(breakersOpen),
            "breakers_half_open": .integer(breakersHalfOpen),
            "llm_calls_this_hour": .integer(callsThisHour),
            "llm_calls_24h": .integer(calls24h),
            "llm_hourly_budget": .from(configuration.llmHourlyBudget),
            "llm_budget_left": budgetLeft,
            "agents": .array(agents.map { a in
                .object([
                    "agent": .string(a.agent),
                    "host": .string(a.host),
                    "version": .from(a.document["version"]?.stringValue),
                    "started_at": .from(a.document["started_at"]?.stringValue),
                    "dry_run": .from(a.dryRun),
                ])
            }),
        ])
    }

    // MARK: - Incidents

    /// What is wrong now: incidents (by `incident_id`) from the last six hours of the channel
    /// streams whose latest stage is not a resolution, plus unhealthy containers that have none.
    func incidents() async throws -> JSONValue {
        let nowMs = Int(Date().timeIntervalSince1970 * 1000)
        let start = String(nowMs - 6 * 3_600_000)
        var envelopes: [MessageView] = []
        for channel in KeySpace.incidentChannels {
            let entries = try await redis.xrevrange(keys.channel(channel), end: "+", start: start, count: 300)
            for entry in entries {
                if let text = entry[field: "message"], let env = MessageView(text, streamID: entry.id) { envelopes.append(env) }
            }
        }
        var groups: [String: [MessageView]] = [:]
        for env in envelopes {
            let key = env.incidentID ?? env.id ?? env.streamID ?? UUID().uuidString
            groups[key, default: []].append(env)
        }
        let rows = try await loadContainers()
        let rowsByName = Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // Per container, only its latest incident counts: a newer one supersedes the older.
        var latestPerContainer: [String: (id: String, events: [MessageView])] = [:]
        var orphans: [(id: String, events: [MessageView])] = []
        for (incidentID, events) in groups {
            let sorted = events.sorted { $0.milliseconds < $1.milliseconds }
            guard let container = sorted.first(where: { $0.container != nil })?.container else {
                orphans.append((incidentID, sorted))
                continue
            }
            if let current = latestPerContainer[container], (current.events.last?.milliseconds ?? 0) >= (sorted.last?.milliseconds ?? 0) {
                continue
            }
            latestPerContainer[container] = (incidentID, sorted)
        }
        var active: [(Int, JSONValue)] = []
        var incidentContainers = Set<String>()
        for (incidentID, sorted) in Array(latestPerContainer.values) + orphans {
            guard let latest = sorted.last else { continue }
            let state = Self.incidentState(latest)
            guard state.active else { continue }
            let container = sorted.first { $0.container != nil }?.container
            // After an action, the incident stays open while the container is still unhealthy
            // (or, without fresh stats, for half an hour).
            if ["failed", "ineffective", "rejected", "escalated", "dry-run"].contains(state.state) {
                if let name = container, let row = rowsByName[name], row.stats != nil {
                    if !row.isUnhealthy { continue }
                } else if nowMs - latest.milliseconds > 1_800_000 {
                    continue
                }
            }
            if let container { incidentContainers.insert(container) }
            let alert = sorted.last { $0.eventType == "health_alert" }
            let decision = sorted.last { $0.eventType == "remediation_needed" }
            let outcome = sorted.last { $0.eventType == "remediation_complete" }
            active.append((latest.milliseconds, .object([
                "incident_id": .string(incidentID),
                "container": .from(container),
                "state": .string(state.state),
                "doing": .string(state.doing),
                "problem": .from(alert?.summary),
                "action": .from(decision?.action ?? outcome?.action),
                "rule": .from(decision?.rule ?? outcome?.rule),
                "reason": .from(decision?.reason ?? outcome?.reason),
                "analysis_method": .from(decision?.analysisMethod ?? outcome?.analysisMethod),
                "dry_run": .bool(sorted.contains { $0.dryRun }),
                "started_at": .integer(sorted.first?.milliseconds ?? 0),
                "updated_at": .integer(latest.milliseconds),
                "events": .array(sorted.suffix(20).map(\.listItem)),
            ])))
        }
        active.sort { $0.0 > $1.0 }
        // Unhealthy now, and no incident yet.
        var detected: [JSONValue] = []
        for row in rows where row.isUnhealthy && !row.excluded && !incidentContainers.contains(row.name) {
            let problem = MessageView(raw: .object(["event_type": "health_alert", "data": row.stats ?? .object([:])])).summary
            detected.append(.object([
                "incident_id": .null,
                "container": .string(row.name),
                "state": "unhealthy",
                "doing": .string(row.excluded ? "excluded: HemoStat will not act" : "watching: no alert raised yet"),
                "problem": .string(problem),
                "updated_at": .integer(row.lastSeenMs),
                "events": .array([]),
            ]))
            if detected.count >= 100 { break }
        }
        return .object(["items": .array(active.prefix(200).map(\.1) + detected)])
    }

    static func incidentState(_ latest: MessageView) -> (active: Bool, state: String, doing: String) {
        switch latest.eventType {
        case "health_alert":
            return (true, "detected", "analyzing the alert")
        case "remediation_needed":
            return (true, "remediating", "\(latest.dryRun ? "dry-run: would " : "")\(latest.action ?? "act") (\(latest.analysisMethod ?? "rules"))")
        case "remediation_complete":
            let status = latest.status ?? "?"
            switch status {
            case "skipped" where latest.dryRun:
                // Nothing was done: the problem is still there, and so is the incident.
                var would = latest.result?["reason"]?.stringValue ?? "would \(latest.action ?? "act")"
                if would.lowercased().hasPrefix("dry run: ") { would = String(would.dropFirst("dry run: ".count)) }
                return (true, "dry-run", "\(would); dry-run, so nothing was changed")
            case "success", "skipped":
                return (false, status, "")
            case "rejected":
                let retry = latest.result?["retry_after_seconds"]?.intValue
                return (true, "rejected", "gate refused: \(latest.result?["reason"]?.stringValue ?? "?")" + (retry.map { ", retry in \($0) s" } ?? ""))
            default:
                return (true, status, "\(latest.action ?? "action") \(status): waiting for the next alert or a human")
            }
        case "escalation":
            return (true, "escalated", "escalated to a human" + (latest.reason.map { ": \($0)" } ?? ""))
        default:
            return (false, latest.eventType, "")
        }
    }

    // MARK: - History

    struct HistoryFilter: Sendable {
        var container: String?
        var status: String?
        var sinceMs: Int?
        var untilMs: Int?
        /// Exclusive: continue below this stream id.
        var cursor: String?
        var limit: Int = 50
    }

    /// Remediation outcomes, newest first, from the `remediation_complete` stream. Time bounds
    /// become stream-id bounds; the other filters examine at most ``scanBudget`` entries and
    /// answer with `next_cursor` to continue.
    func history(_ filter: HistoryFilter) async throws -> JSONValue {
        let stream = keys.channel(.remediationComplete)
        var end = filter.untilMs.map(String.init) ?? "+"
        if let cursor = filter.cursor { end = "(" + cursor }
        let start = filter.sinceMs.map(String.init) ?? "-"
        var items: [JSONValue] = []
        var scanned = 0
        var lastID: String?
        var exhausted = false
        scan: while scanned < Self.scanBudget {
            let batch = try await redis.xrevrange(stream, end: end, start: start, count: Self.scanBatch)
            for (index, entry) in batch.enumerated() {
                scanned += 1
                lastID = entry.id
                guard let text = entry[field: "message"] else { continue }
                // Cheap test on the raw text before parsing.
                if let c = filter.container, !text.contains(c) { continue }
                if let s = filter.status, !text.contains(s) { continue }
                guard let env = MessageView(text, streamID: entry.id) else { continue }
                if let c = filter.container, env.container != c { continue }
                if let s = filter.status, env.status != s { continue }
                items.append(historyItem(env))
                if items.count >= filter.limit {
                    exhausted = batch.count < Self.scanBatch && index == batch.count - 1
                    break scan
                }
            }
            guard batch.count == Self.scanBatch, let lastID else {
                exhausted = true
                break
            }
            end = "(" + lastID
        }
        return .object([
            "items": .array(items),
            "next_cursor": exhausted ? .null : .from(lastID),
            "scanned": .integer(scanned),
        ])
    }

    private func historyItem(_ env: MessageView) -> JSONValue {
        let d = env.data
        return .object([
            "stream_id": .from(env.streamID),
            "id": .from(env.id),
            "at": .integer(env.milliseconds),
            "timestamp": .from(env.timestamp),
            "container": .from(env.container),
            "action": .from(env.action),
            "status": .from(env.status),
            "reason": .from(env.result?["reason"]?.stringValue ?? env.reason),
            "request_reason": .from(d["request"]?["reason"]?.stringValue ?? d["reason"]?.stringValue),
            "rule": .from(env.rule),
            "confidence": .from(d["confidence"]?.doubleValue ?? d["request"]?["confidence"]?.doubleValue),
            "analysis_method": .from(env.analysisMethod),
            "dry_run": .bool(env.dryRun),
            "retry_after_seconds": .from(env.result?["retry_after_seconds"]?.intValue),
            "incident_id": .from(env.incidentID),
            "request_id": .from(d["request_id"]?.stringValue),
            "host": .from(env.host),
        ])
    }

    // MARK: - Audit

    /// Audit records whose incident or request id matches, newest first (at most 50, scanning
    /// at most ``scanBudget`` records).
    func audit(id: String) async throws -> JSONValue {
        var end = "+"
        var scanned = 0
        var records: [JSONValue] = []
        while scanned < Self.scanBudget && records.count < 50 {
            let batch = try await redis.xrevrange(keys.audit, end: end, start: "-", count: Self.scanBatch)
            for entry in batch {
                scanned += 1
                guard let text = entry[field: "record"] ?? entry[field: "message"], text.contains(id),
                      let record = (try? JSONValue.parse(text)), Self.mentions(record, id: id, depth: 0)
                else { continue }
                records.append(.object([
                    "stream_id": .string(entry.id),
                    "at": .from(StreamID.milliseconds(entry.id)),
                    "record": record.redactingSecrets(),
                ]))
            }
            guard batch.count == Self.scanBatch, let last = batch.last else { break }
            end = "(" + last.id
        }
        return .object(["id": .string(id), "items": .array(records), "scanned": .integer(scanned)])
    }

    static let idKeys: Set<String> = ["incident_id", "request_id", "id", "message_id"]

    static func mentions(_ value: JSONValue, id: String, depth: Int) -> Bool {
        guard depth < 4, case .object(let o) = value else { return false }
        for (k, v) in o {
            if idKeys.contains(k), v.stringValue == id { return true }
            if case .object = v, mentions(v, id: id, depth: depth + 1) { return true }
        }
        return false
    }

    // MARK: - Timeline, rules, dead letters

    func timeline(limit: Int, offset: Int, type: String?) async throws -> JSONValue {
        let key = type.map { keys.events($0) } ?? keys.allEvents
        let replies = try await redis.pipeline([
            ["LRANGE", key, String(offset), String(offset + limit - 1)],
            ["LLEN", key],
        ])
        let items = (replies[0].array ?? []).compactMap { $0.string.flatMap { MessageView($0) }?.listItem }
        return .object([
            "items": .array(items),
            "total": .integer(Int(replies[1].integer ?? 0)),
            "offset": .integer(offset),
            "limit": .integer(limit),
        ])
    }

    func rules() async throws -> JSONValue {
        guard let text = try await redis.send(["GET", keys.rulesStatus]).string, let doc = (try? JSONValue.parse(text)) else {
            return .object(["available": false])
        }
        return .object(["available": true, "status": doc.redactingSecrets()])
    }

    func deadLetters(limit: Int, cursor: String?) async throws -> JSONValue {
        let entries = try await redis.xrevrange(keys.channel(.deadLetter), end: cursor.map { "(" + $0 } ?? "+", start: "-", count: limit)
        let items: [JSONValue] = entries.map { e in
            let message = e[field: "message"] ?? ""
            return .object([
                "stream_id": .string(e.id),
                "at": .from(StreamID.milliseconds(e.id)),
                "channel": .from(e[field: "channel"]),
                "source_stream_id": .from(e[field: "stream_id"]),
                "group": .from(e[field: "group"]),
                "reason": .from(e[field: "reason"]),
                "message": .string(String(message.prefix(4000))),
            ])
        }
        return .object([
            "items": .array(items),
            "next_cursor": entries.count == limit ? .from(entries.last?.id) : .null,
        ])
    }
}

/// An in-memory copy of the last 24 hours of one stream's outcomes, refreshed incrementally
/// (only entries newer than the last one read), so the overview never re-reads thousands.
final class StreamWindow: Sendable {
    struct Entry: Sendable {
        var ms: Int
        var status: String
    }

    let stream: String
    private let state = Mutex<(lastID: String?, entries: [Entry])>((nil, []))

    init(stream: String) { self.stream = stream }

    func refresh(redis: RedisClient, since: Int) async throws -> [Entry] {
        let lastID = state.withLock { $0.lastID }
        var fresh: [Entry] = []
        var newLast = lastID
        if let lastID {
            var start = "(" + lastID
            for _ in 0..<20 {
                let batch = try await redis.xrange(stream, start: start, end: "+", count: 1000)
                fresh += batch.map(Self.entry)
                guard let last = batch.last else { break }
                newLast = last.id
                start = "(" + last.id
                if batch.count < 1000 { break }
            }
        } else {
            let batch = try await redis.xrevrange(stream, end: "+", start: String(since), count: DashboardStore.scanBudget)
            fresh = batch.reversed().map(Self.entry)
            newLast = batch.first?.id ?? "0-0"
        }
        return state.withLock { s in
            // A concurrent refresh may have moved on; keep the furthest position.
            if s.lastID == lastID {
                s.entries += fresh
                s.lastID = newLast
            }
            s.entries.removeAll { $0.ms < since }
            return s.entries
        }
    }

    private static func entry(_ e: RedisStreamEntry) -> Entry {
        let env = e[field: "message"].flatMap { MessageView($0, streamID: e.id) }
        return Entry(ms: StreamID.milliseconds(e.id) ?? 0, status: env?.status ?? "unknown")
    }
}
