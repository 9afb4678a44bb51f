public import Foundation

/// The `data` of one kind of message: knows its channel and how to read and write itself.
///
/// Payloads are `Codable` and read through ``JSONValueDecoder``: `init(from:)` validates every
/// field and throws a `MessageDecodingError` naming the first bad field's path
/// (`data.metrics.cpu_percent`); fields it does not know are ignored. Read inside an envelope,
/// a payload finds the envelope's fields in `decoder.envelope`, for what a producer may leave
/// out (an alert without `incident_id` starts an incident named after its message id).
public protocol MessagePayload: Sendable, Hashable, Codable {
    /// The channel messages of this kind travel on.
    static var channel: Channel { get }
    /// `event_type` values accepted when reading besides `channel.eventType`, for messages from
    /// producers that name the event differently (the original HemoStat).
    static var alternativeEventTypes: Set<String> { get }
    /// The incident this message belongs to; one incident keeps one id from alert to completion.
    var incidentID: String { get }
}

extension MessagePayload {
    public static var alternativeEventTypes: Set<String> { [] }

    /// The payload as the contract's JSON object (snake_case field names, optional fields left
    /// out when nil).
    public var json: JSONValue { JSONValueEncoder().encode(self) }
}

/// The fields of the envelope a payload is read from.
public struct EnvelopeFields: Sendable, Hashable {
    /// The message id.
    public var id: String
    public var timestamp: Date
    public var host: String

    static let userInfoKey = CodingUserInfoKey(rawValue: "hemostat.envelope")!
}

extension Decoder {
    /// The envelope of the payload being read; nil when a payload is read on its own.
    package var envelope: EnvelopeFields? { userInfo[EnvelopeFields.userInfoKey] as? EnvelopeFields }
}

/// One message: `{"event_type", "timestamp", "agent", "host", "id", "data"}`.
///
/// ```swift
/// let alert = Envelope(agent: "monitor", host: "web-01", data: HealthAlert(...))
/// try bus.publish(alert.encode(), on: alert.channel)
/// let received = try Envelope<HealthAlert>.decode(bytes)
/// ```
///
/// Decoding is strict: every required field must be present with its JSON type, enum values
/// must be known, and the first problem is thrown as a `MessageDecodingError` whose reason names
/// the field path. Unknown extra fields are ignored.
public struct Envelope<Payload: MessagePayload>: Sendable, Hashable {
    /// What happened; by default the channel's name without prefix (`health_alert`).
    public var eventType: String
    /// When the message was made; kept to microsecond precision.
    public var timestamp: Date {
        didSet { timestamp = Timestamp.normalized(timestamp) }
    }
    /// The producing agent: `monitor`, `analyzer`, `responder`, `alert`, or another tool's name.
    public var agent: String
    /// The Docker host the message concerns (the monitor's configured host id).
    public var host: String
    /// Unique per message (a UUID); consumers use it to process each message once.
    public var id: String
    /// The typed payload.
    public var data: Payload

    /// Makes a message with a fresh id and the current time unless given.
    public init(
        agent: String,
        host: String,
        data: Payload,
        id: String = UUID().uuidString.lowercased(),
        timestamp: Date = Date(),
        eventType: String = Payload.channel.eventType
    ) {
        self.eventType = eventType
        self.timestamp = Timestamp.normalized(timestamp)
        self.agent = agent
        self.host = host
        self.id = id
        self.data = data
    }

    /// The channel this message belongs on.
    public var channel: Channel { Payload.channel }

    /// The incident id carried in `data`.
    public var incidentID: String { data.incidentID }

    // MARK: Reading

    /// Reads a message from its JSON text.
    public static func decode(_ text: String) throws(MessageDecodingError) -> Envelope {
        try decode(json: try JSONValue.parse(text))
    }

    /// Reads a message from UTF-8 JSON bytes (a stream entry's `message` field).
    public static func decode(_ bytes: some Collection<UInt8>) throws(MessageDecodingError) -> Envelope {
        try decode(json: try JSONValue.parse(bytes))
    }

    /// Reads a message from an already parsed JSON value.
    public static func decode(json: JSONValue) throws(MessageDecodingError) -> Envelope {
        let header = try EnvelopeHeader(json: json)
        guard header.eventType == Payload.channel.eventType || Payload.alternativeEventTypes.contains(header.eventType) else {
            throw MessageDecodingError(
                code: .unknownEventType, path: "event_type",
                reason: "event_type: expected \"\(Payload.channel.eventType)\", found \(MessageDecodingError.quote(header.eventType))"
            )
        }
        var decoder = JSONValueDecoder()
        decoder.userInfo[EnvelopeFields.userInfoKey] = EnvelopeFields(id: header.id, timestamp: header.timestamp, host: header.host)
        let data = try decoder.decode(Payload.self, from: header.data, path: "data")
        return Envelope(agent: header.agent, host: header.host, data: data, id: header.id, timestamp: header.timestamp, eventType: header.eventType)
    }

    // MARK: Writing

    /// The message as compact JSON text, envelope fields in contract order.
    public func encode() -> String {
        var out = ""
        JSONWriter.writeObject(
            [
                ("event_type", .string(eventType)),
                ("timestamp", .string(Timestamp.format(timestamp))),
                ("agent", .string(agent)),
                ("host", .string(host)),
                ("id", .string(id)),
                ("data", data.json),
            ],
            into: &out
        )
        return out
    }

    /// The message as UTF-8 JSON bytes.
    public func encodedBytes() -> [UInt8] {
        Array(encode().utf8)
    }

    /// The whole message as a JSON value.
    public var json: JSONValue {
        [
            "event_type": .string(eventType),
            "timestamp": .string(Timestamp.format(timestamp)),
            "agent": .string(agent),
            "host": .string(host),
            "id": .string(id),
            "data": data.json,
        ]
    }
}

