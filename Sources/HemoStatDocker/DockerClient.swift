public import Foundation
public import HemoStatHTTP
public import Logging

/// A client for the Docker Engine API over a unix socket or plain TCP.
///
/// The API version is negotiated on first use from `GET /version`: the lower of the engine's
/// `ApiVersion` and ``maxAPIVersion``. Every request then uses that version in its path.
/// Container references may be IDs, ID prefixes or names. Errors are ``DockerError``.
public final class DockerClient: Sendable {
    /// The newest API version whose shapes this client knows.
    public static let newestKnownAPIVersion = DockerAPIVersion(major: 1, minor: 45)

    public let host: DockerHost
    public let maxAPIVersion: DockerAPIVersion
    private let http: HTTPClient
    private let logger: Logger
    private let negotiated = NegotiatedVersion()

    /// `httpClient` is shared, not owned: shut it down yourself.
    public init(host: DockerHost = .default, httpClient: HTTPClient, logger: Logger,
                maxAPIVersion: DockerAPIVersion = DockerClient.newestKnownAPIVersion) {
        self.host = host
        self.http = httpClient
        self.logger = logger
        self.maxAPIVersion = maxAPIVersion
    }

    // MARK: Engine

    /// `GET /_ping`; throws unless the engine answers OK.
    public func ping() async throws {
        let response = try await send("ping", .get, "/_ping", versioned: false)
        try check(response, "ping")
    }

    /// `GET /version`.
    public func version() async throws -> DockerVersionInfo {
        let response = try await send("version", .get, "/version", versioned: false)
        try check(response, "version")
        return try decode(DockerVersionInfo.self, response, "version")
    }

    /// The API version used in request paths, negotiating it on first call.
    public func apiVersion() async throws -> DockerAPIVersion {
        try await negotiate().version
    }

    /// Whether the engine is Podman's Docker-compatible service (read with the version).
    public func isPodman() async throws -> Bool {
        try await negotiate().podman
    }

    private func negotiate() async throws -> NegotiatedVersion.Engine {
        if let known = negotiated.value { return known }
        let info = try await version()
        guard let engine = DockerAPIVersion(info.apiVersion) else {
            throw DockerError(code: .decoding, message: "the engine reported an unreadable API version")
        }
        let chosen = NegotiatedVersion.Engine(version: min(engine, maxAPIVersion), podman: info.isPodman)
        negotiated.value = chosen
        logger.debug("Docker API version negotiated", metadata: [
            "docker.api_version": "\(chosen.version)", "docker.engine_api_version": "\(engine)", "docker.podman": "\(chosen.podman)",
        ])
        return chosen
    }

    // MARK: Containers

    /// `GET /containers/json`. `filters` follows the engine's syntax, e.g.
    /// `["label": ["hemostat.enable=true"], "status": ["exited"]]`.
    public func listContainers(all: Bool = true, filters: [String: [String]] = [:]) async throws -> [ContainerSummary] {
        var query = [("all", all ? "1" : "0")]
        if !filters.isEmpty { query.append(("filters", try filtersJSON(filters))) }
        let response = try await send("list containers", .get, "/containers/json", query: query)
        try check(response, "list containers")
        return try decode([ContainerSummary].self, response, "list containers")
    }

    /// `GET /containers/{id}/json`.
    public func inspect(_ container: String) async throws -> ContainerInspect {
        let response = try await send("inspect", .get, "/containers/\(escape(container))/json")
        try check(response, "inspect \(container)")
        return try decode(ContainerInspect.self, response, "inspect \(container)")
    }

    /// One stats sample. With `oneShot` (the default) the engine answers at once and
    /// `precpu_stats` is empty, so CPU % needs an earlier sample
    /// (the monitor computes CPU from two readings); without it the engine waits about a
    /// second to fill `precpu_stats`.
    public func stats(_ container: String, oneShot: Bool = true) async throws -> ContainerStats {
        var query = [("stream", "false")]
        if oneShot, try await apiVersion() >= DockerAPIVersion(major: 1, minor: 41) {
            query.append(("one-shot", "true"))
        }
        let response = try await send("stats", .get, "/containers/\(escape(container))/stats", query: query)
        try check(response, "stats \(container)")
        return try decode(ContainerStats.self, response, "stats \(container)")
    }

