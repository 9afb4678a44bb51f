import Foundation

/// Where and how to connect to Redis.
///
/// Build one directly, from a URL with ``init(url:)``, or from the process environment with
/// ``fromEnvironment(_:)``. ``description`` never shows the password, so a configuration can
/// be logged.
public struct RedisConfiguration: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// How to reach the server.
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// A TCP host (name or IP address) and port.
        case tcp(host: String, port: Int)
        /// A unix domain socket path.
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): return "unix:\(path)"
            }
        }
    }

    /// How to reach the server. Default `localhost:6379`.
    public var endpoint: Endpoint
    /// ACL user name; `nil` authenticates as the default user (Redis < 6 style `AUTH password`).
    public var username: String?
    /// Password for AUTH; `nil` skips AUTH.
    public var password: String?
    /// Logical database selected after connecting. Default 0.
    public var database: Int
    /// Longest time to establish a TCP or unix socket connection. Default 2 s.
    public var connectTimeout: Duration
    /// Longest time to wait for a command's reply (socket read/write timeout). Default 5 s.
    /// `.zero` waits forever. Blocking commands take a per-call override.
    public var commandTimeout: Duration
    /// Wait before the first reconnect attempt after a failed connect; doubled on each further
    /// failure up to ``maximumReconnectBackoff``. Default 50 ms.
    public var initialReconnectBackoff: Duration
    /// Longest wait between reconnect attempts. Default 5 s.
    public var maximumReconnectBackoff: Duration
    /// Sent as `CLIENT SETNAME` after connecting, so `CLIENT LIST` shows who is who.
    public var clientName: String?

    public init(
        endpoint: Endpoint = .tcp(host: "localhost", port: 6379),
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        initialReconnectBackoff: Duration = .milliseconds(50),
        maximumReconnectBackoff: Duration = .seconds(5),
        clientName: String? = nil
    ) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.initialReconnectBackoff = initialReconnectBackoff
        self.maximumReconnectBackoff = maximumReconnectBackoff
        self.clientName = clientName
    }

    /// Parses a Redis URL.
    ///
    /// Accepted forms (user, password and path are percent-decoded):
    /// - `redis://[user[:password]@]host[:port][/db]`, also `redis://:password@host`
    ///   (password only) and `[::1]` for IPv6 hosts; the port defaults to 6379, db to 0.
    /// - `unix:///path/to.sock` or `redis+unix:///path/to.sock`, with optional query
    ///   `?db=N&password=...&user=...` (also accepted on `redis://` URLs).
    ///
    /// `rediss://` (TLS) is rejected: the hiredis this is built on has no TLS. Errors have code
    /// ``RedisError/Code/invalidConfiguration`` and never quote the URL.
    public init(url: String) throws {
        self.init()
        let text = url.trimmingCharacters(in: .whitespaces)
        guard let schemeEnd = text.range(of: "://") else {
            throw Self.invalid("expected a URL of the form redis://host:port/db or unix:///path")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(text[schemeEnd.upperBound...])
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var query: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }

        switch scheme {
        case "redis":
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[..<authorityEnd]
            let path = rest[authorityEnd...]
            if let at = authority.lastIndex(of: "@") {
                try applyUserInfo(authority[..<at])
                authority = authority[authority.index(after: at)...]
            }
            endpoint = try Self.parseHostPort(authority)
            let dbText = path.drop(while: { $0 == "/" })
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else {
                    throw Self.invalid("the path of a redis:// URL must be a database number")
                }
                database = db
            }
        case "unix", "redis+unix":
            var path = rest
            if let at = path.firstIndex(of: "@"), !path.hasPrefix("/") {
                try applyUserInfo(path[..<at])
                path = path[path.index(after: at)...]
            }
            guard path.hasPrefix("/"), path.count > 1 else {
                throw Self.invalid("a unix:// URL needs an absolute socket path (unix:///path/to.sock)")
            }
            endpoint = .unix(path: try Self.percentDecoded(path, what: "socket path"))
        case "rediss":
            throw Self.invalid("rediss:// (TLS) is not supported: this client's hiredis has no TLS; use a local TLS proxy or a unix socket")
        default:
            throw Self.invalid("unsupported URL scheme '\(scheme.prefix(20))'; use redis:// or unix://")
        }
        try applyQuery(query)
    }

    /// Reads the configuration from environment variables.
    ///
    /// `REDIS_URL` wins when set and not empty. Otherwise `REDIS_HOST` (default `localhost`),
    /// `REDIS_PORT` (6379), `REDIS_PASSWORD` (none), `REDIS_USERNAME` (none) and `REDIS_DB` (0),
    /// the variables of the original HemoStat.
    public static func fromEnvironment(_ environment: [String: String]) throws -> RedisConfiguration {
        func value(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        if let url = value("REDIS_URL") {
            return try RedisConfiguration(url: url)
        }
        var configuration = RedisConfiguration()
        let host = value("REDIS_HOST") ?? "localhost"
        var port = 6379
        if let text = value("REDIS_PORT") {
            guard let p = Int(text), (1...65535).contains(p) else {
                throw invalid("REDIS_PORT is not a port number")
            }
            port = p
        }
        configuration.endpoint = .tcp(host: host, port: port)
        configuration.username = value("REDIS_USERNAME")
        // A password may legitimately have surrounding spaces: take it verbatim.
        if let password = environment["REDIS_PASSWORD"], !password.isEmpty {
            configuration.password = password
        }
        if let text = value("REDIS_DB") {
            guard let db = Int(text), db >= 0 else { throw invalid("REDIS_DB is not a database number") }
            configuration.database = db
        }
        return configuration
    }

    /// The configuration as text for logs and errors; the password is shown as `***`.
    public var redacted: String {
        var parts = ["endpoint=\(endpoint)", "db=\(database)"]
        if let username { parts.append("user=\(username)") }
        if password != nil { parts.append("password=***") }
        return "RedisConfiguration(" + parts.joined(separator: ", ") + ")"
    }

    public var description: String { redacted }

    /// `dump()` and debuggers show the password as `***` too.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "endpoint": endpoint, "username": username as Any, "password": password == nil ? "nil" : "***",
            "database": database, "connectTimeout": connectTimeout, "commandTimeout": commandTimeout,
        ])
    }

    // MARK: - Parsing

    private mutating func applyUserInfo(_ userInfo: Substring) throws {
        if let colon = userInfo.firstIndex(of: ":") {
            let user = try Self.percentDecoded(userInfo[..<colon], what: "user name")
            let pass = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], what: "password")
            username = user.isEmpty ? nil : user
            password = pass.isEmpty ? nil : pass
        } else {
            // `redis://secret@host` is the common legacy form meaning "password only".
            let pass = try Self.percentDecoded(userInfo, what: "password")
            password = pass.isEmpty ? nil : pass
        }
    }

    private mutating func applyQuery(_ query: Substring) throws {
        for item in query.split(separator: "&") where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = pair[0].lowercased()
            let value = try Self.percentDecoded(pair.count > 1 ? pair[1] : "", what: "query value")
            switch name {
            case "db", "database":
                guard let db = Int(value), db >= 0 else { throw Self.invalid("db= is not a database number") }
                database = db
            case "password":
                password = value.isEmpty ? nil : value
            case "user", "username":
                username = value.isEmpty ? nil : value
            default:
                break
            }
        }
    }

    private static func parseHostPort(_ authority: Substring) throws -> Endpoint {
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw invalid("unexpected text after the IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        var port = 6379
        if let portText, !portText.isEmpty {
            guard let p = Int(portText), (1...65535).contains(p) else { throw invalid("the port is not a number between 1 and 65535") }
            port = p
        }
        let decodedHost = try percentDecoded(host, what: "host")
        return .tcp(host: decodedHost.isEmpty ? "localhost" : decodedHost, port: port)
    }

    private static func percentDecoded(_ text: Substring, what: String) throws -> String {
        guard text.contains("%") else { return String(text) }
        guard let decoded = String(text).removingPercentEncoding else {
            throw invalid("the \(what) has an invalid percent-escape")
        }
        return decoded
    }

    private static func invalid(_ message: String) -> RedisError {
        RedisError(code: .invalidConfiguration, message: "invalid Redis URL or settings: \(message)")
    }
}
