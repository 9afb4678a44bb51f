public import Foundation

/// Where the Docker Engine API listens.
public enum DockerHost: Sendable, Hashable, CustomStringConvertible {
    /// A unix domain socket, e.g. `/var/run/docker.sock`.
    case unix(path: String)
    /// Plain HTTP over TCP (a docker socket proxy). TLS (`DOCKER_TLS_VERIFY`) is not supported.
    case tcp(host: String, port: Int)

    /// `unix:///var/run/docker.sock`.
    public static let `default` = DockerHost.unix(path: "/var/run/docker.sock")

    /// Parses `unix:///path/docker.sock`, `tcp://host:port` or `http://host:port`
    /// (port 2375 when omitted).
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("unix://") {
            let path = String(trimmed.dropFirst("unix://".count))
            guard path.hasPrefix("/") else {
                throw DockerError(code: .invalidHost, message: "a unix DOCKER_HOST needs an absolute socket path")
            }
            self = .unix(path: path)
            return
        }
        for scheme in ["tcp://", "http://"] where trimmed.hasPrefix(scheme) {
            var rest = String(trimmed.dropFirst(scheme.count))
            if let slash = rest.firstIndex(of: "/") { rest = String(rest[..<slash]) }
            var host = rest
            var port = 2375
            if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
                host = String(rest[..<colon])
                guard let parsed = Int(rest[rest.index(after: colon)...]), (1...65535).contains(parsed) else {
                    throw DockerError(code: .invalidHost, message: "DOCKER_HOST has an invalid port")
                }
                port = parsed
            }
            guard !host.isEmpty, !host.contains("@") else {
                throw DockerError(code: .invalidHost, message: "DOCKER_HOST has no usable host")
            }
            self = .tcp(host: host, port: port)
            return
        }
        throw DockerError(code: .invalidHost, message: "DOCKER_HOST must start with unix://, tcp:// or http://")
    }

    /// `DOCKER_HOST` from `environment`, or ``default`` when it is unset or empty.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DockerHost {
        guard let value = environment["DOCKER_HOST"], !value.isEmpty else { return .default }
        return try DockerHost(parsing: value)
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix://\(path)"
        case .tcp(let host, let port): "tcp://\(host):\(port)"
        }
    }
}