    /// Stats samples about once a second until the container stops or the consumer stops
    /// iterating (which closes the connection).
    public func statsStream(_ container: String) -> AsyncThrowingStream<ContainerStats, any Error> {
        jsonLines(ContainerStats.self, "stats stream \(container)", "/containers/\(escape(container))/stats", query: [("stream", "true")])
    }

    /// The engine's event stream, live from now or from `since`. Ends when the engine closes
    /// the connection (e.g. it restarts): reconnect with `since` set to the last event's time.
    /// With `until` the engine sends the events up to that time and ends the stream.
    /// `filters` e.g. `["type": ["container"], "event": ["die", "oom", "health_status"]]`.
    public func events(filters: [String: [String]] = [:], since: Date? = nil, until: Date? = nil) -> AsyncThrowingStream<DockerEvent, any Error> {
        jsonLines(DockerEvent.self, "events", "/events", query: eventsQuery(filters: filters, since: since, until: until))
    }

    /// Podman's own event stream (`GET /libpod/events`), for a Podman engine: the same shape as
    /// ``events(filters:since:until:)`` with Podman's event names (`died`, `remove`, ...), and
    /// it includes the `stop` and `kill` that Podman 4's Docker-compatible stream leaves out.
    public func podmanEvents(filters: [String: [String]] = [:], since: Date? = nil, until: Date? = nil) -> AsyncThrowingStream<DockerEvent, any Error> {
        jsonLines(DockerEvent.self, "events", "/libpod/events",
                  query: [("stream", "true")] + eventsQuery(filters: filters, since: since, until: until))
    }

    private func eventsQuery(filters: [String: [String]], since: Date?, until: Date?) -> [(String, String)] {
        var query: [(String, String)] = []
        if let since {
            query.append(("since", String(format: "%.9f", since.timeIntervalSince1970)))
        }
        if let until {
            query.append(("until", String(format: "%.9f", until.timeIntervalSince1970)))
        }
        if !filters.isEmpty, let json = try? filtersJSON(filters) {
            query.append(("filters", json))
        }
        return query
    }

    // MARK: Actions

    /// `POST /containers/{id}/restart`; the engine waits `timeout` seconds for a clean stop
    /// before killing (nil: the container's own stop timeout).
    public func restart(_ container: String, timeout: Int? = nil) async throws {
        let response = try await send("restart", .post, "/containers/\(escape(container))/restart",
                                      query: timeout.map { [("t", "\($0)")] } ?? [], total: stopBudget(timeout))
        try check(response, "restart \(container)")
    }

    /// `POST /containers/{id}/start`; ``DockerActionResult/alreadyInState`` if it was running.
    @discardableResult
    public func start(_ container: String) async throws -> DockerActionResult {
        let response = try await send("start", .post, "/containers/\(escape(container))/start")
        return try checkAction(response, "start \(container)")
    }

    /// `POST /containers/{id}/stop`; ``DockerActionResult/alreadyInState`` if it was stopped.
    @discardableResult
    public func stop(_ container: String, timeout: Int? = nil) async throws -> DockerActionResult {
        let response = try await send("stop", .post, "/containers/\(escape(container))/stop",
                                      query: timeout.map { [("t", "\($0)")] } ?? [], total: stopBudget(timeout))
        return try checkAction(response, "stop \(container)")
    }

    /// `POST /containers/{id}/kill`; fails with ``DockerError/Code/conflict`` if not running.
    public func kill(_ container: String, signal: String = "SIGKILL") async throws {
        let response = try await send("kill", .post, "/containers/\(escape(container))/kill", query: [("signal", signal)])
        try check(response, "kill \(container)")
    }

