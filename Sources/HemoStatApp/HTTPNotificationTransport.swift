public import HemoStatAlert
public import HemoStatHTTP

/// Posts notifications with HemoStat's HTTP client (libcurl), TLS verified against the system
/// CA bundle.
public struct HTTPNotificationTransport: NotificationTransport {
    private let client: HTTPClient
    private let timeout: Duration

    /// - Parameter timeout: the limit of one attempt, connect included.
    public init(client: HTTPClient, timeout: Duration = .seconds(10)) {
        self.client = client
        self.timeout = timeout
    }

    public func post(url: String, body: [UInt8]) async throws -> (status: Int, retryAfterSeconds: Double?) {
        let request = HTTPRequest(
            url: url, method: .post, headers: [("Content-Type", "application/json; charset=utf-8")],
            body: body, timeout: timeout)
        let response = try await client.execute(request)
        // Retry-After is either seconds or an HTTP date; the date form is treated as "soon".
        let retryAfter = response.headers["Retry-After"].map { Double($0.trimmingCharacters(in: .whitespaces)) ?? 1 }
        return (response.status, retryAfter)
    }
}
