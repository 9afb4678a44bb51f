import Foundation
import HTTPTypes
import HemoStatModel
import HemoStatRedis
import Hummingbird
import Logging

/// The HTTP surface: the page and its assets, the JSON API, the live feed, `/metrics`,
/// `/healthz` and `/readyz`.
struct DashboardRoutes: Sendable {
    let service: DashboardService

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: AccessMiddleware(token: service.configuration.accessToken))

        router.get("/") { _, _ in Self.asset(DashboardAssets.html, type: "text/html; charset=utf-8") }
        router.get("/assets/app.js") { _, _ in Self.asset(DashboardAssets.javascript, type: "text/javascript; charset=utf-8") }
        router.get("/assets/app.css") { _, _ in Self.asset(DashboardAssets.css, type: "text/css; charset=utf-8") }
        router.get("/assets/favicon.svg") { _, _ in Self.asset(DashboardAssets.favicon, type: "image/svg+xml") }
        router.get("/favicon.ico") { _, _ in Self.asset(DashboardAssets.favicon, type: "image/svg+xml") }

        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/readyz") { _, _ in
            let results = await service.readiness()
            var checks: [String: JSONValue] = [:]
            var ready = true
            for (name, result) in results {
                switch result {
                case .ok: checks[name] = "ok"
                case .failed(let reason):
                    ready = false
                    checks[name] = .string(reason)
                }
            }
            return Self.json(.object(["ready": .bool(ready), "checks": .object(checks)]), status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            await service.store.updateGauges()
            return MetricsEndpoint.metrics(service.registry)
        }

        let store = service.store
        router.get("/api/overview") { _, _ in
            try await Self.answer { try await store.overview() }
        }
        router.get("/api/containers") { request, _ in
            let q = request.uri.queryParameters
            let limit = try Self.int(q.get("limit"), name: "limit", default: 200, range: 1...500)
            let offset = try Self.int(q.get("offset"), name: "offset", default: 0, range: 0...100_000)
            return try await Self.answer { try await store.containers(query: q.get("q"), host: q.get("host"), limit: limit, offset: offset) }
        }
        router.get("/api/incidents") { _, _ in
            try await Self.answer { try await store.incidents() }
        }
        router.get("/api/history") { request, _ in
            let q = request.uri.queryParameters
            var filter = DashboardStore.HistoryFilter()
            filter.limit = try Self.int(q.get("limit"), name: "limit", default: 50, range: 1...200)
            filter.container = Self.nonEmpty(q.get("container"))
            filter.status = Self.nonEmpty(q.get("status"))
            filter.sinceMs = try Self.time(q.get("since"), name: "since")
            filter.untilMs = try Self.time(q.get("until"), name: "until")
            if let cursor = Self.nonEmpty(q.get("cursor")) {
                guard StreamID.isValid(cursor) else { throw Self.badRequest("cursor is not a stream id") }
                filter.cursor = cursor
            }
            return try await Self.answer { try await store.history(filter) }
        }
        router.get("/api/audit") { request, _ in
            guard let id = Self.nonEmpty(request.uri.queryParameters.get("id")), id.count <= 200 else {
                throw Self.badRequest("give ?id= an incident id or request id")
            }
            return try await Self.answer { try await store.audit(id: id) }
        }
        router.get("/api/timeline") { request, _ in
            let q = request.uri.queryParameters
            let limit = try Self.int(q.get("limit"), name: "limit", default: 100, range: 1...500)
            let offset = try Self.int(q.get("offset"), name: "offset", default: 0, range: 0...100_000)
            let type = Self.nonEmpty(q.get("type"))
            if let type, !type.allSatisfy({ $0.isLetter || $0 == "_" }) { throw Self.badRequest("type is not an event type") }
            return try await Self.answer { try await store.timeline(limit: limit, offset: offset, type: type) }
        }
        router.get("/api/rules") { _, _ in
            try await Self.answer { try await store.rules() }
        }
        router.get("/api/dead-letters") { request, _ in
            let q = request.uri.queryParameters
            let limit = try Self.int(q.get("limit"), name: "limit", default: 50, range: 1...200)
            let cursor = Self.nonEmpty(q.get("cursor"))
            if let cursor, !StreamID.isValid(cursor) { throw Self.badRequest("cursor is not a stream id") }
            return try await Self.answer { try await store.deadLetters(limit: limit, cursor: cursor) }
        }

        let feed = service.feed
        router.get("/api/events") { _, _ in
            let stream = feed.subscribe()
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"],
                body: ResponseBody { writer in
                    for await frame in stream {
                        try await writer.write(ByteBuffer(string: frame))
                    }
                    try await writer.finish(nil)
                }
            )
        }
        return router
    }

    // MARK: - Helpers

    static func asset(_ bytes: [UInt8], type: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: type, .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: value.htmlSafeText))
        )
    }

    /// Runs a read; a Redis failure answers 503 with a message that holds no server detail.
    static func answer(_ body: () async throws -> JSONValue) async throws -> Response {
        do {
            return json(try await body())
        } catch let error as HTTPError {
            throw error
        } catch let error as RedisError {
            return json(.object(["error": .string("redis unavailable (\(error.code))")]), status: .serviceUnavailable)
        } catch {
            return json(.object(["error": "could not read the state"]), status: .internalServerError)
        }
    }

    static func badRequest(_ message: String) -> HTTPError {
        HTTPError(.badRequest, message: message)
    }

    static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }

    static func int(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text, !text.isEmpty else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw badRequest("\(name) must be a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }

    /// A time given in a query: milliseconds since the epoch, or ISO-8601.
    static func epochMilliseconds(_ text: String) -> Int? {
        if let ms = Int(text) { return ms }
        return Timestamp.parse(text).map { Int(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    static func time(_ text: String?, name: String) throws -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let ms = Self.epochMilliseconds(text) else {
            throw badRequest("\(name) must be ISO-8601 or milliseconds since the epoch")
        }
        return ms
    }
}

/// Adds the security headers to every answer and, when a token is configured, requires it for
/// everything but `/healthz` and `/readyz`.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?
    static var cookieName: String { "hemostat_dashboard_token" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        let path = request.uri.path
        if let token, path != "/healthz", path != "/readyz", !Self.presents(request, token: token) {
            if path == "/", let given = request.uri.queryParameters.get("token"), Self.equal(given, token) {
                // Keep the token in a cookie the page's scripts cannot read, and drop it from the URL.
                response = Response(status: .seeOther, headers: [
                    .location: "/",
                    .setCookie: "\(Self.cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict",
                ])
            } else {
                response = Response(
                    status: .unauthorized,
                    headers: [.contentType: "text/plain; charset=utf-8", .wwwAuthenticate: "Bearer"],
                    body: .init(byteBuffer: ByteBuffer(string: "access token required: open /?token=<token> or send Authorization: Bearer <token>\n"))
                )
            }
        } else {
            response = try await next(request, context)
        }
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return response
    }

    static func presents(_ request: Request, token: String) -> Bool {
        if let auth = request.headers[.authorization], auth.hasPrefix("Bearer "), equal(String(auth.dropFirst(7)), token) {
            return true
        }
        for cookieHeader in request.headers[values: .cookie] {
            for part in cookieHeader.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix(cookieName + "="), equal(String(pair.dropFirst(cookieName.count + 1)), token) { return true }
            }
        }
        return false
    }

    /// Compares without leaking where the first difference is.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }
}