/// The envelope's fields, read and validated, with `data` still raw.
struct EnvelopeHeader: Decodable {
    var eventType: String
    var timestamp: Date
    var agent: String
    var host: String
    var id: String
    var data: JSONValue

    enum CodingKeys: String, CodingKey {
        case eventType = "event_type", timestamp, agent, host, id, data
    }

    init(json: JSONValue) throws(MessageDecodingError) {
        self = try JSONValueDecoder().decode(EnvelopeHeader.self, from: json)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        eventType = try c.decode(String.self, forKey: .eventType, nonEmpty: true)
        timestamp = try c.decode(Date.self, forKey: .timestamp)
        agent = try c.decode(String.self, forKey: .agent, nonEmpty: true)
        host = try c.decode(String.self, forKey: .host, nonEmpty: true)
        id = try c.decode(String.self, forKey: .id, nonEmpty: true)
        data = try c.decode(JSONValue.self, forKey: .data)
        guard case .object = data else {
            throw MessageDecodingError.wrongType("data", expected: "an object", found: data)
        }
    }
}

/// A message of any kind, for consumers that read several channels (the alert agent, the
/// dashboard, tools).
public enum Message: Sendable, Hashable {
    case healthAlert(Envelope<HealthAlert>)
    case remediationNeeded(Envelope<RemediationNeeded>)
    case falseAlarm(Envelope<FalseAlarm>)
    case remediationComplete(Envelope<RemediationComplete>)
    case escalation(Envelope<Escalation>)
    case containerRecovered(Envelope<ContainerRecovered>)
    case deadLetter(Envelope<DeadLetter>)

    /// Reads a message. With `channel` the payload type is the channel's and `event_type` must
    /// match it; without, `event_type` decides.
    public static func decode(_ text: String, channel: Channel? = nil) throws(MessageDecodingError) -> Message {
        try decode(json: try JSONValue.parse(text), channel: channel)
    }

    /// Reads a message from UTF-8 JSON bytes.
    public static func decode(_ bytes: some Collection<UInt8>, channel: Channel? = nil) throws(MessageDecodingError) -> Message {
        try decode(json: try JSONValue.parse(bytes), channel: channel)
    }

    /// Reads a message from an already parsed JSON value.
    public static func decode(json: JSONValue, channel: Channel? = nil) throws(MessageDecodingError) -> Message {
        let target: Channel
        if let channel {
            target = channel
        } else {
            let header = try EnvelopeHeader(json: json)
            guard let found = Self.channel(forEventType: header.eventType) else {
                let known = Channel.allCases.map(\.eventType).joined(separator: ", ")
                throw MessageDecodingError(
                    code: .unknownEventType, path: "event_type",
                    reason: "event_type: unknown value \(MessageDecodingError.quote(header.eventType)); expected one of \(known)"
                )
            }
            target = found
        }
        switch target {
        case .healthAlert: return .healthAlert(try .decode(json: json))
        case .remediationNeeded: return .remediationNeeded(try .decode(json: json))
        case .falseAlarm: return .falseAlarm(try .decode(json: json))
        case .remediationComplete: return .remediationComplete(try .decode(json: json))
        case .escalation: return .escalation(try .decode(json: json))
        case .containerRecovered: return .containerRecovered(try .decode(json: json))
        case .deadLetter: return .deadLetter(try .decode(json: json))
        }
    }

    private static func channel(forEventType eventType: String) -> Channel? {
        if let channel = Channel(eventType: eventType) { return channel }
        let payloads: [any MessagePayload.Type] = [
            HealthAlert.self, RemediationNeeded.self, FalseAlarm.self, RemediationComplete.self, Escalation.self,
            ContainerRecovered.self, DeadLetter.self,
        ]
        return payloads.first { $0.alternativeEventTypes.contains(eventType) }?.channel
    }

    private var header: (eventType: String, timestamp: Date, agent: String, host: String, id: String, incidentID: String, channel: Channel) {
        switch self {
        case .healthAlert(let m): (m.eventType, m.timestamp, m.agent, m.host, m.id, m.incidentID, m.channel)
        case .remediationNeeded(let m): (m.eventType, m.timestamp, m.agent, m.host, m.id, m.incidentID, m.channel)
        case .falseAlarm(let m): (m.eventType, m.timestamp, m.agent, m.host, m.id, m.incidentID, m.channel)
        case .remediationComplete(let m): (m.eventType, m.timestamp, m.agent, m.host, m.id, m.incidentID, m.channel)
        case .escalation(let m): (m.eventType, m.timestamp, m.agent, m.host, m.id, m.incidentID, m.channel)
        case .containerRecovered(let m): (m.eventType, m.timestamp, m.agent, m.host, m.id, m.incidentID, m.channel)
        case .deadLetter(let m): (m.eventType, m.timestamp, m.agent, m.host, m.id, m.incidentID, m.channel)
        }
    }

    public var channel: Channel { header.channel }
    public var eventType: String { header.eventType }
    public var timestamp: Date { header.timestamp }
    public var agent: String { header.agent }
    public var host: String { header.host }
    public var id: String { header.id }
    public var incidentID: String { header.incidentID }

    /// The message as compact JSON text.
    public func encode() -> String {
        switch self {
        case .healthAlert(let m): m.encode()
        case .remediationNeeded(let m): m.encode()
        case .falseAlarm(let m): m.encode()
        case .remediationComplete(let m): m.encode()
        case .escalation(let m): m.encode()
        case .containerRecovered(let m): m.encode()
        case .deadLetter(let m): m.encode()
        }
    }
}
