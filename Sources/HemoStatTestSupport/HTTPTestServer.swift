import Foundation

/// A small Python HTTP server for client tests, on a free loopback port or a unix socket,
/// optionally with TLS. Stop it with ``stop()``.
///
/// Routes: `/echo` answers JSON `{method, path, query, headers, body}`; `/sleep?s=N` answers
/// after N seconds; `/status?code=N` answers with that status; `/chunks?interval=S` sends a
/// chunked body of `chunk N\n` lines every S seconds until the client goes away; `/stats`
/// answers `{"disconnects": N}`, the number of `/chunks` clients that went away; `/big?n=N`
/// answers N bytes.
public final class HTTPTestServer: Sendable {
    /// The loopback TCP port, or 0 for a unix socket server.
    public let port: Int
    /// The unix socket path, if serving on one.
    public let socketPath: String?
    private let process: ChildProcess
    private let directory: String

    /// Starts the server and waits until it accepts connections.
    public init(unixSocket: Bool = false, tlsCertificate: String? = nil, tlsKey: String? = nil) async throws {
        directory = try TestProcess.temporaryDirectory("http")
        let script = directory + "/server.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        let ready = directory + "/ready"
        var arguments = ["python3", script, "--ready", ready]
        if unixSocket {
            socketPath = directory + "/http.sock"
            arguments += ["--unix", directory + "/http.sock"]
        } else {
            socketPath = nil
        }
        if let tlsCertificate, let tlsKey {
            arguments += ["--cert", tlsCertificate, "--key", tlsKey]
        }
        let process = try ChildProcess(command: arguments)
        self.process = process
        let started = await holds(within: .seconds(15)) {
            FileManager.default.fileExists(atPath: ready) || !process.isRunning
        }
        guard started, process.isRunning,
              let text = try? String(contentsOfFile: ready, encoding: .utf8),
              let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            process.send(SIGKILL)
            _ = process.waitUntilExit()
            throw TestEnvironmentError(message: "the Python test HTTP server did not start")
        }
        self.port = port
    }

    deinit {
        stop()
    }

    /// `http://127.0.0.1:<port>` (or `https://localhost:<port>` with TLS; `http://localhost`
    /// for a unix socket).
    public func baseURL(tls: Bool = false) -> String {
        if socketPath != nil { return "http://localhost" }
        return tls ? "https://localhost:\(port)" : "http://127.0.0.1:\(port)"
    }

    public func stop() {
        process.send(SIGTERM)
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        process.send(SIGKILL)
        _ = process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static let script = String(decoding: PackageResources.http_test_server_py, as: UTF8.self)
}
