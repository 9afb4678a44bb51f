import Foundation
import HemoStatHTTP
import HemoStatTestSupport
import Logging
import Testing

private let logger = Logger(label: "hemostat.test.http")

private struct Echo: Decodable {
    var method: String
    var path: String
    var query: [String: String]
    var headers: [String: String]
    var body: String
}

@discardableResult
private func expectError(
    _ code: HTTPClientError.Code,
    _ body: () async throws -> Void,
    sourceLocation: SourceLocation = #_sourceLocation
) async -> HTTPClientError? {
    do {
        try await body()
        Issue.record("expected HTTPClientError(\(code)), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as HTTPClientError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected HTTPClientError(\(code)), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

@Suite struct HTTPClientTests {
    @Test func getRoundTripsQueryAndHeaders() async throws {
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }

        let response = try await client.execute(HTTPRequest(
            url: server.baseURL() + "/echo?name=web&n=2",
            headers: [("X-Trace", "abc-123"), ("Accept", "application/json")]
        ))
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.headers["CONTENT-TYPE"] == "application/json")
        let echo = try response.decode(Echo.self)
        #expect(echo.method == "GET")
        #expect(echo.query == ["name": "web", "n": "2"])
        #expect(echo.headers["x-trace"] == "abc-123")
        #expect(echo.headers["user-agent"] == "HemoStat")
    }

    @Test func postSendsJSONBody() async throws {
        struct Payload: Codable, Equatable { var container: String; var restarts: Int }
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }

        var request = HTTPRequest(url: server.baseURL() + "/echo", method: .post)
        try request.json(Payload(container: "web-1", restarts: 3))
        let echo = try await client.execute(request).decode(Echo.self)
        #expect(echo.method == "POST")
        #expect(echo.headers["content-type"] == "application/json")
        let sent = try JSONDecoder().decode(Payload.self, from: Data(echo.body.utf8))
        #expect(sent == Payload(container: "web-1", restarts: 3))
    }

    @Test func errorStatusIsAResponse() async throws {
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }

        let response = try await client.execute(HTTPRequest(url: server.baseURL() + "/status?code=404", method: .delete))
        #expect(response.status == 404)
        #expect(!response.isSuccess)
        #expect(response.text.contains("as requested"))
    }

    @Test func unixSocketRequest() async throws {
        let server = try await HTTPTestServer(unixSocket: true)
        defer { server.stop() }
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }

        let response = try await client.execute(HTTPRequest(
            url: "http://localhost/echo?via=socket",
            unixSocketPath: server.socketPath
        ))
        #expect(response.status == 200)
        #expect(try response.decode(Echo.self).query == ["via": "socket"])
    }

    @Test func httpsWithPrivateCA() async throws {
        let pki = try await TestPKI.make()
        let server = try await HTTPTestServer(tlsCertificate: pki.serverCertificate, tlsKey: pki.serverKey)
        defer { server.stop() }

        let trusting = HTTPClient(configuration: .init(caFile: pki.caCertificate), logger: logger)
        defer { trusting.shutdown() }
        let response = try await trusting.execute(HTTPRequest(url: server.baseURL(tls: true) + "/echo"))
        #expect(response.status == 200)

        let plain = HTTPClient(logger: logger)
        defer { plain.shutdown() }
        await expectError(.tls) {
            _ = try await plain.execute(HTTPRequest(url: server.baseURL(tls: true) + "/echo"))
        }
        // The per-request override works on a client without the CA.
        let overridden = try await plain.execute(HTTPRequest(url: server.baseURL(tls: true) + "/echo", caFile: pki.caCertificate))
        #expect(overridden.status == 200)
    }

    @Test func connectionRefused() async throws {
        let port = try await closedPort()
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }
        let error = await expectError(.connect) {
            _ = try await client.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/"))
        }
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
    }

    @Test func missingUnixSocketIsConnectError() async throws {
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }
        await expectError(.connect) {
            _ = try await client.execute(HTTPRequest(url: "http://localhost/_ping", unixSocketPath: "/nonexistent/docker.sock"))
        }
    }

    @Test func totalTimeoutExpiresBeforeTheSlowServerAnswers() async throws {
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }

        let started = ContinuousClock.now
        await expectError(.timeout) {
            _ = try await client.execute(HTTPRequest(url: server.baseURL() + "/sleep?s=10", timeout: .milliseconds(500)))
        }
        // The server answers after 10 s; the error must come from the 0.5 s limit.
        #expect(ContinuousClock.now - started < .seconds(8))
    }

    @Test func bodyLargerThanLimitFails() async throws {
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let client = HTTPClient(configuration: .init(maxResponseBytes: 1000), logger: logger)
        defer { client.shutdown() }

        let small = try await client.execute(HTTPRequest(url: server.baseURL() + "/big?n=1000"))
        #expect(small.body.count == 1000)
        await expectError(.tooLarge) {
            _ = try await client.execute(HTTPRequest(url: server.baseURL() + "/big?n=5000"))
        }
    }

    @Test func cancellingTheTaskAbortsExecute() async throws {
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }

        let task = Task {
            try await client.execute(HTTPRequest(url: server.baseURL() + "/sleep?s=30"))
        }
        // Cancelled once the request is under way, not before it starts.
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        await expectError(.cancelled) { _ = try await task.value }
    }

    @Test func streamDeliversChunksBeforeTheBodyEndsAndCancellationStopsIt() async throws {
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }

        let stats = HTTPRequest(url: server.baseURL() + "/stats")
        func disconnects() async throws -> Int {
            try await client.execute(stats).decode([String: Int].self)["disconnects"] ?? -1
        }

        let response = try await client.stream(HTTPRequest(url: server.baseURL() + "/chunks?interval=0.1"))
        #expect(response.status == 200)
        // The server never ends this body, so each line must arrive on its own.
        let consumer = Task {
            var lines: [String] = []
            for try await line in response.lines() {
                lines.append(String(decoding: line, as: UTF8.self))
                if lines.count == 3 { break }
            }
            return lines
        }
        #expect(try await consumer.value == ["chunk 0", "chunk 1", "chunk 2"])
        #expect(try await disconnects() == 0)

        // Cancelling the consuming task aborts the transfer: the server sees the client go away.
        let endless = Task {
            var count = 0
            for try await _ in response.body { count += 1 }
            return count
        }
        // Cancelled while chunks are arriving.
        try await Task.sleep(for: .milliseconds(300))
        endless.cancel()
        // Cancelled, the body either ends or throws CancellationError: both stop it.
        _ = try? await endless.value
        let aborted = try await holds(within: .seconds(10)) { try await disconnects() == 1 }
        #expect(aborted)
    }

    @Test func droppingTheStreamAbortsTheTransfer() async throws {
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }

        do {
            let response = try await client.stream(HTTPRequest(url: server.baseURL() + "/chunks?interval=0.1"))
            #expect(response.status == 200)
        }
        let aborted = try await holds(within: .seconds(10)) {
            try await client.execute(HTTPRequest(url: server.baseURL() + "/stats")).decode([String: Int].self)["disconnects"] == 1
        }
        #expect(aborted)
    }

    @Test func streamFailureBeforeHeadersThrows() async throws {
        let port = try await closedPort()
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }
        await expectError(.connect) {
            _ = try await client.stream(HTTPRequest(url: "http://127.0.0.1:\(port)/events"))
        }
    }

    @Test func manyConcurrentRequestsShareOneLoop() async throws {
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }

        let started = ContinuousClock.now
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<50 {
                group.addTask { try await client.execute(HTTPRequest(url: server.baseURL() + "/sleep?s=1")).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 50))
        // Sequentially this takes 50 s; concurrently about 1 s.
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func errorMessagesNeverContainSecrets() async throws {
        let server = try await HTTPTestServer()
        defer { server.stop() }
        let port = try await closedPort()
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }
        let headers: HTTPHeaders = [("Authorization", "Bearer sk-header-secret-1"), ("X-Api-Key", "key-secret-2")]

        var messages: [String] = []
        for url in [
            "http://admin:pass-secret-3@127.0.0.1:\(port)/hooks/path-secret-4?token=query-secret-5",
            server.baseURL().replacingOccurrences(of: "http://", with: "http://admin:pass-secret-3@")
                + "/sleep?s=5&token=query-secret-5",
        ] {
            do {
                _ = try await client.execute(HTTPRequest(url: url, headers: headers, timeout: .milliseconds(300)))
                Issue.record("request should fail")
            } catch let error as HTTPClientError {
                messages.append(error.message)
                messages.append("\(error)")
            }
        }
        #expect(messages.count == 4)
        for message in messages {
            for secret in ["header-secret-1", "key-secret-2", "pass-secret-3", "path-secret-4", "query-secret-5"] {
                #expect(!message.contains(secret), "\(message)")
            }
            #expect(message.contains("127.0.0.1"))
        }
    }

    @Test func shutdownFailsLaterRequests() async throws {
        let client = HTTPClient(logger: logger)
        client.shutdown()
        await expectError(.cancelled) {
            _ = try await client.execute(HTTPRequest(url: "http://127.0.0.1:9/"))
        }
    }

    @Test func rejectsOtherSchemes() async throws {
        let client = HTTPClient(logger: logger)
        defer { client.shutdown() }
        await expectError(.invalidRequest) {
            _ = try await client.execute(HTTPRequest(url: "file:///etc/passwd"))
        }
    }
}