    /// `POST /containers/{id}/pause`.
    public func pause(_ container: String) async throws {
        let response = try await send("pause", .post, "/containers/\(escape(container))/pause")
        try check(response, "pause \(container)")
    }

    /// `POST /containers/{id}/unpause`.
    public func unpause(_ container: String) async throws {
        let response = try await send("unpause", .post, "/containers/\(escape(container))/unpause")
        try check(response, "unpause \(container)")
    }

    /// `POST /containers/{id}/update`; returns the engine's warnings.
    @discardableResult
    public func update(_ container: String, resources: ResourceUpdate) async throws -> [String] {
        struct Answer: Decodable { var Warnings: [String]? }
        let response = try await send("update", .post, "/containers/\(escape(container))/update", json: resources)
        try check(response, "update \(container)")
        return (try? response.decode(Answer.self))?.Warnings ?? []
    }

    /// Runs `command` in the running container (exec create, start, inspect) and returns its
    /// exit code and combined output. `timeout` bounds the whole run.
    public func exec(_ container: String, command: [String], timeout: Duration = .seconds(30)) async throws -> ExecResult {
        struct Create: Encodable {
            var AttachStdout = true, AttachStderr = true, AttachStdin = false, Tty = false
            var Cmd: [String]
        }
        struct Created: Decodable { var Id: String }
        struct Start: Encodable { var Detach = false, Tty = false }
        struct Inspect: Decodable { var Running: Bool?; var ExitCode: Int? }

        let created = try await send("exec create", .post, "/containers/\(escape(container))/exec", json: Create(Cmd: command))
        try check(created, "exec in \(container)")
        let id = try decode(Created.self, created, "exec in \(container)").Id
        let started = try await send("exec start", .post, "/exec/\(escape(id))/start", json: Start(), total: timeout)
        try check(started, "exec in \(container)")
        let output = Self.demultiplex(started.body)

        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let inspected = try await send("exec inspect", .get, "/exec/\(escape(id))/json")
            try check(inspected, "exec in \(container)")
            let state = try decode(Inspect.self, inspected, "exec in \(container)")
            if state.Running != true, let code = state.ExitCode {
                return ExecResult(exitCode: code, output: output)
            }
            if ContinuousClock.now > deadline {
                throw DockerError(code: .timeout, message: "exec in \(container): the command did not report an exit code")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Joins the payloads of Docker's multiplexed stream (8-byte frame headers: stream type,
    /// three zero bytes, big-endian length). A body that is not framed is returned as text.
    static func demultiplex(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var index = 0
        while index + 8 <= bytes.count {
            guard bytes[index] <= 2, bytes[index + 1] == 0, bytes[index + 2] == 0, bytes[index + 3] == 0 else {
                return String(decoding: bytes, as: UTF8.self)
            }
            let length = Int(bytes[index + 4]) << 24 | Int(bytes[index + 5]) << 16 | Int(bytes[index + 6]) << 8 | Int(bytes[index + 7])
            let start = index + 8
            let end = min(start + length, bytes.count)
            output += bytes[start..<end]
            index = end
        }
        if index < bytes.count && output.isEmpty { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: Plumbing

    private func stopBudget(_ timeout: Int?) -> Duration {
        .seconds(max(timeout ?? 10, 0) + 60)
    }

    private func request(_ method: HTTPMethod, _ path: String, query: [(String, String)], versioned: Bool) async throws -> HTTPRequest {
        var fullPath = path
        if versioned { fullPath = "/v\(try await apiVersion())" + path }
        if !query.isEmpty {
            fullPath += "?" + query.map { "\($0.0)=\(queryEscape($0.1))" }.joined(separator: "&")
        }
        switch host {
        case .unix(let socket):
            return HTTPRequest(url: "http://localhost" + fullPath, method: method, unixSocketPath: socket)
        case .tcp(let name, let port):
            let bracketed = name.contains(":") && !name.hasPrefix("[") ? "[\(name)]" : name
            return HTTPRequest(url: "http://\(bracketed):\(port)" + fullPath, method: method)
        }
    }

    private func send(_ operation: String, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [],
                      versioned: Bool = true, total: Duration? = nil) async throws -> HTTPResponse {
        var request = try await request(method, path, query: query, versioned: versioned)
        request.timeout = total
        return try await perform(operation, request)
    }

    private func send<Body: Encodable>(_ operation: String, _ method: HTTPMethod, _ path: String, json body: Body,
                                       total: Duration? = nil) async throws -> HTTPResponse {
        var request = try await request(method, path, query: [], versioned: true)
        request.timeout = total
        try request.json(body)
        return try await perform(operation, request)
    }

    private func perform(_ operation: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            return try await http.execute(request)
        } catch let error as HTTPClientError {
            throw mapped(error, operation)
        }
    }

    private func mapped(_ error: HTTPClientError, _ operation: String) -> DockerError {
        let code: DockerError.Code = switch error.code {
        case .timeout: .timeout
        case .cancelled: .cancelled
        case .connect, .resolve, .tls: .unreachable
        default: .unreachable
        }
        return DockerError(code: code, message: "\(operation) on \(host): \(error.message)")
    }

    private func check(_ response: HTTPResponse, _ operation: String) throws {
        guard !response.isSuccess else { return }
        throw statusError(response.status, body: response.body, operation)
    }

    private func checkAction(_ response: HTTPResponse, _ operation: String) throws -> DockerActionResult {
        if response.status == 304 { return .alreadyInState }
        try check(response, operation)
        return .done
    }

    private func statusError(_ status: Int, body: [UInt8], _ operation: String) -> DockerError {
        struct Message: Decodable { var message: String }
        let detail = (try? JSONDecoder().decode(Message.self, from: Data(body)).message)
            ?? String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let code: DockerError.Code = switch status {
        case 404: .notFound
        case 409: .conflict
        case 304: .notModified
        default: .apiError
        }
        return DockerError(code: code, message: "\(operation): engine answered \(status): \(detail)", status: status)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse, _ operation: String) throws -> T {
        do {
            return try response.decode(T.self)
        } catch {
            throw DockerError(code: .decoding, message: "\(operation): unexpected answer from the engine: \(error)")
        }
    }

    private func jsonLines<T: Decodable & Sendable>(_ type: T.Type, _ operation: String, _ path: String,
                                                    query: [(String, String)]) -> AsyncThrowingStream<T, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: T.self)
        let task = Task { [self] in
            do {
                let request = try await request(.get, path, query: query, versioned: true)
                let response: HTTPStreamingResponse
                do {
                    response = try await http.stream(request)
                } catch let error as HTTPClientError {
                    throw mapped(error, operation)
                }
                guard (200..<300).contains(response.status) else {
                    throw statusError(response.status, body: (try? await response.collect(upTo: 4096)) ?? [], operation)
                }
                let decoder = JSONDecoder()
                for try await line in response.lines() {
                    do {
                        continuation.yield(try decoder.decode(T.self, from: Data(line)))
                    } catch {
                        throw DockerError(code: .decoding, message: "\(operation): unexpected answer from the engine: \(error)")
                    }
                }
                continuation.finish()
            } catch let error as HTTPClientError {
                continuation.finish(throwing: mapped(error, operation))
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func filtersJSON(_ filters: [String: [String]]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(filters), as: UTF8.self)
    }

    private func escape(_ segment: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    private func queryEscape(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

/// The negotiated API version, shared by concurrent callers.
/// `@unchecked Sendable`: `stored` is only read or written while holding `lock`.
private final class NegotiatedVersion: @unchecked Sendable {
    struct Engine {
        var version: DockerAPIVersion
        var podman: Bool
    }

    private let lock = NSLock()
    private var stored: Engine?

    var value: Engine? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
