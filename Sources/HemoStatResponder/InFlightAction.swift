import HemoStatCore
import Foundation
import HemoStatModel

/// A live action from the moment the gate allowed it until its result is published, as kept in
/// `hemostat:responder:inflight:<host>` (field: the request id; value: this record as JSON).
///
/// The gate writes the record in the same atomic step that allows the action, so no request
/// can be decided and then forgotten. The responder moves it through its phases:
///
/// - `decided`: the gate allowed it; nothing was sent to the engine yet.
/// - `sent`: the command is about to be sent, or was sent and no answer came back yet.
/// - `confirmed`: the engine answered that it carried the command out.
///
/// Should the responder stop before publishing the result, another responder of the same
/// host takes the record over once the gate lock's lease runs out and asks
/// ``assess(engineActions:)`` what became of it.
struct InFlightAction: Sendable, Hashable, Codable {
    enum Phase: String, Sendable, Hashable, Codable {
        case decided, sent, confirmed
    }

    /// What became of an action whose responder stopped.
    enum Assessment: Sendable, Hashable {
        /// The engine carried it out: verify it and report as usual.
        case reached
        /// It never reached the engine: carry it out now.
        case notReached
    }

    /// The `remediation_needed` envelope, as it was read.
    var message: String
    var container: String
    var phase: Phase
    var decidedAt: Date
    var sentAt: Date?
    var confirmedAt: Date?
    /// The consumer (`host:responder`) that moved it last.
    var holder: String

    init(message: String, container: String, phase: Phase, decidedAt: Date, holder: String) {
        self.message = message
        self.container = container
        self.phase = phase
        self.decidedAt = decidedAt
        self.holder = holder
    }

    /// Reads a stored record; nil when it is not one.
    init?(json text: String) {
        guard let document = try? JSONValue.parse(text) else { return nil }
        guard let record = try? JSONValueDecoder().decode(InFlightAction.self, from: document) else { return nil }
        self = record
    }

    /// The record as stored.
    var json: String { JSONValueEncoder().encode(self).jsonText }

    /// The same record moved to `phase` at `time` by `holder`.
    func moved(to phase: Phase, at time: Date, by holder: String) -> InFlightAction {
        var next = self
        next.phase = phase
        next.holder = holder
        switch phase {
        case .decided: break
        case .sent: next.sentAt = time
        case .confirmed: next.confirmedAt = time
        }
        return next
    }

    /// From when the engine's record is read to tell whether a `sent` command arrived: a
    /// second before it was sent, for the engine's clock and the responder's to differ a little.
    var engineRecordSince: Date {
        (sentAt ?? decidedAt).addingTimeInterval(-1)
    }

    /// Whether `command` reached the engine, given the actions the engine recorded for the
    /// container since ``engineRecordSince`` and the container now (both read only for a
    /// `sent` record). The engine keeps only its most recent events, so the container's own
    /// state counts too: started, or stopped, since the command was sent (by the command or
    /// otherwise: either way there is nothing to send again), or paused.
    func assess(_ command: EngineCommand, engineActions: [String], now snapshot: ContainerInspection? = nil) -> Assessment {
        switch phase {
        case .decided: return .notReached
        case .confirmed: return .reached
        case .sent:
            if engineActions.contains(command.engineEvent) { return .reached }
            guard let snapshot else { return .notReached }
            let since = engineRecordSince
            switch command {
            case .restart, .start:
                if let started = snapshot.startedAt, started >= since { return .reached }
            case .stop, .kill:
                if snapshot.isStopped, let finished = snapshot.finishedAt, finished >= since { return .reached }
            case .pause:
                if snapshot.isPaused { return .reached }
            case .unpause, .updateResources, .exec:
                break
            }
            return .notReached
        }
    }
}

extension InFlightAction {
    enum CodingKeys: String, CodingKey {
        case message, container, phase, decidedAt = "decided_at", sentAt = "sent_at", confirmedAt = "confirmed_at", holder
    }

    /// Records written before phases existed have `issued_at` only.
    enum LegacyKeys: String, CodingKey {
        case issuedAt = "issued_at"
    }

    /// A record written before phases existed was written just before the command was sent,
    /// so it reads as `sent`.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        message = try c.decode(String.self, forKey: .message)
        container = try c.decode(String.self, forKey: .container)
        if c.contains(.phase) {
            phase = try c.decode(Phase.self, forKey: .phase)
            decidedAt = try c.decode(Date.self, forKey: .decidedAt)
            sentAt = try c.decodeIfPresent(Date.self, forKey: .sentAt)
            confirmedAt = try c.decodeIfPresent(Date.self, forKey: .confirmedAt)
        } else {
            let issuedAt = try decoder.container(keyedBy: LegacyKeys.self).decode(Date.self, forKey: .issuedAt)
            phase = .sent
            decidedAt = issuedAt
            sentAt = issuedAt
        }
        holder = try c.decodeIfPresent(String.self, forKey: .holder) ?? ""
    }
}