@Suite struct LineSplitterTests {
    @Test func splitsAcrossChunkBoundaries() async throws {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        for chunk in ["{\"a\":1}\n{\"b\"", ":2}\r\n\n", "{\"c\":3}"] {
            continuation.yield(Array(chunk.utf8))
        }
        continuation.finish()
        var lines: [String] = []
        for try await line in stream.lines() {
            lines.append(String(decoding: line, as: UTF8.self))
        }
        #expect(lines == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
    }

    @Test func headersLookupIgnoresCase() {
        var headers: HTTPHeaders = [("Content-Type", "text/plain"), ("Set-Cookie", "a"), ("set-cookie", "b")]
        #expect(headers["content-type"] == "text/plain")
        #expect(headers.values(for: "SET-COOKIE") == ["a", "b"])
        headers.set("content-type", "application/json")
        #expect(headers["Content-Type"] == "application/json")
        #expect(headers.count == 3)
        #expect(!"\(headers)".contains("application/json"))
    }
}

/// A port on 127.0.0.1 nothing listens on: bound by a server that is then stopped.
private func closedPort() async throws -> Int {
    let server = try await HTTPTestServer()
    let port = server.port
    server.stop()
    return port
}

/// A CA and a server certificate for `localhost` / 127.0.0.1 signed by it, made with openssl.
private struct TestPKI {
    var caCertificate: String
    var serverCertificate: String
    var serverKey: String

    static func make() async throws -> TestPKI {
        let dir = try TestProcess.temporaryDirectory("pki")
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try await TestProcess.check(["openssl", "req", "-x509"] + curve + [
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=HemoStat Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ], currentDirectory: dir)
        try await TestProcess.check(["openssl", "req"] + curve + [
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
        ], currentDirectory: dir)
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: dir + "/ext.cnf", atomically: true, encoding: .utf8)
        try await TestProcess.check([
            "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
        ], currentDirectory: dir)
        return TestPKI(caCertificate: dir + "/ca.pem", serverCertificate: dir + "/server.pem", serverKey: dir + "/server.key")
    }
}
