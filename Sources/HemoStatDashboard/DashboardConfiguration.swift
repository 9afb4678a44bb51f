import Foundation
import HemoStatModel

/// How the dashboard serves: where it binds, who may read it, how often the page refreshes.
///
/// Defaults: `127.0.0.1:8080`, no token, refresh every 1.5 s, keys under `hemostat:`. A bind
/// address other than loopback needs an ``accessToken``; ``validate()`` refuses the
/// configuration otherwise, and ``DashboardService`` will not start.
public struct DashboardConfiguration: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// Interface to bind: `127.0.0.1` (default), `::1`, `localhost`, or any other address
    /// (then ``accessToken`` is required).
    public var host: String = "127.0.0.1"
    /// TCP port (default 8080; 0 picks a free port, see ``DashboardService/boundPort``).
    public var port: Int = 8080
    /// When set, every page, API call and `/metrics` needs it: as `Authorization: Bearer <token>`,
    /// or once as `?token=<token>` on the page, which then keeps it in an HttpOnly cookie.
    /// `/healthz` and `/readyz` stay open. At least 16 characters.
    public var accessToken: String?
    /// How often open pages are told to refresh container stats (default 1.5 s, so a change
    /// shows within two seconds).
    public var refreshInterval: Duration = .milliseconds(1500)
    /// Prefix of every key and channel the dashboard reads (default `hemostat:`).
    public var keyPrefix: String = "hemostat:"
    /// LLM calls allowed per hour, for the "budget left" figure; nil when not known.
    public var llmHourlyBudget: Int?
    /// At most this many containers are read for the grid and the overview (default 1000).
    public var maxContainers: Int = 1000
    /// The responder's `max_actions_per_hour`, to say when a container waits for its budget
    /// (default 3).
    public var maxActionsPerContainer: Int = 3

    public init(host: String = "127.0.0.1", port: Int = 8080, accessToken: String? = nil) {
        self.host = host
        self.port = port
        self.accessToken = accessToken
    }

    /// Reads `HEMOSTAT_DASHBOARD_HOST`, `HEMOSTAT_DASHBOARD_PORT`, `HEMOSTAT_DASHBOARD_TOKEN`,
    /// `HEMOSTAT_DASHBOARD_REFRESH_MS` and `HEMOSTAT_LLM_HOURLY_BUDGET` over `base`.
    public static func fromEnvironment(_ environment: [String: String], base: DashboardConfiguration = DashboardConfiguration()) throws -> DashboardConfiguration {
        var config = base
        if let host = environment["HEMOSTAT_DASHBOARD_HOST"], !host.isEmpty { config.host = host }
        if let text = environment["HEMOSTAT_DASHBOARD_PORT"], !text.isEmpty {
            guard let port = Int(text) else {
                throw DashboardError(code: .invalidConfiguration, message: "HEMOSTAT_DASHBOARD_PORT is not a port number")
            }
            config.port = port
        }
        if let token = environment["HEMOSTAT_DASHBOARD_TOKEN"], !token.isEmpty { config.accessToken = token }
        if let text = environment["HEMOSTAT_DASHBOARD_REFRESH_MS"], !text.isEmpty {
            guard let ms = Int(text), ms > 0 else {
                throw DashboardError(code: .invalidConfiguration, message: "HEMOSTAT_DASHBOARD_REFRESH_MS is not a positive number of milliseconds")
            }
            config.refreshInterval = .milliseconds(ms)
        }
        if let text = environment["HEMOSTAT_LLM_HOURLY_BUDGET"], !text.isEmpty {
            guard let n = Int(text), n >= 0 else {
                throw DashboardError(code: .invalidConfiguration, message: "HEMOSTAT_LLM_HOURLY_BUDGET is not a non-negative number")
            }
            config.llmHourlyBudget = n
        }
        return config
    }

    /// True for `127.0.0.0/8`, `::1` and `localhost`.
    public var bindsLoopback: Bool { Self.isLoopback(host) }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Throws when the configuration cannot be served safely: a port out of range, a
    /// non-loopback bind without an access token, or a token too short to resist guessing.
    public func validate() throws {
        guard (0...65535).contains(port) else {
            throw DashboardError(code: .invalidConfiguration, message: "dashboard port \(port) is out of range (0-65535)")
        }
        guard !host.isEmpty else {
            throw DashboardError(code: .invalidConfiguration, message: "dashboard bind address is empty")
        }
        if let token = accessToken, token.count < 16 {
            throw DashboardError(code: .invalidConfiguration, message: "the dashboard access token (HEMOSTAT_DASHBOARD_TOKEN) must be at least 16 characters")
        }
        if !bindsLoopback && accessToken == nil {
            throw DashboardError(
                code: .insecureBind,
                message: "refusing to serve the dashboard on \(host) without an access token: set HEMOSTAT_DASHBOARD_TOKEN (16+ characters) or bind to 127.0.0.1"
            )
        }
        guard refreshInterval > .zero else {
            throw DashboardError(code: .invalidConfiguration, message: "dashboard refresh interval must be positive")
        }
        guard keyPrefix.hasSuffix(":") else {
            throw DashboardError(code: .invalidConfiguration, message: "dashboard key prefix must end with ':'")
        }
    }

    /// What `dump` and debuggers show: the token as `***`.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "host": host, "port": port, "accessToken": accessToken == nil ? "none" : "***",
            "refreshInterval": refreshInterval, "keyPrefix": keyPrefix,
            "llmHourlyBudget": llmHourlyBudget as Any, "maxContainers": maxContainers,
        ])
    }

    /// Never shows the token.
    public var description: String {
        "DashboardConfiguration(\(host):\(port), token: \(accessToken == nil ? "none" : "set"), refresh: \(refreshInterval), prefix: \(keyPrefix))"
    }
}


/// Why the dashboard could not start or answer. The message is safe for logs: it never holds
/// the access token or Redis credentials.
public struct DashboardError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// A setting is out of range or malformed.
        public static let invalidConfiguration = Code(rawValue: "invalid_configuration")
        /// A non-loopback bind without an access token.
        public static let insecureBind = Code(rawValue: "insecure_bind")
        /// The server could not bind or stopped unexpectedly.
        public static let serverFailed = Code(rawValue: "server_failed")
        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "DashboardError(\(code)): \(message)" }
}
