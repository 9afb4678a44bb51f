import Foundation

/// What an error message may say about a request: the method and the host (or unix socket),
/// never the path, query, userinfo or header values. Text that comes from libcurl is scrubbed of
/// those too, in case a future libcurl message quotes them.
struct RequestDescription: Sendable {
    let method: String
    let target: String
    let host: String
    private let secrets: [String]

    init(_ request: HTTPRequest) {
        method = request.method.rawValue
        let components = URLComponents(string: request.url)
        let host = components?.host.map { $0.isEmpty ? "?" : $0 } ?? "?"
        self.host = host
        if let socket = request.unixSocketPath {
            target = "unix:\(socket)"
        } else if let port = components?.port {
            target = "\(host):\(port)"
        } else {
            target = host
        }
        var secrets: [String] = []
        if let c = components {
            secrets += [c.user, c.password, c.percentEncodedUser, c.percentEncodedPassword,
                        c.query, c.percentEncodedQuery, c.fragment, c.path, c.percentEncodedPath]
                .compactMap { $0 }
            secrets += c.path.split(separator: "/").map(String.init)
        }
        secrets += request.headers.map(\.value)
        // Short strings would blank out ordinary words; sort longest first so a value that
        // contains another is replaced whole.
        self.secrets = Array(Set(secrets.filter { $0.count >= 4 })).sorted { $0.count > $1.count }
    }

    func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "<redacted>") }
    }

    func error(_ code: HTTPClientError.Code, _ what: String, detail: String? = nil) -> HTTPClientError {
        var message = "\(method) \(target): \(what)"
        if let detail, !detail.isEmpty { message += " (\(redact(detail)))" }
        return HTTPClientError(code: code, message: message)
    }
}
