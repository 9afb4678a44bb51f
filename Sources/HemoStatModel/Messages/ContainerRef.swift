/// A container as HemoStat identifies it: the Docker host it runs on and its name there. Two
/// hosts often run containers of the same name; they are different containers.
///
/// Written `host/name` (``description``) in Redis keys, the CLI and the dashboard. A host id
/// contains no `/` (``isValidHostID(_:)``); Docker names have none either
/// (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
public struct ContainerRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var host: String
    public var name: String

    public init(host: String, name: String) {
        self.host = host
        self.name = name
    }

    /// `host/name`.
    public var description: String { "\(host)/\(name)" }

    /// Reads `host/name`; a bare `name` has no host (nil), for the caller to resolve.
    public static func parse(_ text: String) -> (host: String?, name: String) {
        guard let slash = text.firstIndex(of: "/") else { return (nil, text) }
        return (String(text[..<slash]), String(text[text.index(after: slash)...]))
    }

    /// Reads `host/name` (split at the first `/`: a host id has none); nil for a bare name.
    public init?(_ text: String) {
        let (host, name) = Self.parse(text)
        guard let host, !host.isEmpty, !name.isEmpty else { return nil }
        self.init(host: host, name: name)
    }

    public static func < (a: ContainerRef, b: ContainerRef) -> Bool {
        (a.host, a.name) < (b.host, b.name)
    }

    /// Whether `id` can name a host: letters, digits, `_`, `.` and `-`, starting with a letter or
    /// a digit, at most 253 characters (a host name fits).
    public static func isValidHostID(_ id: String) -> Bool {
        guard let first = id.utf8.first, id.utf8.count <= 253, isAlphanumeric(first) else { return false }
        return id.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }
}

/// A message about one container. `host` is the container's host as the message names it
/// (`data.host`); a message that names none concerns the host of its envelope.
public protocol ContainerPayload: MessagePayload {
    var host: String? { get }
    var containerName: String { get }
}

extension Envelope where Payload: ContainerPayload {
    /// The container the message is about: `data.host` when the message names it, else the
    /// envelope's `host`.
    public var container: ContainerRef {
        ContainerRef(host: data.host.flatMap { $0.isEmpty ? nil : $0 } ?? host, name: data.containerName)
    }
}
