/// One entry of `GET /events`.
public struct DockerEvent: Decodable, Sendable, Hashable {
    /// `container`, `image`, `network`, `volume`, `daemon`, ...
    public var type: String
    /// e.g. `die`, `oom`, `kill`, `stop`, `start`, `restart`, or `health_status: unhealthy`
    /// (health events carry the status in the action; see ``healthStatus``).
    public var action: String
    public var actor: Actor
    public var scope: String?
    /// Unix seconds.
    public var time: Int64
    /// Unix nanoseconds.
    public var timeNano: Int64

    public struct Actor: Decodable, Sendable, Hashable {
        /// The container (or image, network...) ID.
        public var id: String
        /// `name`, `image`, `exitCode` (die), `signal` (kill), plus the container's labels.
        public var attributes: [String: String]

        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }

        public init(id: String, attributes: [String: String]) {
            self.id = id
            self.attributes = attributes
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
            attributes = try c.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
        }
    }

    enum CodingKeys: String, CodingKey {
        case type = "Type", action = "Action", actor = "Actor", scope, time, timeNano
        case legacyStatus = "status", legacyID = "id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(String.self, forKey: .type) ?? "container"
        action = try c.decodeIfPresent(String.self, forKey: .action)
            ?? c.decodeIfPresent(String.self, forKey: .legacyStatus) ?? ""
        if let actor = try c.decodeIfPresent(Actor.self, forKey: .actor) {
            self.actor = actor
        } else {
            self.actor = Actor(id: try c.decodeIfPresent(String.self, forKey: .legacyID) ?? "", attributes: [:])
        }
        scope = try c.decodeIfPresent(String.self, forKey: .scope)
        time = try c.decodeIfPresent(Int64.self, forKey: .time) ?? 0
        timeNano = try c.decodeIfPresent(Int64.self, forKey: .timeNano) ?? time * 1_000_000_000
    }

    /// The action without its detail: `health_status` for `health_status: unhealthy`,
    /// `exec_start` for `exec_start: sh -c ...`.
    public var baseAction: String {
        action.split(separator: ":", maxSplits: 1).first.map { String($0).trimmingSpaces } ?? action
    }

    /// `healthy`, `unhealthy` or `starting` for a `health_status` event.
    public var healthStatus: String? {
        guard baseAction == "health_status", let colon = action.firstIndex(of: ":") else { return nil }
        return String(action[action.index(after: colon)...]).trimmingSpaces
    }

    /// The container name (attribute `name`).
    public var name: String? { actor.attributes["name"] }
    /// The image (attribute `image`).
    public var image: String? { actor.attributes["image"] }
    /// The exit code of a `die` event.
    public var exitCode: Int? { actor.attributes["exitCode"].flatMap { Int($0) } }
    /// The signal of a `kill` event.
    public var signal: String? { actor.attributes["signal"] }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
